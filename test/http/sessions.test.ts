// MCP sessions on both transports: ownership by key, termination, the seed URL, caps, idle reaping and keep-alives.
import { until as waitUntil } from '../helpers/wait.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, useServerWithKey } from '../helpers/server.ts';
import {
  expectRpcError, initializeRequest, initLegacy, initStreamable, mcpHeaders, openLegacySse, openStream, rawRequest, streamablePost, PROTOCOL_VERSION,
} from '../helpers/raw.ts';

const ping = (id: string | number) => ({ jsonrpc: '2.0', id, method: 'ping' });
const until = (cond: () => boolean, ms = 2_000) => waitUntil('the condition', cond, ms, 10);

describe('ownership and termination', () => {
  let t: TestServer;
  let port: number;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await startTestServer();
    port = t.server.port;
    alice = await t.key({ name: 'alice' });
    bob = await t.key({ name: 'bob' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a Streamable HTTP session id used with another key → 404 on POST, GET and DELETE; the owner keeps it', async () => {
    const sid = await initStreamable(port, alice);
    expectRpcError(await streamablePost(port, bob, sid, ping(1)), 404, -32001);
    expectRpcError(await rawRequest({ port, method: 'GET', path: '/api/v1/mcp', headers: { 'x-api-key': bob, accept: 'text/event-stream', 'mcp-session-id': sid } }), 404, -32001);
    expectRpcError(await rawRequest({ port, method: 'DELETE', path: '/api/v1/mcp', headers: { 'x-api-key': bob, 'mcp-session-id': sid } }), 404, -32001);
    const own = await streamablePost(port, alice, sid, ping(2));
    expect(own.status).toBe(200);
    expect(own.messages).toEqual([{ jsonrpc: '2.0', id: 2, result: {} }]);
  });

  it("another key's session answers exactly like an unknown one", async () => {
    const sid = await initStreamable(port, alice);
    const foreign = await streamablePost(port, bob, sid, ping(1));
    const unknown = await streamablePost(port, bob, '00000000-0000-4000-8000-000000000000', ping(1));
    expect(foreign.status).toBe(unknown.status);
    expect(foreign.json).toEqual(unknown.json);
  });

  it.each(['POST', 'GET', 'DELETE'])('an unknown session id → 404 on %s', async (method) => {
    const r = await rawRequest({
      port, method, path: '/api/v1/mcp',
      headers: { ...mcpHeaders(alice, 'f0f0f0f0-1111-4222-8333-444444444444'), accept: 'application/json, text/event-stream' },
      body: method === 'POST' ? JSON.stringify(ping(1)) : undefined,
    });
    const e = expectRpcError(r, 404, -32001);
    expect(e.message).toContain('Session not found');
  });

  it('DELETE ends a session; its id then gives 404', async () => {
    const sid = await initStreamable(port, alice);
    const size = t.server.sessions.size;
    const del = await rawRequest({ port, method: 'DELETE', path: '/api/v1/mcp', headers: { 'x-api-key': alice, 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION } });
    expect(del.status).toBe(200);
    await until(() => t.server.sessions.size === size - 1);
    expectRpcError(await streamablePost(port, alice, sid, ping(3)), 404, -32001);
    expectRpcError(await rawRequest({ port, method: 'DELETE', path: '/api/v1/mcp', headers: { 'x-api-key': alice, 'mcp-session-id': sid } }), 404, -32001);
  });

  it('DELETE also ends the session\'s open GET stream', async () => {
    const sid = await initStreamable(port, alice);
    const stream = await openStream({ port, path: '/api/v1/mcp', headers: { 'x-api-key': alice, accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION } });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    const del = await rawRequest({ port, method: 'DELETE', path: '/api/v1/mcp', headers: { 'x-api-key': alice, 'mcp-session-id': sid } });
    expect(del.status).toBe(200);
    await stream.ended;
  });

  it('a legacy SSE sessionId used with another key on /api/v1/mcp/message → 404; the owner keeps it', async () => {
    const sse = await openLegacySse({ port, key: alice });
    try {
      const body = JSON.stringify(initializeRequest('x'));
      expectRpcError(await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'content-type': 'application/json', 'x-api-key': bob }, body }), 404, -32001);
      await initLegacy(port, sse, alice);
    } finally {
      sse.close();
    }
  });

  it('a legacy sessionId presented as Mcp-Session-Id → 404, on both paths', async () => {
    const sse = await openLegacySse({ port, key: alice });
    try {
      expectRpcError(await streamablePost(port, alice, sse.sessionId, ping(1)), 404, -32001);
      expectRpcError(await streamablePost(port, alice, sse.sessionId, ping(1), '/api/v1/mcp/sse'), 404, -32001);
    } finally {
      sse.close();
    }
  });

  it('closing the legacy stream ends the session: its sessionId then gives 404', async () => {
    const sse = await openLegacySse({ port, key: alice });
    const size = t.server.sessions.size;
    sse.close();
    await until(() => t.server.sessions.size === size - 1);
    expectRpcError(await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'content-type': 'application/json', 'x-api-key': alice }, body: JSON.stringify(ping(1)) }), 404, -32001);
  });

  it('an SDK client configured with the seed URL /api/v1/mcp/sse and the Streamable HTTP transport works', async () => {
    const c = await t.connect('http', alice, { seedUrl: true });
    const { tools } = await c.listTools();
    expect(tools.map((x) => x.name)).toContain('list_devices');
    const r = await c.callTool({ name: 'list_devices', arguments: { limit: 2 } });
    expect(r.isError).toBeFalsy();
    expect((r.structuredContent as { devices: unknown[] }).devices).toHaveLength(2);
  });

  it('a raw initialize on the seed URL returns a Streamable session usable on both paths', async () => {
    const sid = await initStreamable(port, alice, '/api/v1/mcp/sse');
    expect((await streamablePost(port, alice, sid, ping('a'), '/api/v1/mcp/sse')).status).toBe(200);
    expect((await streamablePost(port, alice, sid, ping('b'), '/api/v1/mcp')).status).toBe(200);
  });
});

describe('per-key session cap (maxSessionsPerKey: 2)', () => {
  let t: TestServer;
  let port: number;
  beforeAll(async () => {
    t = await startTestServer({ serve: { limits: { maxSessionsPerKey: 2 } } });
    port = t.server.port;
  });
  afterAll(async () => {
    await t.close();
  });

  it('the third Streamable HTTP session of a key → 429 with Retry-After; other keys are unaffected', async () => {
    const key = await t.key({ name: 'capped' });
    const first = await initStreamable(port, key);
    await initStreamable(port, key);
    const third = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) });
    const e = expectRpcError(third, 429, -32000);
    expect(e.message).toContain('limit 2');
    expect(third.headers['retry-after']).toBe('30');
    expect(third.headers['mcp-session-id']).toBeUndefined();

    // The legacy transport counts against the same cap.
    const sse = await openLegacySse({ port, key });
    expect(sse.status).toBe(429);
    expect(sse.json).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });

    // Another key still gets sessions.
    const other = await t.key({ name: 'uncapped' });
    await initStreamable(port, other);

    // Ending one frees a slot.
    const del = await rawRequest({ port, method: 'DELETE', path: '/api/v1/mcp', headers: { 'x-api-key': key, 'mcp-session-id': first } });
    expect(del.status).toBe(200);
    await initStreamable(port, key);
  });

  it('legacy streams count too: two open streams, then a Streamable initialize → 429', async () => {
    const key = await t.key({ name: 'capped-legacy' });
    const before = t.server.sessions.size;
    const a = await openLegacySse({ port, key });
    const b = await openLegacySse({ port, key });
    try {
      expect([a.status, b.status]).toEqual([200, 200]);
      expectRpcError(await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) }), 429, -32000);
    } finally {
      a.close();
      b.close();
    }
    // Closed streams release their slots.
    await until(() => t.server.sessions.size === before);
    await initStreamable(port, key);
  });

  it('an SDK client over the capped key fails to connect instead of hanging', async () => {
    const key = await t.key({ name: 'capped-sdk' });
    await t.connect('http', key);
    await t.connect('sse', key);
    await expect(t.connect('http', key)).rejects.toThrow();
  });
});

describe('server-wide session cap (maxSessions: 2)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ serve: { limits: { maxSessions: 2 } } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('the third session on the server, from any key → 503 with Retry-After', async () => {
    const port = t.server.port;
    await initStreamable(port, await t.key({ name: 'one' }));
    const sse = await openLegacySse({ port, key: await t.key({ name: 'two' }) });
    try {
      const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(await t.key({ name: 'three' })), body: JSON.stringify(initializeRequest()) });
      expectRpcError(r, 503, -32000);
      expect(r.headers['retry-after']).toBe('30');
      const legacy = await openLegacySse({ port, key: await t.key({ name: 'four' }) });
      expect(legacy.status).toBe(503);
    } finally {
      sse.close();
    }
  });
});

describe('idle reaping of Streamable HTTP sessions', () => {
  let t: TestServer;
  let port: number;
  let key: string;
  useServerWithKey('idle', (s) => ({ t, port, key } = s));

  it('a fresh session is not reaped', async () => {
    const sid = await initStreamable(port, key);
    expect(t.server.sessions.reapIdle(Date.now())).toBe(0);
    expect((await streamablePost(port, key, sid, ping(1))).status).toBe(200);
  });

  it('a session idle for more than 30 minutes is closed; its id then gives 404', async () => {
    const sid = await initStreamable(port, key);
    const size = t.server.sessions.size;
    expect(t.server.sessions.reapIdle(Date.now() + 31 * 60_000)).toBeGreaterThanOrEqual(1);
    await until(() => t.server.sessions.size < size);
    expectRpcError(await streamablePost(port, key, sid, ping(2)), 404, -32001);
  });

  it('a session with an open GET stream is not idle; once the stream closes it is reaped', async () => {
    const sid = await initStreamable(port, key);
    const stream = await openStream({ port, path: '/api/v1/mcp', headers: { 'x-api-key': key, accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION } });
    expect(stream.status).toBe(200);
    expect(t.server.sessions.reapIdle(Date.now() + 31 * 60_000)).toBe(0);
    expect((await streamablePost(port, key, sid, ping(3))).status).toBe(200);
    stream.close();
    // The server notices the closed stream, then counts the idle time from there.
    await until(() => t.server.sessions.reapIdle(Date.now() + 31 * 60_000) === 1);
    expectRpcError(await streamablePost(port, key, sid, ping(4)), 404, -32001);
  });

  it('legacy sessions are not reaped while their stream is open', async () => {
    const sse = await openLegacySse({ port, key });
    try {
      expect(t.server.sessions.reapIdle(Date.now() + 31 * 60_000)).toBe(0);
      await initLegacy(port, sse, key);
    } finally {
      sse.close();
    }
  });
});

describe('keep-alive comments (keepAliveMs: 100)', () => {
  let t: TestServer;
  let port: number;
  let key: string;
  useServerWithKey('keepalive', (s) => ({ t, port, key } = s), { serve: { limits: { keepAliveMs: 100 } } });

  it('the legacy SSE stream sends ": keepalive" comment frames', async () => {
    const sse = await openLegacySse({ port, key });
    try {
      expect(sse.headers['x-accel-buffering']).toBe('no');
      await sse.waitFor(/(: keepalive\n\n[\s\S]*){2}/, 3_000);
      // Comment frames follow the endpoint event and never break the framing.
      expect(sse.text().startsWith('event: endpoint\n')).toBe(true);
      expect(sse.text()).not.toMatch(/: keepalive(?!\n\n)/);
    } finally {
      sse.close();
    }
  });

  it('the Streamable HTTP GET stream sends them too', async () => {
    const sid = await initStreamable(port, key);
    const stream = await openStream({ port, path: '/api/v1/mcp', headers: { 'x-api-key': key, accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION } });
    try {
      expect(stream.status).toBe(200);
      await stream.waitFor(': keepalive\n\n', 3_000);
    } finally {
      stream.close();
    }
  });

  it('keep-alives stop when the legacy stream closes (the session is gone)', async () => {
    const sse = await openLegacySse({ port, key });
    const size = t.server.sessions.size;
    sse.close();
    await until(() => t.server.sessions.size === size - 1);
    // Nothing left writing to a closed response: once another stream has had two keep-alives (its timer and any the
    // closed stream left behind have fired since), the server keeps serving.
    const witness = await openLegacySse({ port, key });
    try {
      await witness.waitFor(/(: keepalive\n\n[\s\S]*){2}/, 3_000);
    } finally {
      witness.close();
    }
    expect((await rawRequest({ port, path: '/healthz' })).status).toBe(200);
  });
});
