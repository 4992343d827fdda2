// The web console API: passphrase login to an HttpOnly SameSite=Strict cookie, kept apart from MCP API keys.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSPHRASE, startTestServer, type TestServer } from '../helpers/server.ts';
import { expireNewestSession } from '../helpers/expireSession.ts';
import { expectRpcError, initializeRequest, mcpHeaders, rawRequest, type RawResponse } from '../helpers/raw.ts';

let t: TestServer;
let port: number;
let cookie: string; // "cs_console=<token>" of one logged-in session shared by the read-only tests

const json = { 'content-type': 'application/json' };
const login = (passphrase: string, headers: Record<string, string | undefined> = {}) =>
  rawRequest({ port, method: 'POST', path: '/console/api/login', headers: { ...json, ...headers }, body: JSON.stringify({ passphrase }) });
const cookieOf = (r: RawResponse) => {
  const set = r.headers['set-cookie'];
  expect(set, 'Set-Cookie').toBeDefined();
  return set!.find((c) => c.startsWith('cs_console='))!.split(';')[0]!;
};
const consoleAudit = (code: string | null, outcome: string | null) =>
  (t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'console' AND rule = 'console_login' AND code IS ? AND outcome IS ?`).get(code, outcome) as { n: number }).n;

beforeAll(async () => {
  t = await startTestServer();
  port = t.server.port;
  // Failed logins back off per address after 3: this file stays under that outside the limiter test's own server.
  cookie = cookieOf(await login(PASSPHRASE));
});
afterAll(async () => {
  await t.close();
});

describe('login', () => {
  it('a wrong passphrase → 401, no cookie, audited as BAD_PASSPHRASE', async () => {
    const before = consoleAudit('BAD_PASSPHRASE', null);
    const r = await login('wrong passphrase');
    const e = expectRpcError(r, 401, -32001);
    expect(e.message).toBe('Wrong passphrase');
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(consoleAudit('BAD_PASSPHRASE', null)).toBe(before + 1);
    const row = t.app.db.prepare(`SELECT * FROM audit_log WHERE event = 'console' AND code = 'BAD_PASSPHRASE' ORDER BY seq DESC LIMIT 1`).get() as { decision: string; remote: string; detail_json: string | null; args_json: string | null };
    expect(row.decision).toBe('denied');
    expect(row.remote).toBe('127.0.0.1');
    expect(JSON.stringify(row)).not.toContain('wrong passphrase');
  });

  it('the right passphrase → 200 with an HttpOnly, SameSite=Strict session cookie; audited', async () => {
    const before = consoleAudit(null, 'login');
    const r = await login(PASSPHRASE);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, expiresAt: expect.any(String) });
    const set = r.headers['set-cookie']!;
    expect(set).toHaveLength(2);
    expect(set[0]).toMatch(/^cs_console=[A-Za-z0-9_-]{43}; /);
    expect(set[0]).toContain('HttpOnly');
    expect(set[0]).toContain('SameSite=Strict');
    expect(set[0]).toContain('Path=/');
    // The device cookie (a browser that signed in here before) goes only to the login route.
    expect(set[1]).toMatch(/^cs_device=[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/console\/api\/login;/);
    expect(consoleAudit(null, 'login')).toBe(before + 1);
    expect(JSON.stringify(t.app.db.prepare(`SELECT * FROM audit_log WHERE event = 'console' ORDER BY seq DESC LIMIT 1`).get())).not.toContain(PASSPHRASE);
  });
});

describe('login body validation (its own server: failed logins back off per address)', () => {
  let v: TestServer;
  beforeAll(async () => {
    v = await startTestServer();
  });
  afterAll(async () => {
    await v.close();
  });

  it.each([
    ['an empty object', '{}'],
    ['an empty passphrase', '{"passphrase":""}'],
    ['a number', '{"passphrase":42}'],
    ['an extra field', `{"passphrase":"x","admin":true}`],
    ['invalid JSON', '{"passphrase":'],
  ])('a login body with %s → 400', async (_label, body) => {
    const r = await rawRequest({ port: v.server.port, method: 'POST', path: '/console/api/login', headers: json, body });
    expectRpcError(r, 400);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('after a few failed logins the next attempt waits: 429 with Retry-After (malformed bodies above cost nothing)', async () => {
    const statuses: number[] = [];
    let limited: RawResponse | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await rawRequest({ port: v.server.port, method: 'POST', path: '/console/api/login', headers: json, body: JSON.stringify({ passphrase: 'guess' }) });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(limited, statuses.join(',')).toBeDefined();
    expectRpcError(limited!, 429);
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Even the right passphrase waits now.
    const right = await rawRequest({ port: v.server.port, method: 'POST', path: '/console/api/login', headers: json, body: JSON.stringify({ passphrase: PASSPHRASE }) });
    expectRpcError(right, 429);
    expect(right.headers['set-cookie']).toBeUndefined();
  });
});

describe('session cookie', () => {
  it('without a cookie, /console/api/approvals → 401', async () => {
    const e = expectRpcError(await rawRequest({ port, path: '/console/api/approvals' }), 401, -32001);
    expect(e.message).toContain('Not logged in');
  });

  it('with a forged or unknown cookie → 401', async () => {
    for (const c of ['cs_console=forged', `cs_console=${'A'.repeat(43)}`, `cs_console=${'A'.repeat(500)}`, 'other=1']) {
      expectRpcError(await rawRequest({ port, path: '/console/api/approvals', headers: { cookie: c } }), 401, -32001);
    }
  });

  it('with the cookie → 200 with the approvals list and the session', async () => {
    const r = await rawRequest({ port, path: '/console/api/approvals', headers: { cookie } });
    expect(r.status).toBe(200);
    expect(Array.isArray(r.json.approvals)).toBe(true);
    const s = await rawRequest({ port, path: '/console/api/session', headers: { cookie: `theme=dark; ${cookie}` } });
    expect(s.status).toBe(200);
    expect(s.json).toMatchObject({ authenticated: true });
  });

  it('logout invalidates the cookie and clears it', async () => {
    const mine = cookieOf(await login(PASSPHRASE));
    expect((await rawRequest({ port, path: '/console/api/approvals', headers: { cookie: mine } })).status).toBe(200);
    const out = await rawRequest({ port, method: 'POST', path: '/console/api/logout', headers: { ...json, cookie: mine }, body: '{}' });
    expect(out.status).toBe(200);
    expect(out.headers['set-cookie']![0]).toMatch(/^cs_console=; .*Max-Age=0/);
    expectRpcError(await rawRequest({ port, path: '/console/api/approvals', headers: { cookie: mine } }), 401, -32001);
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/console/api/logout', headers: { ...json, cookie: mine }, body: '{}' }), 401, -32001);
    // Other sessions are untouched.
    expect((await rawRequest({ port, path: '/console/api/approvals', headers: { cookie } })).status).toBe(200);
  });

  it('an expired console session → 401', async () => {
    const mine = cookieOf(await login(PASSPHRASE));
    await t.app.store.write((tx) => expireNewestSession(tx.sql, t.app.secrets.hmacKey));
    expectRpcError(await rawRequest({ port, path: '/console/api/approvals', headers: { cookie: mine } }), 401, -32001);
  });
});

describe('MCP keys and console cookies do not cross over', () => {
  it('an MCP API key presented to the console API (X-API-Key) → 401, even with a valid cookie', async () => {
    const key = await t.key({ name: 'console-crossover' });
    const e = expectRpcError(await rawRequest({ port, path: '/console/api/approvals', headers: { 'x-api-key': key } }), 401, -32001);
    expect(e.message).toContain('does not accept MCP API keys');
    expectRpcError(await rawRequest({ port, path: '/console/api/approvals', headers: { 'x-api-key': key, cookie } }), 401, -32001);
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/console/api/login', headers: { ...json, 'x-api-key': key }, body: JSON.stringify({ passphrase: PASSPHRASE }) }), 401, -32001);
  });

  it('the console cookie presented to MCP routes without X-API-Key → 401', async () => {
    const init = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(undefined), cookie }, body: JSON.stringify(initializeRequest()) });
    expect(expectRpcError(init, 401, -32001).message).toContain('missing X-API-Key');
    expectRpcError(await rawRequest({ port, path: '/api/v1/mcp/sse', headers: { accept: 'text/event-stream', cookie } }), 401, -32001);
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/api/v1/mcp/message?sessionId=x', headers: { ...json, cookie }, body: '{}' }), 401, -32001);
  });

  it('the console token presented as an X-API-Key → 401', async () => {
    const token = cookie.split('=')[1]!;
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(token), body: JSON.stringify(initializeRequest()) }), 401, -32001);
  });
});

describe('cross-site defences', () => {
  it.each([
    ['no Content-Type', undefined],
    ['text/plain', 'text/plain'],
    ['a form post', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
  ])('POST with %s → 415', async (_label, ct) => {
    for (const path of ['/console/api/login', '/console/api/logout', `/console/api/approvals/${randomUUID()}/approve`, `/console/api/approvals/${randomUUID()}/deny`]) {
      const r = await rawRequest({ port, method: 'POST', path, headers: { 'content-type': ct, cookie }, body: JSON.stringify({ passphrase: PASSPHRASE }) });
      expectRpcError(r, 415);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
  });

  it('a cross-site Origin → 403 even with a valid cookie', async () => {
    for (const origin of ['https://evil.example.com', 'null']) {
      expectRpcError(await rawRequest({ port, path: '/console/api/approvals', headers: { cookie, origin } }), 403, -32000);
      expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${randomUUID()}/approve`, headers: { ...json, cookie, origin }, body: '{}' }), 403, -32000);
    }
    const r = await login(PASSPHRASE, { origin: 'https://evil.example.com' });
    expectRpcError(r, 403, -32000);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('the console page\'s own Origin is accepted', async () => {
    const r = await rawRequest({ port, path: '/console/api/approvals', headers: { cookie, host: `localhost:${port}`, origin: `http://localhost:${port}` } });
    expect(r.status).toBe(200);
  });
});

describe('approvals', () => {
  it('GET /console/api/approvals?status=bogus → 400', async () => {
    const e = expectRpcError(await rawRequest({ port, path: '/console/api/approvals?status=bogus', headers: { cookie } }), 400);
    expect(e.message).toContain('status');
  });

  it.each(['limit=0', 'limit=501', 'limit=abc', 'status=pending,bogus'])('GET /console/api/approvals?%s → 400', async (q) => {
    expectRpcError(await rawRequest({ port, path: `/console/api/approvals?${q}`, headers: { cookie } }), 400);
  });

  it('valid filters → 200', async () => {
    const r = await rawRequest({ port, path: '/console/api/approvals?status=pending,approved&limit=5', headers: { cookie } });
    expect(r.status).toBe(200);
    expect(r.json.approvals.length).toBeLessThanOrEqual(5);
  });

  it('approve of a nonexistent uuid → 404', async () => {
    const id = randomUUID();
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${id}/approve`, headers: { ...json, cookie }, body: '{}' }), 404);
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${id}/approve`, headers: { ...json, cookie } }), 404);
  });

  it('deny of a nonexistent uuid → 404', async () => {
    const r = await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${randomUUID()}/deny`, headers: { ...json, cookie }, body: JSON.stringify({ reason: 'no' }) });
    expectRpcError(r, 404);
  });

  it('GET of a nonexistent uuid, or a malformed id → 404', async () => {
    expectRpcError(await rawRequest({ port, path: `/console/api/approvals/${randomUUID()}`, headers: { cookie } }), 404);
    expectRpcError(await rawRequest({ port, path: '/console/api/approvals/not-an-id', headers: { cookie } }), 404);
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/console/api/approvals/..%2F..%2Fetc/approve', headers: { ...json, cookie }, body: '{}' }), 404);
  });

  it('deny without a reason, and approve with a body, → 400', async () => {
    const id = randomUUID();
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${id}/deny`, headers: { ...json, cookie }, body: '{}' }), 400);
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${id}/deny`, headers: { ...json, cookie }, body: JSON.stringify({ reason: '   ' }) }), 400);
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${id}/approve`, headers: { ...json, cookie }, body: JSON.stringify({ by: 'me' }) }), 400);
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${id}/deny`, headers: { ...json, cookie }, body: '{"reason":' }), 400, -32700);
  });

  it('approve and deny require the cookie', async () => {
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${randomUUID()}/approve`, headers: json, body: '{}' }), 401, -32001);
    expectRpcError(await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${randomUUID()}/deny`, headers: json, body: '{"reason":"x"}' }), 401, -32001);
  });

  it('an unknown console path → 404 once logged in', async () => {
    expectRpcError(await rawRequest({ port, path: '/console/api/nope', headers: { cookie } }), 404);
  });
});
