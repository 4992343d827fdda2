// Request handlers registered with a loose schema ({method, params: unknown}), past the SDK Server's own parse of
// the method's request schema: a malformed request then gets -32602 Invalid params from the handler's own parse,
// where the SDK's parse failure answers -32603 Internal error (a client's mistake reported as the server's).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';

export const looseRequest = <M extends string>(method: M) => z.object({ method: z.literal(method), params: z.unknown() });
type Loose<M extends string> = ReturnType<typeof looseRequest<M>>;

type Handler = Parameters<McpServer['server']['setRequestHandler']>[1];
export type HandlerExtra = Parameters<Handler>[1];

/** Registers through Protocol's method, not the SDK Server's override (which wraps tools/call in its own parsing). */
export function registerRaw<M extends string>(server: McpServer, schema: Loose<M>, handler: (raw: z.infer<Loose<M>>, extra: HandlerExtra) => ReturnType<Handler>): void {
  (Protocol.prototype.setRequestHandler as (this: unknown, s: unknown, h: unknown) => void).call(server.server, schema, handler);
}
