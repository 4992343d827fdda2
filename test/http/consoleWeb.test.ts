// The web adapter of the console contract: every method at POST /console/api/rpc/<method>, server push at
// GET /console/api/events (SSE), and the built renderer at / with path containment and a strict CSP.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_METHOD_NAMES } from '../../src-main/console/contract.ts';
import { PASSPHRASE, startTestServer, type TestServer } from '../helpers/server.ts';
import { expireNewestSession } from '../helpers/expireSession.ts';
import { until } from '../helpers/wait.ts';
import { expectRpcError, openStream, parseSse, rawRequest } from '../helpers/raw.ts';

let t: TestServer;
let port: number;
let cookie: string;
let renderer: string;
const json = { 'content-type': 'application/json' };

const rpc = (method: string, body: unknown = {}, headers: Record<string, string | undefined> = {}) =>
  rawRequest({ port, method: 'POST', path: `/console/api/rpc/${method}`, headers: { ...json, cookie, ...headers }, body: JSON.stringify(body) });
async function login(): Promise<string> {
  const r = await rawRequest({ port, method: 'POST', path: '/console/api/login', headers: json, body: JSON.stringify({ passphrase: PASSPHRASE }) });
  expect(r.status).toBe(200);
  return r.headers['set-cookie']![0]!.split(';')[0]!;
}
const windowsDevices = () => t.app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND d.os = 'windows' ORDER BY d.hostname`).all() as { id: string }[];

beforeAll(async () => {
  renderer = mkdtempSync(join(tmpdir(), 'cs-renderer-'));
  mkdirSync(join(renderer, 'assets'));
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Countersign</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log("console")');
  writeFileSync(join(renderer, 'assets', 'style.css'), 'body{}');
  writeFileSync(join(renderer, '.secret'), 'hidden');
  writeFileSync(join(renderer, 'notes.unknownext'), 'x');
  const outside = mkdtempSync(join(tmpdir(), 'cs-outside-'));
  writeFileSync(join(outside, 'leak.js'), 'leak');
  symlinkSync(join(outside, 'leak.js'), join(renderer, 'assets', 'link.js'));
  t = await startTestServer({ serve: { rendererDir: renderer, console: { keepAliveMs: 100 } } });
  port = t.server.port;
  cookie = await login();
});
afterAll(async () => {
  await t.close();
});

describe('POST /console/api/rpc/<method>', () => {
  it('every contract method is reachable (400 on bad input rather than 404)', async () => {
    for (const m of CONSOLE_METHOD_NAMES) {
      const r = await rpc(m, { definitelyNotAField: true });
      expect(r.status, m).toBe(400);
      expect(r.json.error.data.code, m).toBe('BAD_INPUT');
    }
  });

  it('session in web mode: expiry of the cookie session and the MCP base URL', async () => {
    const r = await rpc('session');
    expect(r.status).toBe(200);
    expect(r.json.result).toMatchObject({ mode: 'web', expiresAt: expect.any(String), mcpBaseUrl: t.url, pendingApprovals: expect.any(Number) });
    // No body at all is the same as {} for a method without input.
    const empty = await rawRequest({ port, method: 'POST', path: '/console/api/rpc/session', headers: { ...json, cookie } });
    expect(empty.status).toBe(200);
  });

  it('needs the cookie, refuses MCP keys, foreign origins, non-JSON bodies, unknown and prototype method names, GET', async () => {
    expectRpcError(await rpc('session', {}, { cookie: undefined }), 401, -32001);
    expectRpcError(await rpc('session', {}, { 'x-api-key': await t.key() }), 401, -32001);
    expectRpcError(await rpc('session', {}, { origin: 'https://evil.example.com' }), 403, -32000);
    expectRpcError(await rpc('session', {}, { host: 'evil.example.com' }), 403, -32000);
    for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded']) expectRpcError(await rpc('listKeys', {}, { 'content-type': ct }), 415);
    for (const m of ['nope', 'constructor', '__proto__', 'toString', 'subscribe']) expectRpcError(await rpc(m), 404);
    expectRpcError(await rawRequest({ port, path: '/console/api/rpc/session', headers: { cookie } }), 404);
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/console/api/rpc/session', headers: { ...json, cookie }, body: '{"x":' }), 400, -32700);
    expectRpcError(await rawRequest({ port, method: 'POST', path: '/console/api/rpc/createKey', headers: { ...json, cookie }, body: JSON.stringify({ name: 'x'.repeat(70_000) }) }), 413);
  });

  it('errors carry the contract code: NOT_FOUND, CONFLICT, PINNED-free updates, BAD_INPUT with the field', async () => {
    const missing = await rpc('getApproval', { id: '00000000-0000-4000-8000-000000000000' });
    expectRpcError(missing, 404);
    expect(missing.json.error.data).toMatchObject({ code: 'NOT_FOUND', message: missing.json.error.message });
    const bad = await rpc('createKey', { name: 'k', scopes: ['ai:root'], tenants: ['acme-dental'] });
    expect(expectRpcError(bad, 400, -32602).message).toContain('scopes');
  });

  it('approve and deny through rpc; the REST routes stay as they were', async () => {
    const key = await t.key();
    const c = await t.connect('http', key);
    const [a, b] = windowsDevices();
    const p = (await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [a!.id] } })).structuredContent as { approvalId: string };
    const listed = await rpc('listApprovals', { status: ['pending'] });
    expect(listed.json.result.approvals.map((x: { id: string }) => x.id)).toContain(p.approvalId);
    const ok = await rpc('approve', { id: p.approvalId });
    expect(ok.json.result.approval).toMatchObject({ id: p.approvalId, status: 'running', decidedBy: 'console-admin' });
    const again = await rpc('approve', { id: p.approvalId });
    expectRpcError(again, 409);
    expect(again.json.error.data).toMatchObject({ code: 'CONFLICT', message: again.json.error.message });
    const q = (await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [b!.id] } })).structuredContent as { approvalId: string };
    const rest = await rawRequest({ port, method: 'POST', path: `/console/api/approvals/${q.approvalId}/deny`, headers: { ...json, cookie }, body: JSON.stringify({ reason: 'not now' }) });
    expect(rest.status).toBe(200);
    expect(rest.json.approval.status).toBe('denied');
  });
});

describe('GET /console/api/events (SSE)', () => {
  it('needs the cookie and refuses MCP keys and foreign hosts', async () => {
    expectRpcError(await rawRequest({ port, path: '/console/api/events' }), 401, -32001);
    expectRpcError(await rawRequest({ port, path: '/console/api/events', headers: { cookie, 'x-api-key': await t.key() } }), 401, -32001);
    expectRpcError(await rawRequest({ port, path: '/console/api/events', headers: { cookie, host: 'evil.example.com' } }), 403, -32000);
    expectRpcError(await rawRequest({ port, path: '/console/api/events', headers: { cookie, origin: 'http://evil.example.com' } }), 403, -32000);
  });

  it('streams calls and approvals as they happen, with keep-alive comments', async () => {
    const s = await openStream({ port, path: '/console/api/events', headers: { cookie, accept: 'text/event-stream' } });
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(s.headers['cache-control']).toBe('no-store');
    await s.waitFor(': keep-alive');
    const c = await t.connect('sse', await t.key({ name: 'sse-watch' }));
    const [, , d] = windowsDevices();
    const p = (await c.callTool({ name: 'device_actions', arguments: { action: 'isolate', deviceIds: [d!.id] } })).structuredContent as { approvalId: string };
    await s.waitFor(p.approvalId);
    await s.waitFor('"type":"approval.created"');
    const frames = parseSse(s.text()).filter((f) => f.event === 'message').map((f) => JSON.parse(f.data));
    expect(frames.find((f) => f.type === 'call' && f.call.approvalId === p.approvalId)).toMatchObject({ call: { keyName: 'sse-watch', decision: 'pending', tier: 3 } });
    expect(frames.find((f) => f.type === 'approval.created')).toMatchObject({ approval: { id: p.approvalId, view: { deviceCount: 1 } } });
    await rpc('deny', { id: p.approvalId, reason: 'no' });
    await s.waitFor('"type":"approval.decided"');
    s.close();
  });

  it('logout ends the stream with session-ended; so does expiry, at the next keep-alive', async () => {
    const mine = await login();
    const s = await openStream({ port, path: '/console/api/events', headers: { cookie: mine } });
    expect(s.status).toBe(200);
    const out = await rawRequest({ port, method: 'POST', path: '/console/api/logout', headers: { ...json, cookie: mine }, body: '{}' });
    expect(out.status).toBe(200);
    await s.ended;
    expect(parseSse(s.text()).find((f) => f.event === 'session-ended')?.data).toBe('{"reason":"logged out"}');

    const other = await login();
    const s2 = await openStream({ port, path: '/console/api/events', headers: { cookie: other } });
    await t.app.store.write((tx) => expireNewestSession(tx.sql, t.app.secrets.hmacKey));
    await s2.ended;
    expect(parseSse(s2.text()).find((f) => f.event === 'session-ended')?.data).toBe('{"reason":"session expired"}');
  });

  it('at most 8 streams a session and 64 in all (429): one session cannot take every place', async () => {
    const accountListeners = () => t.app.technicians.events.listenerCount('changed');
    const before = accountListeners();
    const open = await Promise.all(Array.from({ length: 8 }, () => openStream({ port, path: '/console/api/events', headers: { cookie } })));
    expect(open.every((s) => s.status === 200)).toBe(true);
    const ninth = await rawRequest({ port, path: '/console/api/events', headers: { cookie } });
    expectRpcError(ninth, 429);
    expect(ninth.body).toContain('for this session');
    // Other sessions still open theirs, up to 64 streams in all.
    const others: string[] = [];
    for (let i = 0; i < 7; i++) others.push(await login()); // one at a time: a source signs in once at a time
    const more = (await Promise.all(others.map((c) => Promise.all(Array.from({ length: 8 }, () => openStream({ port, path: '/console/api/events', headers: { cookie: c } })))))).flat();
    expect(more.every((s) => s.status === 200)).toBe(true);
    expectRpcError(await rawRequest({ port, path: '/console/api/events', headers: { cookie: await login() } }), 429);
    // 64 streams follow account changes through one listener (ten or more warned of a leak), gone with the last stream.
    expect(accountListeners()).toBe(before + 1);
    for (const s of [...open, ...more]) s.close();
    await Promise.all([...open, ...more].map((s) => s.ended));
    await until('the last stream\'s listener is gone', () => accountListeners() === before);
  });

  it('a stream whose client left while its session was read opens nothing (it held a place until the session ended)', async () => {
    const { ConsoleApi } = await import('../../src-main/http/consoleApi.ts');
    const { createConsoleService } = await import('../../src-main/console/service.ts');
    const { PassThrough } = await import('node:stream');
    const api = new ConsoleApi(t.app, {});
    const streams = (api as unknown as { streams: Set<unknown> }).streams;
    const events = (api as unknown as { events: (req: unknown, res: unknown, tokenHash: string, service: unknown, rights: string) => void }).events.bind(api);
    const response = () => Object.assign(new PassThrough(), { writeHead: () => undefined, destroyed: false });
    const gone = new PassThrough();
    gone.destroy();
    events({ socket: gone, headers: {} }, response(), 'a'.repeat(64), createConsoleService(t.app), '');
    expect(streams.size).toBe(0);
    // The control: the same with the connection open opens one, and its close ends it.
    const res = response();
    events({ socket: new PassThrough(), headers: {} }, res, 'a'.repeat(64), createConsoleService(t.app), '');
    expect(streams.size).toBe(1);
    res.emit('close');
    expect(streams.size).toBe(0);
  });
});

describe('the renderer at /', () => {
  it('serves index.html and assets with their types, a strict CSP, DENY framing and no referrer', async () => {
    const r = await rawRequest({ port, path: '/' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('<title>Countersign</title>');
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect((await rawRequest({ port, path: '/assets/app.js' })).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await rawRequest({ port, path: '/assets/style.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await rawRequest({ port, method: 'HEAD', path: '/' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it.each([
    '/../package.json', '/..%2f..%2fpackage.json', '/assets/..%2f..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/%5c..%5cindex.html',
    '/.secret', '/assets/link.js', '/notes.unknownext', '/assets', '/nope.js', '/index.html%00.js',
  ])('%s → 404', async (path) => {
    const r = await rawRequest({ port, path });
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('hidden');
    expect(r.body).not.toContain('leak');
  });

  it('a malformed escape → 400; POST / → 404; a foreign Host → 403; /api/* is never a file', async () => {
    expect((await rawRequest({ port, path: '/%E0%A4%A' })).status).toBe(400);
    expect((await rawRequest({ port, method: 'POST', path: '/', headers: json, body: '{}' })).status).toBe(404);
    expectRpcError(await rawRequest({ port, path: '/', headers: { host: 'evil.example.com' } }), 403, -32000);
    expect((await rawRequest({ port, path: '/api/v1/index.html' })).status).toBe(404);
  });

  it('without a build, / answers 503 with a one-line hint to run npm run build', async () => {
    rmSync(join(renderer, 'index.html'));
    try {
      const r = await rawRequest({ port, path: '/' });
      expect(r.status).toBe(503);
      expect(r.body.trim().split('\n')).toHaveLength(1);
      expect(r.body).toContain('npm run build');
      expect((await rawRequest({ port, path: '/assets/app.js' })).status).toBe(404);
    } finally {
      writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Countersign</title>');
    }
  });
});
