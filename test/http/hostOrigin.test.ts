// DNS-rebinding defence: the Host header (and any Origin) must name a loopback host, on every route, before anything else.
import { describe, expect, it } from 'vitest';
import { PASSPHRASE, type TestServer, useServerWithKey } from '../helpers/server.ts';
import { expectRpcError, initializeRequest, mcpHeaders, rawRequest, rawSocket, type RawResponse } from '../helpers/raw.ts';

let t: TestServer;
let port: number;
let key: string;
useServerWithKey('host-origin', (s) => ({ t, port, key } = s));

interface Route {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const SESSION = '11111111-2222-4333-8444-555555555555';
const ROUTES: Route[] = [
  { name: 'POST /api/v1/mcp', method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(undefined) as Record<string, string>, body: JSON.stringify(initializeRequest()) },
  { name: 'GET /api/v1/mcp', method: 'GET', path: '/api/v1/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': SESSION } },
  { name: 'DELETE /api/v1/mcp', method: 'DELETE', path: '/api/v1/mcp', headers: { 'mcp-session-id': SESSION } },
  { name: 'GET /api/v1/mcp/sse (legacy stream)', method: 'GET', path: '/api/v1/mcp/sse', headers: { accept: 'text/event-stream' } },
  { name: 'POST /api/v1/mcp/sse (seed URL)', method: 'POST', path: '/api/v1/mcp/sse', headers: mcpHeaders(undefined) as Record<string, string>, body: JSON.stringify(initializeRequest()) },
  { name: 'POST /api/v1/mcp/message', method: 'POST', path: `/api/v1/mcp/message?sessionId=${SESSION}`, headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' },
  { name: 'POST /console/api/login', method: 'POST', path: '/console/api/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ passphrase: 'not the passphrase' }) },
  { name: 'GET /console/api/approvals', method: 'GET', path: '/console/api/approvals' },
  { name: 'GET /healthz', method: 'GET', path: '/healthz' },
  { name: 'GET unknown path', method: 'GET', path: '/no/such/route' },
  { name: 'GET /.well-known/oauth-protected-resource', method: 'GET', path: '/.well-known/oauth-protected-resource' },
];

const send = (r: Route, headers: Record<string, string | undefined>): Promise<RawResponse> =>
  rawRequest({ port, method: r.method, path: r.path, headers: { ...r.headers, ...headers }, body: r.body });

const auditRows = (where = '') =>
  t.app.db.prepare(`SELECT * FROM audit_log WHERE event = 'http' AND decision = 'denied' AND code = 'HOST_ORIGIN_REJECTED' ${where} ORDER BY seq`).all() as Array<{
    rule: string; remote: string; outcome: string; detail_json: string;
  }>;

// First in the file: rejections are audited at most 60 a minute per source, and the tests below make dozens.
describe('rejections are audited', () => {
  it('a foreign Host is recorded as event http / denied / HOST_ORIGIN_REJECTED with host and path', async () => {
    const r = await rawRequest({ port, path: '/audit-probe-host', headers: { host: 'evil.example.com' } });
    expectRpcError(r, 403, -32000);
    const rows = auditRows(`AND detail_json LIKE '%audit-probe-host%'`);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.rule).toBe('dns_rebinding');
    expect(row.remote).toBe('127.0.0.1');
    expect(row.outcome).toContain("Host 'evil.example.com' is not allowed");
    expect(JSON.parse(row.detail_json)).toMatchObject({ host: 'evil.example.com', path: '/audit-probe-host' });
  });

  it('a foreign Origin and an opaque Origin are recorded too', async () => {
    expectRpcError(await rawRequest({ port, path: '/audit-probe-origin', headers: { origin: 'http://evil.example.com' } }), 403, -32000);
    expectRpcError(await rawRequest({ port, path: '/audit-probe-null', headers: { origin: 'null' } }), 403, -32000);
    const foreign = auditRows(`AND detail_json LIKE '%audit-probe-origin%'`);
    expect(foreign).toHaveLength(1);
    expect(JSON.parse(foreign[0]!.detail_json)).toMatchObject({ origin: 'http://evil.example.com', path: '/audit-probe-origin' });
    const opaque = auditRows(`AND detail_json LIKE '%audit-probe-null%'`);
    expect(opaque).toHaveLength(1);
    expect(opaque[0]!.outcome).toContain('opaque Origin');
  });

  it('a rejected request with a valid key is audited as a Host rejection, not as an authenticated call', async () => {
    const before = (t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth'`).get() as { n: number }).n;
    const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(key), host: 'evil.example.com' }, body: JSON.stringify(initializeRequest()) });
    expectRpcError(r, 403, -32000);
    expect(auditRows(`AND detail_json LIKE '%evil.example.com%' AND detail_json LIKE '%/api/v1/mcp"%'`).length).toBeGreaterThanOrEqual(1);
    expect((t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth'`).get() as { n: number }).n).toBe(before);
  });
});

describe.each(ROUTES)('$name', (route) => {
  it('foreign Host evil.example.com → 403', async () => {
    const e = expectRpcError(await send(route, { host: `evil.example.com:${port}` }), 403, -32000);
    expect(e.message).toContain('evil.example.com');
  });

  it('foreign Host 127.0.0.1.evil.com → 403', async () => {
    expectRpcError(await send(route, { host: `127.0.0.1.evil.com:${port}` }), 403, -32000);
    expectRpcError(await send(route, { host: '127.0.0.1.evil.com' }), 403, -32000);
  });

  it('foreign Origin with a good Host → 403', async () => {
    const e = expectRpcError(await send(route, { origin: 'http://evil.example.com' }), 403, -32000);
    expect(e.message).toContain('Origin');
    expectRpcError(await send(route, { origin: `http://localhost.evil.example.com:${port}` }), 403, -32000);
  });

  it('Origin: null → 403', async () => {
    const e = expectRpcError(await send(route, { origin: 'null' }), 403, -32000);
    expect(e.message).toContain('opaque Origin');
  });

  it.each(['localhost', '127.0.0.1', '[::1]'])('good Host %s:PORT is accepted (not 403)', async (h) => {
    const r = await send(route, { host: `${h}:${port}` });
    expect(r.status).not.toBe(403);
    expect(r.status).toBeLessThan(500);
    if (route.path === '/healthz') {
      expect(r.status).toBe(200);
      // An in-process app runs no integrity check (only serve and the desktop app do).
      expect(r.json).toEqual({ ok: true, integrity: { state: 'unchecked', detail: null, checkedAt: null }, policy: 'bound' });
    }
  });
});

describe('accepted forms', () => {
  it('a same-origin Origin (the console page) with a good Host is accepted', async () => {
    const r = await rawRequest({ port, path: '/healthz', headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } });
    expect(r.status).toBe(200);
  });

  it('Host without a port and Host in upper case are accepted', async () => {
    expect((await rawRequest({ port, path: '/healthz', headers: { host: 'localhost' } })).status).toBe(200);
    expect((await rawRequest({ port, path: '/healthz', headers: { host: `LOCALHOST:${port}` } })).status).toBe(200);
  });

  it('good Host with no key on an MCP route reaches auth (401, not 403)', async () => {
    const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(undefined), host: `[::1]:${port}` }, body: JSON.stringify(initializeRequest()) });
    expectRpcError(r, 401, -32001);
  });
});

describe('Host is checked before auth', () => {
  it.each([
    ['POST', '/api/v1/mcp'],
    ['GET', '/api/v1/mcp/sse'],
    ['POST', '/api/v1/mcp/sse'],
    ['POST', `/api/v1/mcp/message?sessionId=${SESSION}`],
  ])('a valid key with a foreign Host on %s %s → 403', async (method, path) => {
    const r = await rawRequest({
      port, method, path,
      headers: { ...mcpHeaders(key), accept: 'application/json, text/event-stream', host: 'evil.example.com' },
      body: method === 'POST' ? JSON.stringify(initializeRequest()) : undefined,
    });
    expectRpcError(r, 403, -32000);
  });

  it('a valid key with a good Host but a foreign Origin → 403', async () => {
    const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: { ...mcpHeaders(key), origin: 'https://evil.example.com' }, body: JSON.stringify(initializeRequest()) });
    expectRpcError(r, 403, -32000);
  });

  it('the right console passphrase with a foreign Host → 403 and no session cookie', async () => {
    const r = await rawRequest({ port, method: 'POST', path: '/console/api/login', headers: { 'content-type': 'application/json', host: 'evil.example.com' }, body: JSON.stringify({ passphrase: PASSPHRASE }) });
    expectRpcError(r, 403, -32000);
    expect(r.headers['set-cookie']).toBeUndefined();
  });
});

describe('missing and repeated headers (raw sockets)', () => {
  it('HTTP/1.0 without a Host header → 403 JSON-RPC', async () => {
    const out = await rawSocket(port, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
    expect(out).toContain('missing Host header');
  });

  it('HTTP/1.1 without a Host header is refused (400 from Node)', async () => {
    const out = await rawSocket(port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('a second, foreign Origin header → 403', async () => {
    const out = await rawSocket(port, `GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\nOrigin: http://localhost\r\nOrigin: http://evil.example.com\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('an absolute-form request target naming a foreign host does not bypass the Host check', async () => {
    const out = await rawSocket(port, `GET http://localhost:${port}/healthz HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 /);
  });
});
