// Malformed input on both transports, with a valid key: always a 4xx with a JSON-RPC error body, and the server stays up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { TRANSPORTS, type TestServer, useServerWithKey } from '../helpers/server.ts';
import {
  expectRpcError, initializeRequest, initLegacy, initStreamable, mcpHeaders, openLegacySse, parseSse, rawRequest, streamablePost, type LegacySse,
} from '../helpers/raw.ts';

const MiB = 1024 * 1024;

let t: TestServer;
let port: number;
let key: string;
useServerWithKey('malformed', (s) => ({ t, port, key } = s));

/** A JSON value padded with spaces to exactly `bytes` bytes. */
const padded = (value: unknown, bytes: number) => {
  const s = JSON.stringify(value);
  return s + ' '.repeat(bytes - Buffer.byteLength(s));
};
const oversized = () => padded(initializeRequest(), MiB + 1);

describe('Streamable HTTP (POST /api/v1/mcp)', () => {
  let sid: string;
  beforeAll(async () => {
    sid = await initStreamable(port, key);
  });

  const post = (body: string | Buffer, o: { session?: boolean; headers?: Record<string, string | undefined>; chunked?: boolean } = {}) =>
    rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(key, o.session ? sid : undefined), ...o.headers }, body, chunked: o.chunked });

  describe.each([false, true])('with a session: %s', (session) => {
    it('invalid JSON → 400, -32700', async () => {
      expectRpcError(await post('{"jsonrpc":"2.0","id":1,', { session }), 400, -32700);
      expectRpcError(await post('not json at all', { session }), 400, -32700);
    });

    it('empty and whitespace-only bodies → 400, -32700', async () => {
      expectRpcError(await post('', { session }), 400, -32700);
      expectRpcError(await post('   \n', { session }), 400, -32700);
    });

    it('a body over 1 MiB with Content-Length → 413', async () => {
      const r = await post(oversized(), { session });
      expect(Number(r.headers['content-length'] ?? 0)).toBeLessThan(1000);
      expectRpcError(r, 413, -32600);
    });

    it('a body over 1 MiB, chunked without Content-Length → 413', async () => {
      const r = await post(oversized(), { session, chunked: true });
      expectRpcError(r, 413, -32600);
    });

    it('a body of several MiB on a connection the client closes after it: the client reads the 413, not a reset (the body is drained first)', async () => {
      for (let i = 0; i < 6; i++) {
        const r = await post(padded(initializeRequest(), 7 * MiB + i * 1_000), { session, chunked: i % 2 === 1 });
        expectRpcError(r, 413, -32600);
      }
    });

    it('a declared Content-Length over the cap is refused before the body is read', async () => {
      // 50 MiB announced, 2 bytes sent: the answer must come at once, without waiting for a body that never arrives.
      const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(key, session ? sid : undefined), 'content-length': String(50 * MiB) }, body: '{}', timeoutMs: 3_000 });
      expectRpcError(r, 413, -32600);
      expect(r.ms).toBeLessThan(budget(1_000));
    });

    it('wrong Content-Type → 415', async () => {
      const body = session ? JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' }) : JSON.stringify(initializeRequest());
      expectRpcError(await post(body, { session, headers: { 'content-type': 'text/plain' } }), 415, -32000);
      expectRpcError(await post(body, { session, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, -32000);
      expectRpcError(await post(body, { session, headers: { 'content-type': undefined } }), 415, -32000);
    });

    it('an Accept header without text/event-stream → 406', async () => {
      const body = session ? JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }) : JSON.stringify(initializeRequest());
      expectRpcError(await post(body, { session, headers: { accept: 'application/json' } }), 406, -32000);
    });
  });

  it.each(['{"foo":1}', '[]', '42', '"text"', 'null', 'true', '{"jsonrpc":"2.0","id":1}'])('not JSON-RPC (%s) without a session → 400, -32600', async (body) => {
    const e = expectRpcError(await post(body), 400, -32600);
    expect(e.message).toMatch(/Invalid Request/);
  });

  it.each(['{"foo":1}', '42', '"text"', 'null', '{"jsonrpc":"1.0","id":1,"method":"ping"}', '[{"foo":1}]'])('not JSON-RPC (%s) on a session → 400, -32600', async (body) => {
    expectRpcError(await post(body, { session: true }), 400, -32600);
  });

  it('a second initialize on a session → 400, -32600', async () => {
    expectRpcError(await post(JSON.stringify(initializeRequest(2)), { session: true }), 400, -32600);
  });

  it('an unknown method on a session → JSON-RPC error -32601 in a 200 response', async () => {
    const r = await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 'm1', method: 'no/such/method' });
    expect(r.status).toBe(200);
    expect(r.messages).toEqual([expect.objectContaining({ jsonrpc: '2.0', id: 'm1', error: expect.objectContaining({ code: -32601 }) })]);
  });

  it('tools/call whose params is not an object → 400, -32600 (not a JSON-RPC message)', async () => {
    expectRpcError(await post(JSON.stringify({ jsonrpc: '2.0', id: 'c0', method: 'tools/call', params: 'x' }), { session: true }), 400, -32600);
  });

  it.each([
    ['arguments is an array', { name: 'list_devices', arguments: [1, 2] }],
    ['arguments is null', { name: 'list_devices', arguments: null }],
    ['name is missing', { arguments: {} }],
    ['name is a number', { name: 42, arguments: {} }],
  ])('tools/call with %s → a JSON-RPC error response (HTTP 200), never a 5xx', async (_label, params) => {
    const r = await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 'c1', method: 'tools/call', params });
    expect(r.status).toBe(200);
    expect(r.messages).toHaveLength(1);
    const [m] = r.messages;
    expect(m).toMatchObject({ jsonrpc: '2.0', id: 'c1', error: { code: expect.any(Number), message: expect.any(String) } });
    // The exact code (-32602 expected, -32603 today) is asserted in bugs.test.ts.
  });

  it('Content-Type with parameters (application/json; charset=utf-8) is accepted', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id: 'cs', method: 'ping' }), { session: true, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(r.status).toBe(200);
  });

  it('a body of exactly 1 MiB is accepted', async () => {
    const r = await post(padded({ jsonrpc: '2.0', id: 'big', method: 'ping' }, MiB), { session: true });
    expect(r.status).toBe(200);
  });

  it('PUT → 405 with Allow; GET and DELETE without a session id → 400', async () => {
    const put = await rawRequest({ port, method: 'PUT', path: '/api/v1/mcp', headers: mcpHeaders(key), body: '{}' });
    expectRpcError(put, 405, -32000);
    expect(put.headers.allow).toBe('GET, POST, DELETE');
    expectRpcError(await rawRequest({ port, method: 'GET', path: '/api/v1/mcp', headers: { 'x-api-key': key, accept: 'text/event-stream' } }), 400, -32000);
    expectRpcError(await rawRequest({ port, method: 'DELETE', path: '/api/v1/mcp', headers: { 'x-api-key': key } }), 400, -32000);
  });

  it('an unsupported Mcp-Protocol-Version on a session → 400', async () => {
    const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(key, sid), 'mcp-protocol-version': '1999-01-01' }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }) });
    expectRpcError(r, 400, -32000);
  });

  it('the session still answers after all of it', async () => {
    const r = await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 'alive', method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 2 } } });
    expect(r.status).toBe(200);
    expect(r.messages[0].result.isError).toBeFalsy();
    expect(r.messages[0].result.structuredContent.devices).toHaveLength(2);
  });
});

describe('legacy SSE (POST /api/v1/mcp/message)', () => {
  let sse: LegacySse;
  beforeAll(async () => {
    sse = await openLegacySse({ port, key });
    expect(sse.status).toBe(200);
    expect(sse.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });
  afterAll(() => sse.close());

  const post = (body: string | Buffer, o: { headers?: Record<string, string | undefined>; chunked?: boolean } = {}) =>
    rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'content-type': 'application/json', 'x-api-key': key, ...o.headers }, body, chunked: o.chunked });

  it('the endpoint event names the message path with the session id', () => {
    expect(sse.endpoint).toBe(`/api/v1/mcp/message?sessionId=${sse.sessionId}`);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
  });

  it('invalid JSON → 400, -32700', async () => {
    expectRpcError(await post('{"jsonrpc":"2.0",'), 400, -32700);
    expectRpcError(await post('<xml/>'), 400, -32700);
  });

  it('empty body → 400, -32700', async () => {
    expectRpcError(await post(''), 400, -32700);
    expectRpcError(await post(' '), 400, -32700);
  });

  it.each(['{"foo":1}', '[]', '42', '"text"', 'null', '{"jsonrpc":"2.0"}'])('not JSON-RPC (%s) → 400, never 5xx', async (body) => {
    const r = await post(body);
    expect(r.status).toBe(400);
  });

  it('a body over 1 MiB with Content-Length → 413', async () => {
    expectRpcError(await post(oversized()), 413, -32600);
  });

  it('a body over 1 MiB, chunked without Content-Length → 413', async () => {
    expectRpcError(await post(oversized(), { chunked: true }), 413, -32600);
  });

  it('wrong or missing Content-Type → 4xx, never 5xx', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const r = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { headers: { 'content-type': ct } });
      expect(r.status, `content-type ${ct}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `content-type ${ct}`).toBeLessThan(500);
    }
  });

  it('Content-Type with parameters (application/json; charset=utf-8) is accepted', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'none' } }), { headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(r.status).toBe(202);
  });

  it('GET on the message path → 405 with Allow: POST', async () => {
    const r = await rawRequest({ port, path: sse.endpoint!, headers: { 'x-api-key': key } });
    expectRpcError(r, 405, -32000);
    expect(r.headers.allow).toBe('POST');
  });

  it('no sessionId, or a Streamable HTTP session id, on the message path → 404', async () => {
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/api/v1/mcp/message', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }), 404, -32001);
    const sid = await initStreamable(port, key);
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/api/v1/mcp/message?sessionId=${sid}`, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }), 404, -32001);
  });

  it('the session still works after all of it: initialize and a tool call answered on the stream', async () => {
    await initLegacy(port, sse, key);
    const r = await post(JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 1 } } }));
    expect(r.status).toBe(202);
    const text = await sse.waitFor('"id":"after"');
    const answer = parseSse(text).map((f) => JSON.parse(f.data === '' || f.event !== 'message' ? 'null' : f.data)).find((m) => m?.id === 'after');
    expect(answer.result.isError).toBeFalsy();
    expect(answer.result.structuredContent.devices).toHaveLength(1);
  });
});

describe.each(TRANSPORTS)('bad tool calls through the SDK client over %s', (kind) => {
  let c: Client;
  beforeAll(async () => {
    c = await t.connect(kind, key);
  });

  const denial = (r: Awaited<ReturnType<Client['callTool']>>) => {
    expect(r.isError).toBe(true);
    const content = r.content as Array<{ type: string; text: string }>;
    expect(content[0]!.type).toBe('text');
    return JSON.parse(content[0]!.text) as { error: { code: string; message: string } };
  };

  it.each([
    ['a string limit', { limit: 'abc' }],
    ['a limit over the maximum', { limit: 1000 }],
    ['a negative limit', { limit: -1 }],
    ['an unknown status', { status: 'exploded' }],
  ])('list_devices with %s → isError result with INVALID_ARGUMENTS, not a thrown error', async (_label, args) => {
    const r = await c.callTool({ name: 'list_devices', arguments: args });
    const body = denial(r);
    expect(body.error.code).toBe('INVALID_ARGUMENTS');
    expect(body.error.message).toContain('list_devices');
  });

  it('an unknown tool → isError result with UNKNOWN_TOOL', async () => {
    const body = denial(await c.callTool({ name: 'format_all_disks', arguments: {} }));
    expect(body.error.code).toBe('UNKNOWN_TOOL');
    expect(body.error.message).toContain('format_all_disks');
  });

  it('the refusals are audited as denied tool calls', () => {
    const rows = t.app.db.prepare(`SELECT code FROM audit_log WHERE event = 'tool_call' AND decision = 'denied' AND code IN ('INVALID_ARGUMENTS', 'UNKNOWN_TOOL')`).all() as Array<{ code: string }>;
    expect(rows.some((r) => r.code === 'INVALID_ARGUMENTS')).toBe(true);
    expect(rows.some((r) => r.code === 'UNKNOWN_TOOL')).toBe(true);
  });

  it('the same client then makes a successful call', async () => {
    const r = await c.callTool({ name: 'list_devices', arguments: { limit: 3 } });
    expect(r.isError).toBeFalsy();
    expect((r.structuredContent as { devices: unknown[] }).devices).toHaveLength(3);
  });
});

describe('a request target that is not a URL', () => {
  it('is refused 400 and audited, and nothing rejects unhandled (which would end the process)', async () => {
    for (const path of ['//', '//?sessionId=abc']) {
      const r = await rawRequest({ port, path, headers: { 'x-api-key': key } });
      expect([path, r.status]).toEqual([path, 400]);
    }
    const audited = t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'http' AND code = 'HTTP_400' AND detail_json LIKE '%"path":"//"%'`).get() as { n: number };
    expect(audited.n).toBe(2);
  });
});

describe('the server is still up', () => {
  it('healthz answers and a fresh client on each transport completes a call', async () => {
    // An in-process app runs no integrity check (only serve and the desktop app do).
    expect((await rawRequest({ port, path: '/healthz' })).json).toEqual({ ok: true, integrity: { state: 'unchecked', detail: null, checkedAt: null }, policy: 'bound' });
    for (const kind of TRANSPORTS) {
      const c = await t.connect(kind, await t.key({ name: `final-${kind}` }));
      const r = await c.callTool({ name: 'list_devices', arguments: { limit: 1 } });
      expect(r.isError, kind).toBeFalsy();
    }
  });
});
