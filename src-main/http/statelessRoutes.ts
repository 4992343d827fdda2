// The 2026-07-28 wire on the MCP endpoint, next to the session era: which POST belongs to it, the per-request
// envelope and the headers that mirror it (checked against the body), and the answer as JSON or, when the request
// may get notifications (progress, the log level it asked for), as an SSE stream scoped to it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type JSONRPCNotification, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ApiKey } from '../auth/keys.ts';
import type { Gate } from '../governance/gate.ts';
import { isLegacyVersion, isModernVersion, META, MODERN_ERRORS, RequestMeta, SUPPORTED_VERSIONS } from '../mcp/era.ts';
import type { SessionServerFactory } from '../mcp/sessionServer.ts';
import { discoverResult, DISCOVER, serveStateless, type StatelessResponse } from '../mcp/stateless.ts';
import type { ApprovalLinks } from '../mcp/toolCall.ts';
import { remoteOf } from './util.ts';

const MODERN_ONLY = new Set([DISCOVER, 'subscriptions/listen']);

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

interface Message {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: { _meta?: Record<string, unknown> } & Record<string, unknown>;
}

/**
 * A POST without a session belongs to the stateless era when it says so: a protocol-version header that is not a
 * session-era version, a modern _meta envelope, or a method only this era has. Everything else (initialize, batches,
 * a session-era request without a session) stays with the session transports.
 */
export function isStateless(req: IncomingMessage, body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const m = body as Message;
  const version = header(req, 'mcp-protocol-version');
  if (version !== undefined && !isLegacyVersion(version)) return true;
  const meta = m.params && typeof m.params === 'object' ? m.params._meta : undefined;
  if (meta && typeof meta === 'object' && META.protocolVersion in meta) return true;
  return typeof m.method === 'string' && MODERN_ONLY.has(m.method);
}

/** Mcp-Name values may carry the base64 sentinel (=?base64?…?=) for what is not plain ASCII. */
function decodeName(v: string): string | undefined {
  const m = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/.exec(v);
  if (!m) return /^[\x20-\x7e\t]*$/.test(v) ? v : undefined;
  return Buffer.from(m[1]!, 'base64').toString('utf8');
}

/** The body field Mcp-Name mirrors, for the methods that carry one. */
function nameOf(method: string, params: Record<string, unknown> | undefined): unknown {
  if (method === 'tools/call' || method === 'prompts/get') return params?.name;
  if (method === 'resources/read') return params?.uri;
  if (method === 'tasks/get' || method === 'tasks/update' || method === 'tasks/cancel') return params?.taskId;
  return undefined;
}

const NAMED = new Set(['tools/call', 'prompts/get', 'resources/read', 'tasks/get', 'tasks/update', 'tasks/cancel']);

type Refusal = { status: number; code: number; message: string; data?: unknown };

/** The envelope and the headers that mirror it; the first thing wrong, in the order the specification checks them. */
function refusalOf(req: IncomingMessage, m: JSONRPCRequest): Refusal | undefined {
  const params = m.params as Record<string, unknown> | undefined;
  const meta = RequestMeta.safeParse(params?._meta);
  if (!meta.success) {
    const missing = [META.protocolVersion, META.clientCapabilities].filter((k) => !(params?._meta && typeof params._meta === 'object' && k in params._meta));
    return { status: 400, code: ErrorCode.InvalidParams, message: `Invalid params: _meta ${missing.length ? `lacks ${missing.join(' and ')}` : 'is malformed'} (protocol 2026-07-28 carries them on every request)` };
  }
  const version = meta.data[META.protocolVersion];
  const headerVersion = header(req, 'mcp-protocol-version');
  if (headerVersion !== version) {
    return { status: 400, code: MODERN_ERRORS.headerMismatch, message: `Header mismatch: MCP-Protocol-Version ${headerVersion === undefined ? 'is missing' : `'${headerVersion}'`} but _meta says '${version}'` };
  }
  if (!isModernVersion(version)) {
    return { status: 400, code: MODERN_ERRORS.unsupportedVersion, message: 'Unsupported protocol version', data: { supported: [...SUPPORTED_VERSIONS], requested: version } };
  }
  const method = header(req, 'mcp-method');
  if (method !== m.method) return { status: 400, code: MODERN_ERRORS.headerMismatch, message: `Header mismatch: Mcp-Method ${method === undefined ? 'is missing' : `'${method}'`} but the body's method is '${m.method}'` };
  if (NAMED.has(m.method)) {
    const body = nameOf(m.method, params);
    const raw = header(req, 'mcp-name');
    const name = raw === undefined ? undefined : decodeName(raw);
    if (body !== undefined && name !== String(body)) {
      return { status: 400, code: MODERN_ERRORS.headerMismatch, message: `Header mismatch: Mcp-Name ${raw === undefined ? 'is missing' : `'${raw}' does not match the body's '${String(body)}'`}` };
    }
  }
  return undefined;
}

/** HTTP status of an answered request: the era's transport errors are 400, an unknown method 404, the rest 200. */
function statusOf(r: StatelessResponse): number {
  const code = r.error?.code;
  if (code === ErrorCode.MethodNotFound) return 404;
  if (code === MODERN_ERRORS.headerMismatch || code === MODERN_ERRORS.missingCapability || code === MODERN_ERRORS.unsupportedVersion) return 400;
  return 200;
}

const HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

function sendMessage(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', ...HEADERS }).end(JSON.stringify(body));
}

export interface StatelessDeps {
  gate: Gate;
  sessionServer: SessionServerFactory;
  links: () => ApprovalLinks | undefined;
}

/** Serves one stateless request (already authenticated, its body read and capped). */
export async function serveStatelessHttp(req: IncomingMessage, res: ServerResponse, body: unknown, key: ApiKey, deps: StatelessDeps): Promise<void> {
  const m = body as Message;
  const id = (typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null) as JSONRPCRequest['id'];
  const fail = (r: Refusal) => sendMessage(res, r.status, { jsonrpc: '2.0', id, error: { code: r.code, message: r.message, ...(r.data === undefined ? {} : { data: r.data }) } });
  if (m.jsonrpc !== '2.0' || typeof m.method !== 'string') return fail({ status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request: one JSON-RPC request per POST' });
  // A notification: this era defines none from the client over HTTP; accepted and ignored.
  if (m.id === undefined) {
    res.writeHead(202, HEADERS).end();
    return;
  }
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))) {
    return fail({ status: 400, code: ErrorCode.InvalidParams, message: 'Invalid params: params must be an object' });
  }
  // Read with `in` below: a _meta that is not an object is the client's mistake (400), not a TypeError (500).
  const givenMeta = (m.params as { _meta?: unknown } | undefined)?._meta;
  if (givenMeta !== undefined && (typeof givenMeta !== 'object' || givenMeta === null || Array.isArray(givenMeta))) {
    return fail({ status: 400, code: ErrorCode.InvalidParams, message: 'Invalid params: _meta must be an object' });
  }
  const request = m as JSONRPCRequest;
  const server = deps.sessionServer(deps.gate, { key, sessionId: () => undefined, remote: remoteOf(req), links: deps.links() });
  const version = header(req, 'mcp-protocol-version');
  // A discovery probe from a client that has not picked an era yet (no envelope, no modern header) is answered, not
  // refused: some clients give up on a server that answers it with 400.
  if (request.method === DISCOVER && !(request.params?._meta && META.protocolVersion in request.params._meta) && (version === undefined || isLegacyVersion(version))) {
    await server.close().catch(() => {});
    return sendMessage(res, 200, { jsonrpc: '2.0', id, result: { resultType: 'complete', ...discoverResult(server) } });
  }
  const refused = refusalOf(req, request);
  if (refused) {
    await server.close().catch(() => {});
    return fail(refused);
  }
  const meta = request.params!._meta as Record<string, unknown>;
  const streams = String(req.headers.accept ?? '').includes('text/event-stream')
    && ((request.params as { _meta?: { progressToken?: unknown } })._meta?.progressToken !== undefined || meta[META.logLevel] !== undefined);
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  // Notifications open an SSE stream on the first one; a request that gets none is answered with plain JSON.
  const notify = (n: JSONRPCNotification) => {
    if (!streams || res.writableEnded) return;
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/event-stream', 'X-Accel-Buffering': 'no', ...HEADERS });
    res.write(`event: message\ndata: ${JSON.stringify(n)}\n\n`);
  };
  const answer = await serveStateless(server, { request, extra: { requestInfo: { headers: req.headers } }, signal: abort.signal, notify });
  if (abort.signal.aborted || res.writableEnded) return;
  if (res.headersSent) {
    res.end(`event: message\ndata: ${JSON.stringify(answer)}\n\n`);
    return;
  }
  sendMessage(res, statusOf(answer), answer);
}
