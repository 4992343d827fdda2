// A tool result whose JSON its tool assembled from parts, some serialized once and kept (whoami: its key's facts). MCP
// sends a structured result in two forms, its JSON (structuredContent) and that JSON escaped inside a string (the text
// block), and for a result of ~700 bytes the two serializations were the largest single cost of the call. A part keeps
// both forms; mcp/messageJson.ts sends the joined parts instead of serializing the result again.
//
// The joined JSON must be exactly JSON.stringify(value): the parts follow the value's keys in order (the tests of each
// tool that uses this compare the two).

/** A piece of a result's JSON text, with the same text escaped as the inside of a JSON string. */
export class JsonPart {
  readonly json: string;
  readonly escaped: string;
  constructor(json: string) {
    this.json = json;
    // Escaping is per character, so the escaped parts of a text joined are the escaped text. Parts are cut between JSON
    // tokens (never inside a string, so never between the two halves of a surrogate pair).
    this.escaped = JSON.stringify(json).slice(1, -1);
  }
}

/** A result's JSON and its escaped form. */
export interface ResultJson {
  json: string;
  escaped: string;
}

// Kept on the value itself, under a symbol (JSON, structured clone and Object.keys ignore it), with the value it was
// made for: a spread copy carries the property but is another object, so it is not trusted. A WeakMap cost about a
// microsecond a call here, most of it its entries' upkeep.
const JSON_OF = Symbol('result JSON');
type Carrying = { [JSON_OF]?: ResultJson & { of: object } };

/** Hands `value` over with its JSON, joined from `parts` (a string: JSON text of this call only, escaped here). */
export function withJson<T extends object>(value: T, parts: readonly (JsonPart | string)[]): T {
  let json = '';
  let escaped = '';
  for (const p of parts) {
    const part = typeof p === 'string' ? new JsonPart(p) : p;
    json += part.json;
    escaped += part.escaped;
  }
  (value as Carrying)[JSON_OF] = { of: value, json, escaped };
  return value;
}

/** The JSON a tool handed over with `value`, if it did (a copy of the value, which may differ, has none). */
export function resultJsonOf(value: object): ResultJson | undefined {
  const j = (value as Carrying)[JSON_OF];
  return j?.of === value ? j : undefined;
}
