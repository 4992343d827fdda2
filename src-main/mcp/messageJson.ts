// A tool result's JSON, computed once. MCP asks for a structured result twice (structuredContent, and its JSON as a text
// block for clients that read only text), so serializing the whole response serialized the result twice. A result
// built by `structuredResult` carries its wire JSON under a symbol, with the two parts it was made from: a copy that
// changed the result (another content array, another key) does not match them and is serialized as usual. (A WeakMap
// beside the result cost more, in its entries' upkeep; a non-enumerable property, by defineProperty, more still.)
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { resultJsonOf } from '../tools/resultJson.ts';

const WIRE = Symbol('wire JSON');
type Wire = { json: string; content: unknown; text: string; value: unknown };
type Wired = { [WIRE]?: Wire; content?: unknown; structuredContent?: unknown };

/** A structured tool result whose text block is the JSON of `value`, with the result's own JSON attached. */
export function structuredResult(value: Record<string, unknown>): { content: { type: 'text'; text: string }[]; structuredContent: Record<string, unknown> } {
  // A tool may have handed its value over with its JSON already joined from parts it keeps (tools/resultJson.ts).
  const known = resultJsonOf(value);
  const json = known?.json ?? JSON.stringify(value);
  const escaped = known ? `"${known.escaped}"` : JSON.stringify(json);
  const content = [{ type: 'text' as const, text: json }];
  // Exactly what JSON.stringify(result) gives: the same keys in the same order, the value serialized once.
  const result = { content, structuredContent: value };
  (result as Wired)[WIRE] = { json: `{"content":[{"type":"text","text":${escaped}}],"structuredContent":${json}}`, content, text: json, value };
  return result;
}

/** The wire JSON of a result from structuredResult, unless it was changed or copied with changes since. */
function wireOf(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Wired;
  const w = r[WIRE];
  if (!w || w.content !== r.content || w.value !== r.structuredContent || Object.keys(r).length !== 2) return undefined;
  const content = r.content as { text?: unknown }[];
  return content.length === 1 && content[0]!.text === w.text ? w.json : undefined;
}

/** The wire text of a JSON-RPC message; a response whose result came from structuredResult reuses its JSON. */
export function messageJson(message: JSONRPCMessage): string {
  const m = message as { result?: unknown; id?: unknown };
  const pre = wireOf(m.result);
  // The key order of the SDK's responses ({ result, jsonrpc, id }), so the bytes are those JSON.stringify would give.
  if (pre !== undefined && Object.keys(message).length === 3 && 'jsonrpc' in message && 'id' in message) return `{"result":${pre},"jsonrpc":"2.0","id":${JSON.stringify(m.id)}}`;
  return JSON.stringify(message);
}
