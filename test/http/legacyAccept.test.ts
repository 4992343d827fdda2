// The legacy SSE transport answers a request's POST (202) with its response, not before it: the two writes go out in
// one turn, so the client wakes once per call (src-main/http/legacySse.ts). A request still waiting (an approval hold)
// gets its 202 after ACCEPT_WITHIN_MS; a notification, a response or a request reusing an open id gets it at once;
// a closing stream answers every POST still open.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ACCEPT_WITHIN_MS, LegacySseTransport } from '../../src-main/http/legacySse.ts';
import { type TestServer, useServerWithKey } from '../helpers/server.ts';
import { initLegacy, openLegacySse, parseSse, rawRequest } from '../helpers/raw.ts';
import { until } from '../helpers/wait.ts';

/** A stand-in for node:http's ServerResponse: what was written, in order, into one log shared by every response. */
class Recorded {
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  private readonly closers: (() => void)[] = [];
  private readonly name: string;
  private readonly log: string[];
  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }
  writeHead(status: number): this {
    this.headersSent = true;
    this.log.push(`${this.name} ${status}`);
    return this;
  }
  write(chunk: string): boolean {
    this.log.push(`${this.name} ${chunk.startsWith('event: message') ? `event ${JSON.parse(chunk.split('data: ')[1]!).id}` : chunk.split('\n')[0]}`);
    return true;
  }
  end(body?: string): this {
    this.writableEnded = true;
    this.log.push(`${this.name} end${body ? ` ${body}` : ''}`);
    for (const c of this.closers) c();
    return this;
  }
  on(event: string, fn: () => void): this {
    if (event === 'close') this.closers.push(fn);
    return this;
  }
}

async function session() {
  const log: string[] = [];
  const stream = new Recorded('stream', log);
  const t = new LegacySseTransport('/api/v1/mcp/messages', stream as unknown as ServerResponse);
  const received: JSONRPCMessage[] = [];
  t.onmessage = (m) => void received.push(m);
  await t.start();
  log.length = 0;
  const req = { headers: {} } as IncomingMessage;
  const post = (name: string, m: JSONRPCMessage) => {
    const res = new Recorded(name, log);
    t.handlePostMessage(req, res as unknown as ServerResponse, m);
    return res;
  };
  return { t, log, received, post };
}

describe('LegacySseTransport: when a POST gets its 202', () => {
  it('a request: with its response, the event first, then the 202', async () => {
    const s = await session();
    const res = s.post('post', { jsonrpc: '2.0', id: 7, method: 'ping' });
    expect(s.received).toHaveLength(1);
    expect(res.headersSent).toBe(false);
    await s.t.send({ jsonrpc: '2.0', id: 7, result: {} });
    expect(s.log).toEqual(['stream event 7', 'post 202', 'post end Accepted']);
  });

  it('a request without a response yet: 202 after ACCEPT_WITHIN_MS, and its response later goes out alone', async () => {
    const s = await session();
    const started = performance.now();
    const res = s.post('post', { jsonrpc: '2.0', id: 'held', method: 'tools/call', params: { name: 'x' } });
    await until('the 202 of a request still unanswered', () => res.writableEnded, 5_000, 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(ACCEPT_WITHIN_MS - 1);
    await s.t.send({ jsonrpc: '2.0', id: 'held', result: {} });
    expect(s.log).toEqual(['post 202', 'post end Accepted', 'stream event held']);
  });

  it('a notification, a response from the client, and a request reusing an open id: 202 at once', async () => {
    const s = await session();
    s.post('notification', { jsonrpc: '2.0', method: 'notifications/initialized' });
    s.post('response', { jsonrpc: '2.0', id: 3, result: {} });
    const first = s.post('first', { jsonrpc: '2.0', id: 9, method: 'ping' });
    s.post('again', { jsonrpc: '2.0', id: 9, method: 'ping' });
    expect(s.log).toEqual(['notification 202', 'notification end Accepted', 'response 202', 'response end Accepted', 'again 202', 'again end Accepted']);
    expect(s.received).toHaveLength(4);
    await s.t.send({ jsonrpc: '2.0', id: 9, result: {} });
    expect(first.writableEnded).toBe(true);
  });

  it('a closing stream answers every POST still open; a server notification answers none', async () => {
    const s = await session();
    const a = s.post('a', { jsonrpc: '2.0', id: 1, method: 'ping' });
    const b = s.post('b', { jsonrpc: '2.0', id: 2, method: 'ping' });
    await s.t.send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } });
    expect([a.headersSent, b.headersSent]).toEqual([false, false]);
    await s.t.close();
    expect([a.writableEnded, b.writableEnded]).toEqual([true, true]);
  });

  it('a request the handler throws on is left to the route: no 202 follows the error', async () => {
    const s = await session();
    s.t.onmessage = () => {
      throw new Error('boom');
    };
    const res = new Recorded('post', s.log);
    expect(() => s.t.handlePostMessage({ headers: {} } as IncomingMessage, res as unknown as ServerResponse, { jsonrpc: '2.0', id: 5, method: 'ping' })).toThrow('boom');
    // The route answers it (here: nobody); the response to id 5, were one sent, writes no 202 over it.
    await s.t.send({ jsonrpc: '2.0', id: 5, result: {} });
    expect(s.log).toEqual(['stream event 5']);
  });
});

describe('legacy SSE on a real server: a held call', () => {
  let t: TestServer;
  let port: number;
  let key: string;
  // A tier-3 call with a progressToken is held for the approval up to the wait (3 s here), with progress meanwhile.
  useServerWithKey('legacy-accept', (s) => ({ t, port, key } = s), { env: { COUNTERSIGN_APPROVAL_WAIT_SECONDS: '3' } });

  it('its POST is answered 202 while the call waits; the response follows on the stream when the hold ends', async () => {
    const sse = await openLegacySse({ port, key });
    try {
      await initLegacy(port, sse, key);
      const device = await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' ORDER BY d.hostname LIMIT 1`);
      const call = { jsonrpc: '2.0', id: 'held-1', method: 'tools/call', params: { name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device!.id] }, _meta: { progressToken: 'p1' } } };
      const r = await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(call) });
      expect(r.status).toBe(202);
      const answered = () => parseSse(sse.text()).some((f) => f.event === 'message' && JSON.parse(f.data).id === 'held-1');
      // The approval card exists and the call is still held: no response yet.
      await until('the held call\'s approval card', async () => (await t.app.approvals.list({ status: ['pending'] })).length > 0);
      expect(answered()).toBe(false);
      const text = await sse.waitFor('"id":"held-1"', 20_000);
      const response = parseSse(text).map((f) => (f.event === 'message' ? JSON.parse(f.data) : undefined)).find((m) => m?.id === 'held-1');
      expect(response.result.structuredContent.status).toBe('pending_approval');
      expect(parseSse(text).some((f) => f.event === 'message' && JSON.parse(f.data).method === 'notifications/progress')).toBe(true);
    } finally {
      sse.close();
    }
  });
});
