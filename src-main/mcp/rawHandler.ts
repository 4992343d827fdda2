// Request handlers registered with a loose schema ({method, params: unknown}), past the SDK Server's own parse of
// the method's request schema: a malformed request then gets -32602 Invalid params from the handler's own parse,
// where the SDK's parse failure answers -32603 Internal error (a client's mistake reported as the server's).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';

export const looseRequest = <M extends string>(method: M) => z.object({ method: z.literal(method), params: z.unknown() });
type Loose<M extends string> = ReturnType<typeof looseRequest<M>>;

/** A loose request's params, parsed by the handler: a mismatch is -32602 with every issue, named by path. */
export function parseParams<T>(schema: z.ZodType<T>, params: unknown, method: string): T {
  const r = schema.safeParse(params ?? {});
  if (!r.success) throw new McpError(ErrorCode.InvalidParams, `Invalid params for ${method}: ${r.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ')}`);
  return r.data;
}

type Handler = Parameters<McpServer['server']['setRequestHandler']>[1];
export type HandlerExtra = Parameters<Handler>[1];

/** Registers through Protocol's method, not the SDK Server's override (which wraps tools/call in its own parsing). */
export function registerRaw<M extends string>(server: McpServer, schema: Loose<M>, handler: (raw: z.infer<Loose<M>>, extra: HandlerExtra) => ReturnType<Handler>): void {
  (Protocol.prototype.setRequestHandler as (this: unknown, s: unknown, h: unknown) => void).call(server.server, schema, handler);
}
