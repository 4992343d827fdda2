import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingMessageNotificationSchema, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { denial } from '../helpers/console.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.close(); });

/** One raw initialize over Streamable HTTP; the answer arrives SSE-framed. */
async function initialize(key: string, protocolVersion: string) {
  const res = await fetch(`${t.url}/api/v1/mcp`, {
    method: 'POST',
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } } }),
  });
  const text = await res.text();
  const data = text.split('\n').find((l) => l.startsWith('data: {'));
  return { status: res.status, body: data ? JSON.parse(data.slice(6)) : JSON.parse(text) };
}

describe('protocol', () => {
  it.each([...SUPPORTED_PROTOCOL_VERSIONS])('negotiates protocol version %s', async (version) => {
    const r = await initialize(await t.key(), version);
    expect(r.status).toBe(200);
    expect(r.body.result.protocolVersion).toBe(version);
    expect(r.body.result.serverInfo.name).toBe('countersign');
    expect(r.body.result.capabilities).toMatchObject({ tools: {}, resources: {}, prompts: {}, logging: {} });
  });

  it('answers an unknown future version with the latest it supports', async () => {
    const r = await initialize(await t.key(), '2099-01-01');
    expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(r.body.result.protocolVersion);
  });

  it.each(TRANSPORTS)('sends logging notices filtered by logging/setLevel over %s', async (kind) => {
    const c = await t.connect(kind, await t.key());
    const seen: { level: string; data: unknown }[] = [];
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push(n.params));
    const device = (t.app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`).get() as { id: string }).id;
    await c.setLoggingLevel('notice');
    await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [device], reason: kind } });
    await c.callTool({ name: 'device_actions', arguments: { action: 'wipe', deviceIds: [device] } });
    // The notices travel on the request's own stream, ahead of its result: by now every one of them has arrived.
    expect(seen.map((s) => s.level)).toEqual(['notice', 'warning']);
    await c.setLoggingLevel('error');
    await c.callTool({ name: 'device_actions', arguments: { action: 'wipe', deviceIds: [device] } });
    expect(seen).toHaveLength(2);
  });
});

describe('transport flood', () => {
  it('answers 429 with Retry-After past the per-key request rate, and audits it', async () => {
    const s = await startTestServer({ env: { COUNTERSIGN_HTTP_RPS: '1' } });
    try {
      const key = await s.key();
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 80; i++) {
        const r = await fetch(`${s.url}/api/v1/mcp`, { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: '{}' });
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers.get('retry-after');
        await r.arrayBuffer();
      }
      expect(statuses).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      const audited = s.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE code = 'HTTP_RATE_LIMITED'`).get() as { n: number };
      expect(audited.n).toBeGreaterThanOrEqual(1);
      // tool-level budget is a separate mechanism: a RATE_LIMITED tool result, not an HTTP error
      const c = await s.connect('http', await s.key({ readPerMinute: 1 }));
      await c.callTool({ name: 'whoami', arguments: {} });
      expect(denial(await c.callTool({ name: 'whoami', arguments: {} })).code).toBe('RATE_LIMITED');
    } finally {
      await s.close();
    }
  });
});
