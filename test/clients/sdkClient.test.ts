// The SDK's own Client (@modelcontextprotocol/sdk 1.32.2), for what the other suites do not cover: how long waits
// look to a client with real timeouts, and Streamable HTTP session ends as the client sees them.
// (Every tool on both transports, approvals, tenant isolation and raw session handling are covered in test/server,
// test/governance and test/http.)
import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolResultSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget, until } from '../helpers/wait.ts';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { DEFAULT_SESSION_LIMITS } from '../../src-main/http/mcpRoutes.ts';
import { structured } from '../helpers/console.ts';
import { expectRpcError, streamablePost } from '../helpers/raw.ts';
import { flowOf, note, stopServer } from './procs.ts';
import { describeStores } from '../helpers/stores.ts';

type Pending = { status: string; approvalId: string; expiresAt: string };
const devicesOf = async (t: TestServer) =>
  (await t.app.store.sql.all<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' ORDER BY d.hostname`)).map((d) => d.id);
const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });

/**
 * A Streamable HTTP client; with `sessionId`, the SDK Client skips initialize and reuses that session. With
 * `noGetStream`, its standalone GET stream is answered 405 locally (the SDK accepts that as "no stream offered"), so
 * the session holds no open stream between calls and can idle out, as sessions of clients without one do.
 */
async function httpClient(t: TestServer, key: string, sessionId?: string, opts: { noGetStream?: boolean } = {}) {
  const noGet: typeof fetch = (url, init) => (init?.method === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : fetch(url, init));
  const transport = new StreamableHTTPClientTransport(new URL('/api/v1/mcp', t.url), { requestInit: { headers: { 'X-API-Key': key } }, sessionId, fetch: opts.noGetStream ? noGet : undefined });
  const client = new Client({ name: 'countersign-sdk-session-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

// Both stores: what a client sees must not depend on where the server keeps its state.
describeStores('SDK client', (store) => {
  describe('Streamable HTTP sessions seen from the SDK client', () => {
    let t: TestServer;
    let alice: string;
    let bob: string;
    const open: Client[] = [];
    beforeAll(async () => {
      t = await startTestServer({ store });
      alice = await t.key({ name: 'alice' });
      bob = await t.key({ name: 'bob' });
    });
    afterAll(async () => {
      await Promise.all(open.map((c) => c.close().catch(() => {})));
      await stopServer(t);
    });
    const track = <T extends { client: Client }>(x: T) => (open.push(x.client), x);

    it('an unknown session id → 404 (StreamableHTTPError code 404); the SDK client does not re-initialize by itself, a fresh connect works', async () => {
      const stale = track(await httpClient(t, alice, randomUUID()));
      const e = await stale.client.listTools().then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(StreamableHTTPError);
      expect((e as StreamableHTTPError).code).toBe(404);
      expect((e as Error).message).toContain('Session not found; initialize a new session');
      // SDK 1.32.2 keeps the dead id and fails again: recovering is the application's job (reconnect without it).
      expect(stale.transport.sessionId).toBeDefined();
      await expect(stale.client.listTools()).rejects.toMatchObject({ code: 404 });
      const fresh = track(await httpClient(t, alice));
      expect(fresh.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect((await fresh.client.listTools()).tools.map((x) => x.name)).toContain('list_devices');
    });

    it('a session that expired (reaped after 30 idle minutes) → 404 on the next call; a fresh connect works', async () => {
      const c = track(await httpClient(t, alice, undefined, { noGetStream: true }));
      expect((await c.client.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
      const size = t.server.sessions.size;
      // The server's own reaper, run as if 31 minutes had passed (this describe's server has no other traffic).
      expect(t.server.sessions.reapIdle(Date.now() + 31 * 60_000)).toBeGreaterThanOrEqual(1);
      await until('the reaped session to close', () => t.server.sessions.size < size, 2_000, 10);
      await expect(c.client.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({ code: 404, message: expect.stringContaining('Session not found') });
      const again = track(await httpClient(t, alice));
      expect(again.transport.sessionId).not.toBe(c.transport.sessionId);
      expect((await again.client.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    });

    it('terminateSession() sends DELETE: the session ends and its id then answers 404', async () => {
      const c = track(await httpClient(t, alice));
      const sid = c.transport.sessionId!;
      const size = t.server.sessions.size;
      await c.transport.terminateSession();
      expect(c.transport.sessionId).toBeUndefined();
      await until('the ended session to close', () => t.server.sessions.size === size - 1, 2_000, 10);
      expectRpcError(await streamablePost(t.server.port, alice, sid, ping(1)), 404, -32001);
      // The same client, now without a session id, is told to initialize first.
      await expect(c.client.listTools()).rejects.toMatchObject({ code: 400, message: expect.stringContaining('the first request must be initialize') });
    });

    it("another key's session id → 404, exactly like an unknown one; the owner keeps its session", async () => {
      const mine = track(await httpClient(t, alice));
      const stolen = track(await httpClient(t, bob, mine.transport.sessionId));
      await expect(stolen.client.listTools()).rejects.toMatchObject({ code: 404, message: expect.stringContaining('Session not found; initialize a new session') });
      await expect(stolen.client.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({ code: 404 });
      const who = structured<{ name: string }>(await mine.client.callTool({ name: 'whoami', arguments: {} }));
      expect(who.name).toBe('alice');
    });
  });

  /** The keep-alive interval of the idle-stream test's server (the default is 15 s). */
  const KEEPALIVE_MS = 300;
  /** The held-call server's progress interval (the default is 5 s; approvalProgressSeconds). */
  const PROGRESS_S = 1;
  /**
   * The client's request timeout in the held-call tests: over two progress intervals, so one late notification (timers
   * fire late under load) does not end the call, and scaled with the machine.
   */
  const TIMEOUT = budget(2_500);
  /** The server's hold for a caller that sent a progressToken (the default is 25 s): past the timeout, with room. */
  const HOLD_S = Math.ceil((TIMEOUT + 2_500) / 1000);

  describe.concurrent('long waits', () => {
    let t: TestServer;
    let held: TestServer;
    beforeAll(async () => {
      t = await startTestServer({ store });
      // The hold and the progress interval, shortened so the test stays short.
      held = await startTestServer({ store, env: { COUNTERSIGN_APPROVAL_WAIT_SECONDS: String(HOLD_S), COUNTERSIGN_APPROVAL_PROGRESS_SECONDS: String(PROGRESS_S) } });
    });
    afterAll(async () => {
      await stopServer(held);
      await stopServer(t);
    });

    it.each(TRANSPORTS)('%s: a tier-3 call with the default 60 s request timeout gets its pending result at once', async (kind) => {
      expect(DEFAULT_REQUEST_TIMEOUT_MSEC).toBe(60_000);
      // "At once": not held for the approval wait (that is only for callers that send a progressToken).
      const hold = t.app.policy.values.approvalWaitSeconds * 1000;
      expect(hold).toBeGreaterThanOrEqual(10_000);
      expect(t.app.policy.values.approvalProgressSeconds).toBe(5);
      const c = await t.connect(kind, await t.key({ name: `pending-${kind}` }));
      const device = (await devicesOf(t))[kind === 'sse' ? 0 : 1]!;
      const started = performance.now();
      const r = await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: 'long-wait test' } });
      const ms = performance.now() - started;
      expect(r.isError).toBeFalsy();
      expect(structured<Pending>(r).status).toBe('pending_approval');
      // Its flow: the SDK client declares no tasks capability here (so no task augmentation): the pending result.
      expect(await flowOf(t, structured<Pending>(r).approvalId)).toMatchObject({ view: 'pending_result', client: 'countersign-test 1.0.0' });
      expect(ms).toBeLessThan(hold);
      note(`sdk ${kind} tier-3 pending (no progressToken)`, `${Math.round(ms)} ms`);
    });

    it.each(TRANSPORTS)('%s: with onprogress and resetTimeoutOnProgress, progress keeps the held call alive past its timeout; it then returns pending', async (kind) => {
      const c = await held.connect(kind, await held.key({ name: `held-${kind}` }));
      const device = (await devicesOf(held))[kind === 'sse' ? 2 : 3]!;
      const progress: { at: number; progress: number; message?: string }[] = [];
      const started = performance.now();
      const r = await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device] } }, CallToolResultSchema, {
        timeout: TIMEOUT, resetTimeoutOnProgress: true, maxTotalTimeout: 30_000,
        onprogress: (p) => progress.push({ at: performance.now() - started, progress: p.progress, message: p.message }),
      });
      const ms = performance.now() - started;
      // Alive past the timeout, until the hold ended: a result (pending) rather than the -32001 a timeout gives, and
      // never before the hold (timers fire late under load, never early).
      expect(ms).toBeGreaterThan(TIMEOUT + 1_000);
      expect(r.isError).toBeFalsy();
      expect(structured<Pending>(r).status).toBe('pending_approval');
      expect(progress.length).toBeGreaterThanOrEqual(2);
      // The second one, a progress interval after the first (never sooner: the server waits that long for a decision).
      expect(progress[1]!.at - progress[0]!.at).toBeGreaterThan(PROGRESS_S * 1000 - 50);
      expect(held.app.policy.values.approvalProgressSeconds).toBe(PROGRESS_S);
      expect(progress[0]!.message).toContain('Waiting for a technician to approve device_actions');
      note(`sdk ${kind} held call (timeout ${TIMEOUT} ms, hold ${HOLD_S} s, progress every ${PROGRESS_S} s)`, { ms: Math.round(ms), progressAtMs: progress.map((p) => Math.round(p.at)) });
    }, budget(30_000));

    it.each(TRANSPORTS)('%s: control: the same held call without resetTimeoutOnProgress times out at its timeout (-32001)', async (kind) => {
      const c = await held.connect(kind, await held.key({ name: `held-control-${kind}` }));
      const device = (await devicesOf(held))[kind === 'sse' ? 4 : 5]!;
      let progressed = 0;
      const started = performance.now();
      const e = await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device] } }, CallToolResultSchema, {
        timeout: TIMEOUT, onprogress: () => void progressed++,
      }).then(() => undefined, (x: unknown) => x);
      const ms = performance.now() - started;
      // At its timeout: the -32001 came (had it not fired, the hold would have ended in a pending result), not before.
      expect(e).toBeInstanceOf(McpError);
      expect((e as McpError).code).toBe(ErrorCode.RequestTimeout);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT - 50);
      expect(progressed).toBeGreaterThanOrEqual(1);
    }, budget(30_000));

    it('an idle legacy SSE stream gets ": keepalive" comments at the configured interval (default 15 s), and the session still answers', async () => {
      expect(DEFAULT_SESSION_LIMITS.keepAliveMs).toBe(15_000);
      // The interval is a server option (limits.keepAliveMs): the same stream with a short one.
      const idle = await startTestServer({ store, serve: { limits: { keepAliveMs: KEEPALIVE_MS } } });
      const key = await idle.key({ name: 'idle-sse' });
      let text = '';
      const seen: number[] = [];
      let started = 0;
      // Tap the SSE GET body: the SDK's EventSource drops comment frames, so count them on the wire.
      const tapped: typeof fetch = async (url, init) => {
        const res = await fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), 'X-API-Key': key } });
        if (!res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) return res;
        const decoder = new TextDecoder();
        const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            text += decoder.decode(chunk, { stream: true });
            const n = text.split(': keepalive\n\n').length - 1;
            while (seen.length < n) seen.push(Date.now() - started);
            out.enqueue(chunk);
          },
        }));
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      };
      const client = new Client({ name: 'countersign-idle-sse', version: '1.0.0' });
      started = Date.now();
      await client.connect(new SSEClientTransport(new URL('/api/v1/mcp/sse', idle.url), { requestInit: { headers: { 'X-API-Key': key } }, eventSourceInit: { fetch: tapped } }));
      try {
        expect(idle.server.sessions.limits.keepAliveMs).toBe(KEEPALIVE_MS);
        // Idle: nothing sent after initialize, until the 5th keep-alive.
        await until('5 keep-alives on the idle stream', () => seen.length >= 5, 5 * KEEPALIVE_MS + 10_000, 20);
        // Spaced by the interval: timers fire late on a busy machine, never early (a little slack for the clocks' rounding).
        const gaps = seen.map((at, i) => at - (i ? seen[i - 1]! : 0));
        for (const g of gaps.slice(1)) expect(g).toBeGreaterThanOrEqual(KEEPALIVE_MS - 50);
        const r = await client.callTool({ name: 'list_devices', arguments: { limit: 1 } });
        expect(r.isError).toBeFalsy();
        expect(structured<{ devices: unknown[] }>(r).devices).toHaveLength(1);
        note('legacy SSE keep-alives while idle', { keepAlivesAtMs: seen });
      } finally {
        await client.close();
        await stopServer(idle);
      }
    });
  });
});
