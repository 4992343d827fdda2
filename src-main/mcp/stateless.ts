// The stateless era (2026-07-28) on top of SDK 1.32.2, which speaks only the session era: each request is served by
// a fresh session server (the same composition the legacy sessions get, so tools, resources, prompts, tasks and any
// test fixtures are one code path), reached through an in-process transport that carries exactly one request. The
// answer gets what this era adds: resultType, the server's identity in _meta, cache hints, and its error codes.
// Delete this file (and http/statelessRoutes.ts) when the SDK serves the 2026-07-28 wire itself.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type JSONRPCNotification, type JSONRPCRequest, type MessageExtraInfo, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { META, SUPPORTED_VERSIONS, TASKS_EXTENSION } from './era.ts';
import { INSTRUCTIONS, SERVER_INFO } from './sessionServer.ts';

export const DISCOVER = 'server/discover';

/** Methods of the session era that 2026-07-28 removed: answered -32601 even though the session server has handlers. */
const REMOVED = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe', 'tasks/list', 'tasks/result']);
const CACHEABLE = new Set(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read', DISCOVER]);
/** Lists and reads depend on the key (its tenants, scopes, the policy in force): private, and short-lived. */
const CACHE_HINT = { ttlMs: 30_000, cacheScope: 'private' as const };

export interface StatelessResponse {
  jsonrpc: '2.0';
  id: RequestId;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** Carries one request into the session server and its response (and the notifications about it) back out. */
class OneRequestTransport implements Transport {
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private resolve?: (m: StatelessResponse) => void;
  private id?: RequestId;
  private readonly notify: (n: JSONRPCNotification) => void;
  constructor(notify: (n: JSONRPCNotification) => void) {
    this.notify = notify;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.onclose?.();
  }

  async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    if ('id' in message && ('result' in message || 'error' in message)) {
      if (message.id === this.id) this.resolve?.(message as StatelessResponse);
      return;
    }
    if ('id' in message) {
      // A server-to-client request: this era has none (MRTR replaced them); the handler that sent it gets an error.
      const id = message.id;
      queueMicrotask(() => this.onmessage?.({ jsonrpc: '2.0', id, error: { code: ErrorCode.MethodNotFound, message: 'Server-initiated requests are not part of protocol 2026-07-28; use an InputRequiredResult' } }));
      return;
    }
    if (options?.relatedRequestId === this.id) this.notify(message as JSONRPCNotification);
  }

  dispatch(request: JSONRPCRequest, extra: MessageExtraInfo): Promise<StatelessResponse> {
    this.id = request.id;
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.onmessage?.(request, extra);
    });
  }

  /** The client went away: the handler is told (its signal aborts) and nobody waits for an answer any more. */
  cancel(): void {
    this.resolve?.({ jsonrpc: '2.0', id: this.id!, error: { code: ErrorCode.ConnectionClosed, message: 'Request cancelled' } });
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: this.id!, reason: 'the client closed the response stream' } });
  }
}

/** server/discover from the session server's own capabilities, in this era's shape (extensions, no session slots). */
export function discoverResult(server: McpServer): Record<string, unknown> {
  // SDK 1.32.2 declares getCapabilities private (it is what initialize answers with); the same object is wanted here.
  const all = (server.server as unknown as { getCapabilities(): Record<string, Record<string, unknown> | undefined> }).getCapabilities();
  const { tasks: _v1Tasks, experimental: _x, ...caps } = all;
  const plain = (c: Record<string, unknown> | undefined) => {
    if (!c) return undefined;
    const { listChanged: _l, subscribe: _s, ...rest } = c;
    return rest;
  };
  const capabilities: Record<string, unknown> = { extensions: { [TASKS_EXTENSION]: {} } };
  for (const [k, v] of Object.entries(caps)) if (v) capabilities[k] = plain(v);
  return { supportedVersions: [...SUPPORTED_VERSIONS], capabilities, instructions: INSTRUCTIONS };
}

function decorate(method: string, r: StatelessResponse, uri: unknown): StatelessResponse {
  if (r.error) {
    // 2026-07-28 renumbered "resource not found" to -32602 and wants the uri in data.
    if (method === 'resources/read' && (r.error.code === -32002 || r.error.code === ErrorCode.InvalidParams)) {
      return { ...r, error: { ...r.error, code: ErrorCode.InvalidParams, data: { ...(r.error.data as object), uri } } };
    }
    return r;
  }
  const result: Record<string, unknown> = { ...r.result };
  result.resultType ??= 'complete';
  result._meta = { ...(result._meta as object | undefined), [META.serverInfo]: SERVER_INFO };
  if (CACHEABLE.has(method) && result.resultType === 'complete') {
    result.ttlMs ??= CACHE_HINT.ttlMs;
    result.cacheScope ??= CACHE_HINT.cacheScope;
  }
  return { ...r, result };
}

export interface StatelessCall {
  request: JSONRPCRequest;
  extra: MessageExtraInfo;
  signal: AbortSignal;
  /** Notifications about this request (progress, log messages it asked for), in order. */
  notify: (n: JSONRPCNotification) => void;
}

/** One request of the stateless era through a session server built for it; the server is closed after it. */
export async function serveStateless(server: McpServer, call: StatelessCall): Promise<StatelessResponse> {
  const { request } = call;
  const id = request.id;
  try {
    if (request.method === DISCOVER) return decorate(DISCOVER, { jsonrpc: '2.0', id, result: discoverResult(server) }, undefined);
    if (REMOVED.has(request.method)) return { jsonrpc: '2.0', id, error: { code: ErrorCode.MethodNotFound, message: `Method not found: ${request.method} is not part of protocol 2026-07-28` } };
    const transport = new OneRequestTransport(call.notify);
    await server.connect(transport);
    const onAbort = () => transport.cancel();
    call.signal.addEventListener('abort', onAbort);
    try {
      const r = await transport.dispatch(request, call.extra);
      return decorate(request.method, r, (request.params as { uri?: unknown } | undefined)?.uri);
    } finally {
      call.signal.removeEventListener('abort', onAbort);
    }
  } finally {
    // Closed once the answer is on its way, not before: the SDK's Protocol forgets a handled request a microtask after
    // its response, and a close ahead of that aborts it (an AbortError and a ConnectionClosed error, each with a
    // stack) on the request's own path.
    setImmediate(() => void server.close().catch(() => {}));
  }
}
