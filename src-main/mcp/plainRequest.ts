// The usual JSON-RPC message, a request without _meta, told and dispatched without zod. The SDK tells a message's kind
// by parsing it against up to four schemas, two of which fail for every request (a failed zod parse builds its issues),
// after our route had already checked it: a few µs of every call.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

/** True only for what the SDK's JSONRPCRequestSchema accepts; anything else, _meta included, is left to the schema. */
export function plainRequest(m: unknown): boolean {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  for (const k of Object.keys(m)) if (!REQUEST_KEYS.has(k)) return false;
  const r = m as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
  if (r.jsonrpc !== '2.0' || typeof r.method !== 'string') return false;
  if (typeof r.id !== 'string' && !Number.isSafeInteger(r.id)) return false;
  if (!Object.hasOwn(r, 'params')) return true;
  return typeof r.params === 'object' && r.params !== null && !Array.isArray(r.params) && !Object.hasOwn(r.params, '_meta');
}

type OnRequest = (this: unknown, message: unknown, extra: unknown) => void;

/**
 * Once `server` is connected to `transport`: a plain request goes straight to the SDK's request handling, as the
 * SDK's own dispatch would send it (a request is neither a result nor an error response); every other message takes
 * the SDK's way. Where the SDK no longer has that handler, its own dispatch is kept whole.
 */
export function dispatchPlainRequests(server: McpServer, transport: Transport): void {
  const sdk = transport.onmessage;
  const protocol = server.server as unknown as { _onrequest?: OnRequest };
  const onrequest = protocol._onrequest;
  if (!sdk || typeof onrequest !== 'function') return;
  transport.onmessage = (message, extra) => (plainRequest(message) ? onrequest.call(protocol, message, extra) : sdk(message, extra));
}

export type CallParams = ReturnType<typeof CallToolRequestSchema.parse>['params'];

/**
 * tools/call's usual params, a name and an arguments object and nothing else, told without zod: only what the SDK's
 * CallToolRequestSchema accepts, as it is. Anything else (_meta, task, a malformed value) is left to the schema.
 */
export function plainCallParams(p: unknown): CallParams | undefined {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return undefined;
  for (const k in p) if (k !== 'name' && k !== 'arguments') return undefined;
  const { name, arguments: args } = p as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string' || (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))) return undefined;
  return p as CallParams;
}
