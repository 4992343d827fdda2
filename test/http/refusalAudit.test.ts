// Every refusal leaves an audit entry: the HTTP layer's (another key's session, 413, 415, 400, 405, 429), MCP session open and
// close, console login failures and throttles. A flood of them is counted, not stored one by one. The login limiter
// slows a guesser without locking out the technician.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type AuditRow } from '../../src-main/audit/log.ts';
import { PASSPHRASE, startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { expectRpcError, initializeRequest, initStreamable, mcpHeaders, rawRequest, type RawResponse } from '../helpers/raw.ts';
import { budget, until } from '../helpers/wait.ts';

/** A source's refusals a minute stored in full (README, audit/flood.ts). */
const FULL_REFUSALS_PER_MINUTE = 20;
let t: TestServer;
let port: number;
const json = { 'content-type': 'application/json' };
const rowsAfter = (seq: number, where = '1') => t.app.db.prepare(`SELECT * FROM audit_log WHERE seq > ? AND ${where} ORDER BY seq`).all(seq) as AuditRow[];
const head = () => (t.app.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM audit_log').get() as { n: number }).n;

beforeAll(async () => {
  // The login waits are windows the next attempts must fall into (a guesser's, then the technician's): scaled to this
  // machine, so that a slow moment between two requests does not let a wait run out early.
  const loginBackoff = { freeFailures: 2, baseMs: budget(400), maxMs: budget(2_000) };
  t = await startTestServer({ serve: { limits: { maxBodyBytes: 2048 }, console: { loginBackoff } } });
  port = t.server.port;
});
afterAll(async () => {
  await t.close();
});

describe('HTTP-layer refusals are audited', () => {
  it('another key\'s session id → 404, with the key that tried it and the id it used', async () => {
    const owner = await t.key({ name: 'owner' });
    const intruder = await t.key({ name: 'intruder' });
    const sid = await initStreamable(port, owner);
    const before = head();
    const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(intruder, sid), body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expectRpcError(r, 404);
    const [row] = rowsAfter(before, `code = 'HTTP_404'`);
    expect(row).toMatchObject({ event: 'http', decision: 'denied', key_name: 'intruder', session_id: sid, remote: '127.0.0.1' });
  });

  it.each([
    ['413: a body over the cap', { 'content-type': 'application/json' }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4096) } }), 413],
    ['415: not JSON', { 'content-type': 'text/plain' }, 'hello', 415],
    ['400: not a JSON-RPC message', { 'content-type': 'application/json' }, '{"foo":1}', 400],
  ] as const)('%s', async (_label, headers, body, status) => {
    const key = await t.key({ name: `refused-${status}` });
    const before = head();
    const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(key), ...headers }, body });
    expect(r.status).toBe(status);
    const rows = rowsAfter(before, `code = 'HTTP_${status}'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'http', decision: 'denied', key_name: `refused-${status}` });
    expect(JSON.parse(rows[0]!.detail_json!)).toMatchObject({ method: 'POST', path: '/api/v1/mcp' });
  });

  it('a 404 for a path that is no route (an OAuth discovery probe) is not a refusal and writes nothing', async () => {
    const before = head();
    expect((await rawRequest({ port, path: '/.well-known/oauth-protected-resource' })).status).toBe(404);
    expect(rowsAfter(before)).toEqual([]);
  });
});

describe('405 and 429 are audited (a server of their own: one request a second per key, one session per key)', () => {
  let u: TestServer;
  const after = (seq: number, where: string) => u.app.db.prepare(`SELECT * FROM audit_log WHERE seq > ? AND ${where} ORDER BY seq`).all(seq) as AuditRow[];
  const top = () => (u.app.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM audit_log').get() as { n: number }).n;
  beforeAll(async () => {
    u = await startTestServer({ env: { COUNTERSIGN_HTTP_RPS: '1' }, serve: { limits: { maxSessionsPerKey: 1 } } });
  });
  afterAll(async () => {
    await u?.close();
  });

  it('405: a GET on the legacy message path (before any key is read), and a PUT on the Streamable HTTP path (with the key)', async () => {
    const before = top();
    const get = await rawRequest({ port: u.server.port, method: 'GET', path: '/api/v1/mcp/message?sessionId=abc' });
    expect(get.status).toBe(405);
    const key = await u.key({ name: 'put-405' });
    const put = await rawRequest({ port: u.server.port, method: 'PUT', path: '/api/v1/mcp', headers: mcpHeaders(key), body: '{}' });
    expect(put.status).toBe(405);
    const rows = after(before, `code = 'HTTP_405'`);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ event: 'http', decision: 'denied', key_name: null, session_id: 'abc', remote: '127.0.0.1' });
    expect(JSON.parse(rows[0]!.detail_json!)).toMatchObject({ method: 'GET', path: '/api/v1/mcp/message' });
    expect(rows[1]).toMatchObject({ event: 'http', decision: 'denied', key_name: 'put-405' });
    expect(JSON.parse(rows[1]!.detail_json!)).toMatchObject({ method: 'PUT', path: '/api/v1/mcp' });
  });

  it('429: a key over its sessions, with the key and the limit', async () => {
    const key = await u.key({ name: 'sessions-429' });
    await initStreamable(u.server.port, key);
    const before = top();
    const r = await rawRequest({ port: u.server.port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) });
    expect(r.status).toBe(429);
    const [row, ...more] = after(before, `code = 'HTTP_429'`);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ event: 'http', decision: 'throttled', key_name: 'sessions-429', outcome: expect.stringContaining('limit 1') });
  });

  it('429: a key over its requests a second (a minute\'s allowance spent at once), throttled with the key', async () => {
    const key = await u.key({ name: 'rps-429' });
    const before = top();
    let status = 0;
    let sent = 0;
    // 60 requests a minute pass (each a refused 400, cheap); the next is over the allowance.
    while (status !== 429 && sent < 200) {
      status = (await rawRequest({ port: u.server.port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: '{"foo":1}' })).status;
      sent++;
    }
    expect(status).toBe(429);
    expect(sent).toBeGreaterThan(60);
    const rows = after(before, `code = 'HTTP_RATE_LIMITED'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'http', decision: 'throttled', rule: 'http_rate', key_name: 'rps-429' });
  });

  it('429: an address over its failed API-key attempts; the throttled attempts are recorded as throttled', async () => {
    const before = top();
    let status = 0;
    let sent = 0;
    while (status !== 429 && sent < 200) {
      status = (await rawRequest({ port: u.server.port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders('csk_not_a_real_key_at_all_0000000000'), body: '{}' })).status;
      sent++;
    }
    expect(status).toBe(429);
    const rows = after(before, `event = 'auth'`);
    expect(rows.at(-1)).toMatchObject({ decision: 'throttled', code: 'KEY_THROTTLED', remote: '127.0.0.1' });
  });
});

describe('MCP sessions are audited when they open and close', () => {
  it.each(TRANSPORTS)('over %s: opened with the key and client, closed with why', async (kind) => {
    const before = head();
    const c = await t.connect(kind, await t.key({ name: `session-${kind}` }));
    const opened = await until('the open entry', () => rowsAfter(before, `event = 'session' AND outcome = 'mcp session opened'`)[0]);
    expect(opened).toMatchObject({ key_name: `session-${kind}`, decision: 'info', remote: '127.0.0.1' });
    expect(opened.session_id).toBeTruthy();
    if (kind === 'http') expect(opened.client).toBe('countersign-test 1.0.0');
    // The SDK's streamable client ends its session with DELETE only when asked to; closing the SSE client ends the stream.
    if (kind === 'http') await (c.transport as StreamableHTTPClientTransport).terminateSession();
    await c.close();
    const closed = await until('the close entry', () => rowsAfter(before, `event = 'session' AND outcome = 'mcp session closed'`)[0]);
    expect(closed.session_id).toBe(opened.session_id);
    expect(JSON.parse(closed.detail_json!)).toMatchObject({ transport: kind === 'sse' ? 'sse' : 'streamable-http', ending: kind === 'sse' ? 'stream closed' : 'DELETE' });
  });
});

describe('a flood of refusals is counted, not stored one by one', () => {
  it('300 malformed requests of one key: the allowance in full, the rest as one counted entry per cause and minute', async () => {
    const key = await t.key({ name: 'flood' });
    const before = head();
    const bodies = ['{"foo":1}', 'not json at all', '[]'];
    for (let i = 0; i < 300; i++) {
      const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: bodies[i % bodies.length] });
      expect(r.status).toBe(400);
    }
    await t.app.store.audit.flushFloods(true);
    const rows = rowsAfter(before, `key_name = 'flood'`);
    const counted = rows.filter((r) => r.detail_json?.includes('"aggregated":true'));
    const full = rows.length - counted.length;
    expect(full).toBeLessThanOrEqual(FULL_REFUSALS_PER_MINUTE * 2 + 1);
    expect(full + counted.reduce((n, r) => n + JSON.parse(r.detail_json!).count, 0), 'every refusal accounted for').toBe(300);
    expect(await t.app.store.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('console login: failures and throttles are audited; the technician is never locked out', () => {
  const login = (passphrase: string, cookie?: string) =>
    rawRequest({ port, method: 'POST', path: '/console/api/login', headers: { ...json, cookie }, body: JSON.stringify({ passphrase }) });
  const deviceCookie = (r: RawResponse) => r.headers['set-cookie']?.find((c) => c.startsWith('cs_device='))?.split(';')[0];

  it('successful logins never count against the limit (a technician opening many tabs)', async () => {
    for (let i = 0; i < 15; i++) expect((await login(PASSPHRASE)).status, `login ${i + 1}`).toBe(200);
  });

  it('a guesser waits longer after each failure; each throttle is audited; after the wait the right passphrase gets in', async () => {
    const before = head();
    const statuses: number[] = [];
    let throttled: RawResponse | undefined;
    for (let i = 0; i < 6 && !throttled; i++) {
      const r = await login(`guess ${i}`);
      statuses.push(r.status);
      if (r.status === 429) throttled = r;
    }
    expect(statuses.slice(0, 3), statuses.join(',')).toEqual([401, 401, 401]);
    expect(throttled, statuses.join(',')).toBeDefined();
    expect(Number(throttled!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(rowsAfter(before, `code = 'BAD_PASSPHRASE'`)).toHaveLength(3);
    const [limit] = rowsAfter(before, `code = 'LOGIN_THROTTLED'`);
    expect(limit).toMatchObject({ event: 'console', decision: 'throttled', remote: '127.0.0.1' });
    // Waiting is enough: attempts refused during the wait cost nothing, and the right passphrase then passes.
    const ok = await until('the right passphrase after the wait', async () => (await login(PASSPHRASE)).status === 200, 10_000, 100);
    expect(ok).toBe(true);
  });

  it('a browser that signed in before is not held back by a guesser on the same address', async () => {
    const first = await login(PASSPHRASE);
    const device = deviceCookie(first);
    expect(device).toMatch(/^cs_device=/);
    for (let i = 0; i < 4; i++) await login(`guesser ${i}`);
    expect((await login('guesser again')).status, 'the guesser waits').toBe(429);
    const r = await login(PASSPHRASE, device);
    expect(r.status).toBe(200);
    // A forged device cookie is no way around the wait.
    expect((await login(PASSPHRASE, 'cs_device=AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(429);
  });
});
