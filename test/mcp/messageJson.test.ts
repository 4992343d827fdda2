import { describe, expect, it } from 'vitest';
import { messageJson, structuredResult } from '../../src-main/mcp/messageJson.ts';
import { JsonPart, withJson } from '../../src-main/tools/resultJson.ts';

// The JSON a structured result carries must be byte for byte what JSON.stringify gives for the whole response: clients
// see no difference, the server serializes the result once.
const values: Record<string, unknown>[] = [
  {},
  { keyId: 'k', name: 'say "hi"\n\ttab \\ slash', tenants: [{ slug: 'acme', name: 'Acme ✓ ünï' }], n: 1.5, none: null, nested: { deep: [1, [2, { x: '\u0001\u2028' }]] } },
  { emoji: '🦀', lone: 'a\ud800b', big: 'x'.repeat(10_000) },
];

describe('messageJson', () => {
  for (const [i, value] of values.entries()) {
    it(`a structured result's response is exactly JSON.stringify's (${i})`, () => {
      for (const id of [1, 'req-"7"', 0]) {
        const message = { result: structuredResult(value), jsonrpc: '2.0' as const, id };
        expect(messageJson(message)).toBe(JSON.stringify(message));
        expect(JSON.parse(messageJson(message))).toEqual({ result: { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value }, jsonrpc: '2.0', id });
      }
    });
  }

  it('a result changed through a spread copy is serialized afresh, never from the stale JSON', () => {
    const r = structuredResult({ a: 1 });
    const changed = { ...r, content: [...r.content, { type: 'text' as const, text: 'more' }] };
    const message = { result: changed, jsonrpc: '2.0' as const, id: 3 };
    expect(messageJson(message)).toBe(JSON.stringify(message));
    expect(messageJson(message)).toContain('"more"');
  });

  it('a result whose text block was replaced, or copied with another key, is serialized afresh', () => {
    const edited = structuredResult({ a: 1 });
    edited.content[0]!.text = 'edited';
    const flagged = { ...structuredResult({ a: 2 }), isError: true };
    for (const result of [edited, flagged]) {
      const message = { result, jsonrpc: '2.0' as const, id: 4 };
      expect(messageJson(message)).toBe(JSON.stringify(message));
    }
  });

  it('a value handed over with JSON joined from parts is sent as that JSON, exactly JSON.stringify\'s', () => {
    const head = { keyId: 'k', name: 'say "hi" \\ 🦀 a\ud800b' };
    const tail = { n: 1.5, none: null, list: ['x"y'] };
    for (const i of [0, 1]) {
      const mid = { remaining: 10 - i, note: 'tab\t' };
      const value = withJson({ ...head, mid, ...tail }, [new JsonPart(`${JSON.stringify(head).slice(0, -1)},"mid":`), JSON.stringify(mid), `,${JSON.stringify(tail).slice(1)}`]);
      const message = { result: structuredResult(value), jsonrpc: '2.0' as const, id: i };
      expect(messageJson(message)).toBe(JSON.stringify(message));
    }
    // A copy of such a value, changed, is another object: its own JSON is made, not the one handed over.
    const original = withJson({ a: 1 }, ['{"a":1}']);
    const copy = { ...original, a: 2 };
    expect(messageJson({ result: structuredResult(copy), jsonrpc: '2.0', id: 9 })).toContain('"structuredContent":{"a":2}');
  });

  it('other messages (notifications, errors, results with more keys) are plain JSON.stringify', () => {
    const r = structuredResult({ a: 1 });
    for (const m of [
      { jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
      { jsonrpc: '2.0' as const, id: 1, error: { code: -32602, message: 'bad' } },
      { result: r, jsonrpc: '2.0' as const, id: 2, extra: true },
    ]) expect(messageJson(m as never)).toBe(JSON.stringify(m));
  });
});
