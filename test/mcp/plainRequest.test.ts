// The zod-free paths for plain requests and plain tools/call params accept nothing the SDK's schemas refuse, give what
// they would, and are taken by the usual call.
import { describe, expect, it } from 'vitest';
import { CallToolRequestSchema, JSONRPCMessageSchema, JSONRPCRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { plainCallParams, plainRequest } from '../../src-main/mcp/plainRequest.ts';

const cases: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
  { jsonrpc: '2.0', id: 'a', method: 'tools/list' },
  { jsonrpc: '2.0', id: 0, method: 'x', params: {} },
  { jsonrpc: '2.0', id: 1.5, method: 'x' },
  { jsonrpc: '2.0', id: 2 ** 60, method: 'x' },
  { jsonrpc: '2.0', id: null, method: 'x' },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '1.0', id: 1, method: 'x' },
  { jsonrpc: '2.0', id: 1, method: 7 },
  { jsonrpc: '2.0', id: 1, method: 'x', params: null },
  { jsonrpc: '2.0', id: 1, method: 'x', params: [] },
  { jsonrpc: '2.0', id: 1, method: 'x', params: 'p' },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: { progressToken: 1 } } },
  { jsonrpc: '2.0', id: 1, method: 'x', params: { _meta: 5 } },
  { jsonrpc: '2.0', id: 1, method: 'x', extra: true },
  JSON.parse('{"jsonrpc":"2.0","id":1,"method":"x","__proto__":{"a":1}}'),
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } },
  [{ jsonrpc: '2.0', id: 1, method: 'x' }],
  null, 'x', 7,
];

describe('plainRequest', () => {
  it('accepts only what the SDK\'s request schema accepts', () => {
    for (const m of cases) {
      if (plainRequest(m)) expect(JSONRPCRequestSchema.safeParse(m).success, JSON.stringify(m)).toBe(true);
    }
  });

  it('takes the usual request (tools/call, tools/list) and leaves _meta, notifications and responses to the schema', () => {
    expect(cases.filter(plainRequest)).toEqual(cases.slice(0, 3));
    // Left to the schema is not refused: the route still accepts every JSON-RPC message.
    expect(JSONRPCMessageSchema.safeParse(cases[12]).success).toBe(true);
  });
});

const params: unknown[] = [
  { name: 'whoami', arguments: {} },
  { name: 'whoami' },
  { name: 'list_devices', arguments: { tenant: 'acme', limit: 5, nested: { a: [1] } } },
  { name: 'x', arguments: null },
  { name: 'x', arguments: [] },
  { name: 'x', arguments: 'a' },
  { name: 7, arguments: {} },
  { arguments: {} },
  { name: 'x', _meta: { progressToken: 1 } },
  { name: 'x', task: { ttl: 1000 } },
  { name: 'x', extra: 1 },
  JSON.parse('{"name":"x","__proto__":{"a":1}}'),
  null, [], 'p',
];

describe('plainCallParams', () => {
  it('accepts only what CallToolRequestSchema accepts, and gives what it gives', () => {
    for (const p of params) {
      const plain = plainCallParams(p);
      if (!plain) continue;
      const parsed = CallToolRequestSchema.safeParse({ method: 'tools/call', params: p });
      expect(parsed.success, JSON.stringify(p)).toBe(true);
      expect(plain).toEqual(parsed.data!.params);
    }
  });

  it('takes the usual params and leaves _meta, task and anything odd to the schema', () => {
    expect(params.filter((p) => plainCallParams(p) !== undefined)).toEqual(params.slice(0, 3));
  });
});
