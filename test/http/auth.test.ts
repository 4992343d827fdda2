// X-API-Key authentication on every MCP entry point, its audit trail, OAuth-probe 404s and the failed-key limiter.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openApp } from '../../src-main/app.ts';
import { expectRpcError, initializeRequest, initStreamable, mcpHeaders, openLegacySse, rawRequest, streamablePost, type RawResponse } from '../helpers/raw.ts';
import { changeKeyRow } from '../helpers/keyRow.ts';

let t: TestServer;
let port: number;
const keys: Record<string, string | undefined> = {};

beforeAll(async () => {
  t = await startTestServer();
  port = t.server.port;
  keys.missing = undefined;
  keys.malformed = 'not-a-countersign-key';
  keys.unknown = `csk_${randomBytes(24).toString('base64url')}`;
  keys.revoked = await t.key({ name: 'to-be-revoked' });
  const revokedId = (await t.app.keys.list()).find((k) => k.name === 'to-be-revoked')!.id;
  await t.app.keys.revoke(revokedId);
  keys.expired = await t.key({ name: 'to-be-expired', expiresDays: 1 });
  const expiredId = (await t.app.keys.list()).find((k) => k.name === 'to-be-expired')!.id;
  await changeKeyRow(t.app, expiredId, 'UPDATE api_keys SET expires_at = ? WHERE id = ?', [new Date(Date.now() - 60_000).toISOString(), expiredId]);
});
afterAll(async () => {
  await t.close();
});

const SESSION = '11111111-2222-4333-8444-555555555555';
type Entry = { name: string; send: (key: string | undefined) => Promise<RawResponse> };
const ENTRIES: Entry[] = [
  {
    name: 'Streamable HTTP POST /api/v1/mcp',
    send: (key) => rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) }),
  },
  {
    name: 'Streamable HTTP GET /api/v1/mcp',
    send: (key) => rawRequest({ port, method: 'GET', path: '/api/v1/mcp', headers: { accept: 'text/event-stream', 'mcp-session-id': SESSION, 'x-api-key': key } }),
  },
  {
    name: 'Streamable HTTP on the seed URL POST /api/v1/mcp/sse',
    send: (key) => rawRequest({ port, method: 'POST', path: '/api/v1/mcp/sse', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) }),
  },
  {
    name: 'legacy SSE GET /api/v1/mcp/sse',
    send: async (key) => {
      const s = await openLegacySse({ port, key });
      if (s.status === 200) s.close();
      return { status: s.status, headers: s.headers, body: s.body, json: s.json, ms: 0 };
    },
  },
  {
    name: 'legacy POST /api/v1/mcp/message',
    send: (key) => rawRequest({ port, method: 'POST', path: `/api/v1/mcp/message?sessionId=${SESSION}`, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }),
  },
];

const REASONS = [
  ['missing', 'missing X-API-Key header'],
  ['malformed', 'malformed API key'],
  ['unknown', 'invalid API key'],
  ['revoked', 'API key revoked'],
  ['expired', 'API key expired'],
] as const;

const authRows = (code: string, path: string) =>
  t.app.db.prepare(`SELECT * FROM audit_log WHERE event = 'auth' AND decision = 'denied' AND code = ? AND detail_json LIKE ? ORDER BY seq`).all(code, `%"${path}"%`) as Array<{
    rule: string; key_id: string | null; key_name: string | null; remote: string;
  }>;

describe.each(ENTRIES)('$name', (entry) => {
  it.each(REASONS)('%s key → 401 JSON-RPC, audited', async (reason, message) => {
    const r = await entry.send(keys[reason]);
    const e = expectRpcError(r, 401, -32001);
    expect(e.message).toBe(`Unauthorized: ${message}`);
    expect(r.headers['mcp-session-id']).toBeUndefined();
  });
});

describe('audit of failed authentication', () => {
  it.each(REASONS)('%s key is recorded as event auth / denied / KEY_<REASON> with the path', async (reason) => {
    const path = `/api/v1/mcp`;
    const code = `KEY_${reason.toUpperCase()}`;
    const before = authRows(code, path).length;
    expectRpcError(await ENTRIES[0]!.send(keys[reason]), 401, -32001);
    const rows = authRows(code, path);
    expect(rows.length).toBe(before + 1);
    const row = rows.at(-1)!;
    expect(row.rule).toBe('api_key');
    expect(row.remote).toBe('127.0.0.1');
    if (reason === 'revoked' || reason === 'expired') {
      expect(row.key_id).toBe((await t.app.keys.list()).find((k) => k.name === `to-be-${reason}`)!.id);
      expect(row.key_name).toBe(`to-be-${reason}`);
    } else {
      expect(row.key_id).toBeNull();
    }
  });

  it('the presented secret is never written to the audit log', async () => {
    const secret = `csk_${randomBytes(24).toString('base64url')}`;
    expectRpcError(await ENTRIES[0]!.send(secret), 401, -32001);
    const hits = t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE detail_json LIKE ? OR args_json LIKE ? OR outcome LIKE ?`).get(`%${secret}%`, `%${secret}%`, `%${secret}%`) as { n: number };
    expect(hits.n).toBe(0);
  });
});

describe('revocation takes effect on open sessions', () => {
  it('a Streamable HTTP session stops working once its key is revoked (401)', async () => {
    const key = await t.key({ name: 'revoked-mid-session' });
    const sid = await initStreamable(port, key);
    const ok = await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(ok.status).toBe(200);
    await t.app.keys.revoke((await t.app.keys.list()).find((k) => k.name === 'revoked-mid-session')!.id);
    const r = await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 3, method: 'ping' });
    expectRpcError(r, 401, -32001);
  });
});

describe('resolved keys are cached, never past a change', () => {
  it('a key revoked by another process (the CLI\'s own connection) is refused on the next request', async () => {
    const key = await t.key({ name: 'revoked-by-cli' });
    const sid = await initStreamable(port, key);
    for (let i = 0; i < 3; i++) expect((await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 10 + i, method: 'ping' })).status).toBe(200);
    const cli = await openApp(t.dir, { log: () => {} });
    try {
      await cli.keys.revoke((await cli.keys.list()).find((k) => k.name === 'revoked-by-cli')!.id);
    } finally {
      cli.close();
    }
    expectRpcError(await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 20, method: 'ping' }), 401, -32001);
  });

  it('a key\'s call count and last use are read from its audit entries', async () => {
    const key = await t.key({ name: 'counted' });
    const c = await t.connect('http', key);
    await Promise.all(Array.from({ length: 7 }, () => c.callTool({ name: 'whoami', arguments: {} })));
    await c.callTool({ name: 'whoami', arguments: {} });
    const row = (await t.app.keys.list()).find((k) => k.name === 'counted')!;
    expect(row.callCount).toBe(8);
    expect(Date.now() - Date.parse(row.lastUsedAt!)).toBeLessThan(60_000);
    await c.close();
  });
});

describe('OAuth discovery probes get a fast 404', () => {
  it.each([
    ['GET', '/.well-known/oauth-protected-resource'],
    ['GET', '/.well-known/oauth-protected-resource/api/v1/mcp'],
    ['GET', '/.well-known/oauth-authorization-server'],
    ['GET', '/api/v1/mcp/.well-known/openid-configuration'],
    ['GET', '/.well-known/openid-configuration'],
    ['POST', '/register'],
    ['GET', '/register'],
  ])('%s %s → 404 in < 200 ms, no key needed', async (method, path) => {
    const r = await rawRequest({ port, method, path, headers: method === 'POST' ? { 'content-type': 'application/json' } : {}, body: method === 'POST' ? '{}' : undefined });
    const e = expectRpcError(r, 404);
    expect(e.message).toContain('X-API-Key');
    expect(r.ms).toBeLessThan(budget(200));
    expect(r.headers['www-authenticate']).toBeUndefined();
  });

  it('probes do not count as failed key attempts', async () => {
    const before = t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth'`).get() as { n: number };
    await rawRequest({ port, path: '/.well-known/oauth-authorization-server' });
    const after = t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth'`).get() as { n: number };
    expect(after.n).toBe(before.n);
  });
});

describe('failed-key limiter (its own server: the budget is per address)', () => {
  let f: TestServer;
  beforeAll(async () => {
    f = await startTestServer();
  });
  afterAll(async () => {
    await f.close();
  });

  it('after 60 failed key attempts in a minute from one address → 429 with Retry-After', async () => {
    const fp = f.server.port;
    const bad = () => rawRequest({ port: fp, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(`csk_${randomBytes(24).toString('base64url')}`), body: JSON.stringify(initializeRequest()) });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await bad()).status);
    expect(statuses.every((s) => s === 401), statuses.join(',')).toBe(true);
    // The bucket refills at one attempt a second: the very next ones are refused.
    let limited: RawResponse | undefined;
    for (let i = 0; i < 3 && !limited; i++) {
      const r = await bad();
      if (r.status === 429) limited = r;
    }
    expect(limited, 'no 429 after 60 failures').toBeDefined();
    const e = expectRpcError(limited!, 429, -32001);
    expect(e.message).toContain('Too many failed API-key attempts');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The limiter covers the legacy entry point and a missing key too.
    const s = await openLegacySse({ port: fp });
    expect(s.status).toBe(429);
    expect(s.headers['retry-after']).toBeDefined();

    // Host/Origin rejections and OAuth probes still answer as before.
    expect((await rawRequest({ port: fp, path: '/healthz' })).status).toBe(200);
    expect((await rawRequest({ port: fp, path: '/.well-known/oauth-protected-resource' })).status).toBe(404);
  });
});

describe('per-key request flood limit (COUNTERSIGN_HTTP_RPS=1: 60 requests a minute)', () => {
  let f: TestServer;
  beforeAll(async () => {
    f = await startTestServer({ env: { COUNTERSIGN_HTTP_RPS: '1' } });
  });
  afterAll(async () => {
    await f.close();
  });

  it('the 61st request of a key within a minute → 429 with Retry-After, audited as throttled; other keys unaffected', async () => {
    const fp = f.server.port;
    const key = await f.key({ name: 'flooder' });
    const hit = (k: string) => rawRequest({ port: fp, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(k), body: '{"foo":1}' });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await hit(key)).status);
    expect(statuses.every((s) => s === 400), statuses.join(',')).toBe(true);
    let limited: RawResponse | undefined;
    for (let i = 0; i < 3 && !limited; i++) {
      const r = await hit(key);
      if (r.status === 429) limited = r;
    }
    expect(limited, 'no 429 after 60 requests').toBeDefined();
    const e = expectRpcError(limited!, 429, -32000);
    expect(e.message).toContain('Too many requests for this key');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const row = f.app.db.prepare(`SELECT * FROM audit_log WHERE event = 'http' AND decision = 'throttled' AND code = 'HTTP_RATE_LIMITED' ORDER BY seq DESC LIMIT 1`).get() as { key_name: string } | undefined;
    expect(row?.key_name).toBe('flooder');
    expect((await hit(await f.key({ name: "bystander" }))).status).toBe(400);
  });
});
