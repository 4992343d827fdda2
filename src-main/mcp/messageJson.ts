// A tool result's JSON, computed once. MCP asks for a structured result twice (structuredContent, and its JSON as a text
// block for clients that read only text), so serializing the whole response serialized the result twice. A result
// built by `structuredResult` has its JSON kept beside it (a WeakMap: a spread copy, which may change the result, is
// another object and has none; cheaper than a non-enumerable property, which defineProperty made per call), and the
// transports send that JSON as is.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const resultJson = new WeakMap<object, string>();

/** A structured tool result whose text block is the JSON of `value`, with the result's own JSON attached. */
export function structuredResult(value: Record<string, unknown>): { content: { type: 'text'; text: string }[]; structuredContent: Record<string, unknown> } {
  const json = JSON.stringify(value);
  const result = { content: [{ type: 'text' as const, text: json }], structuredContent: value };
  // Exactly what JSON.stringify(result) gives: the same keys in the same order, the value serialized once.
  resultJson.set(result, `{"content":[{"type":"text","text":${JSON.stringify(json)}}],"structuredContent":${json}}`);
  return result;
}

/** The wire text of a JSON-RPC message; a response whose result came from structuredResult reuses its JSON. */
export function messageJson(message: JSONRPCMessage): string {
  const m = message as { result?: unknown; id?: unknown };
  const pre = typeof m.result === 'object' && m.result !== null ? resultJson.get(m.result) : undefined;
  // The key order of the SDK's responses ({ result, jsonrpc, id }), so the bytes are those JSON.stringify would give.
  if (pre !== undefined && Object.keys(message).length === 3 && 'jsonrpc' in message && 'id' in message) return `{"result":${pre},"jsonrpc":"2.0","id":${JSON.stringify(m.id)}}`;
  return JSON.stringify(message);
}
