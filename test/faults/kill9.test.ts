// kill -9 during a sustained mixed load (issue 7, fault tests). `countersign serve` runs as a child process on a demo
// data directory; SDK clients on both transports read, acknowledge alerts, lock devices and request tier-3 actions
// while console workers approve and deny. At a random moment the server gets SIGKILL. Then, on the SQLite file as the
// crash left it: the audit chain verifies, every call a client saw succeed has its audit entry and its state change, no
// approval ran twice or is half-decided. The server restarts on the same directory: pending approvals are still pending
// (or expired by their TTL), can be approved exactly once, and the chain still verifies. Repeated at several moments.
// The same body runs on both stores: the checks read the database as the crash left it through the store's Sql seam.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cliEnv, startServe, type ChildServer, type CliKey } from '../helpers/childServer.ts';
import { auditVerifyHere, createKeyHere, initDemoDirHere } from '../helpers/cliHere.ts';
import { consoleLogin, type ConsoleClient } from '../helpers/console.ts';
import { KEY_USAGE_JOINS } from '../../src-main/audit/keyUsage.ts';
import { createRng, seedFromEnv, type Rng } from '../helpers/prng.ts';
import { budget, within } from '../helpers/wait.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { openInstallSql, withInstallSql, type InstallSql } from '../helpers/installSql.ts';

const PASS = 'kill9 fault passphrase';
const SEED = seedFromEnv('COUNTERSIGN_FAULT_SEED', Date.now());
const ROUNDS = 3;
/** The kill comes once the clients have seen this many writes succeed (a seeded number in this range), mid-load. */
const WRITES_BEFORE_KILL = [25, 120] as const;
const CALL_TIMEOUT_MS = budget(4_000);
const EXTRA_ALERTS_PER_TENANT = 800;

// No HTTP flood limit for this load (the per-key tool budgets are raised on the keys themselves). No bulk escalation
// either: each key locks random devices across the rounds, and past the default threshold (10 devices of a tenant in
// 10 minutes) a lock would become a card, at a moment that depends on the seed; here a lock is a tier-2 write that runs.
const BASE_ENV = cliEnv(PASS, { COUNTERSIGN_HTTP_RPS: '100000', COUNTERSIGN_APPROVAL_WAIT_SECONDS: '0', COUNTERSIGN_BULK_DEVICE_THRESHOLD: '10000' });

interface Device { id: string; tenant: string; os: string }

/** What the clients saw succeed in one round, with what identifies each effect. */
interface Ledger {
  reads: Map<string, number>; // `${keyId}|${tool}` → successes
  acks: { alertId: string; keyId: string; keyName: string; outcome: string }[];
  locks: { executionId: string; reason: string; commands: number }[];
  tier3: { approvalId: string; tool: string; keyId: string }[];
  approved: { approvalId: string; status: string }[];
  denied: string[];
  /** Approvals two console requests tried to approve at the same time: how many of the two got 200. */
  raced: { approvalId: string; ok: number; statuses: number[] }[];
  /** Errors a client got while the server was still alive (should be none). */
  unexpected: string[];
  successes: Map<string, number>; // keyId → successful tools/call (what recordUse counts)
}

const newLedger = (): Ledger => ({
  reads: new Map(), acks: [], locks: [], tier3: [], approved: [], denied: [], raced: [], unexpected: [], successes: new Map(),
});

const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

async function connect(url: string, kind: 'sse' | 'http', key: string): Promise<Client> {
  const client = new Client({ name: `kill9-${kind}`, version: '1.0.0' });
  const headers = { 'X-API-Key': key };
  const transport = kind === 'sse'
    ? new SSEClientTransport(new URL('/api/v1/mcp/sse', url), {
      requestInit: { headers },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) },
    })
    : new StreamableHTTPClientTransport(new URL('/api/v1/mcp', url), { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

let dir: string;
/** Team mode: the PostgreSQL database of this store's run (undefined: the SQLite file in dir). */
let storeUrl: string | undefined;
let env: NodeJS.ProcessEnv;
let keys: CliKey[];
let devices: Device[];
let alertPool: string[];
let server: ChildServer | undefined;

/** The demo install of this store, with more active alerts than the load can acknowledge and two keys. */
async function setUp(store: 'sqlite' | 'postgres'): Promise<void> {
  storeUrl = await storeUrlFor(store, 'kill9');
  env = storeUrl ? { ...BASE_ENV, COUNTERSIGN_DATABASE_URL: storeUrl } : BASE_ENV;
  dir = await initDemoDirHere(env, 'cs-kill9-');
  // More active alerts than the load can acknowledge, so each acknowledgement is of a distinct, still-active alert.
  await withInstallSql(dir, storeUrl, async ({ sql }) => {
    const tenants = await sql.all<{ id: string; slug: string }>('SELECT id, slug FROM tenants ORDER BY slug');
    for (const t of tenants) {
      const ids = (await sql.all<{ id: string }>('SELECT id FROM devices WHERE tenant_id = ? ORDER BY id', [t.id])).map((r) => r.id);
      const rows = Array.from({ length: EXTRA_ALERTS_PER_TENANT }, (_, i) => [randomUUID(), t.id, ids[i % ids.length]!, `kill9 alert ${i}`, new Date(Date.now() - i * 1000).toISOString()]);
      for (let i = 0; i < rows.length; i += 200) {
        const batch = rows.slice(i, i + 200);
        await sql.run(`INSERT INTO alerts (id, tenant_id, device_id, severity, status, title, message, triggered_at)
          VALUES ${batch.map(() => `(?, ?, ?, 'medium', 'active', ?, 'synthetic alert for the kill -9 test', ?)`).join(', ')}`, batch.flat());
      }
    }
    devices = await sql.all<Device>('SELECT d.id, t.slug AS tenant, d.os FROM devices d JOIN tenants t ON t.id = d.tenant_id ORDER BY d.id');
    alertPool = createRng(SEED ^ 0x5eed).shuffle((await sql.all<{ id: string }>(`SELECT id FROM alerts WHERE status = 'active' ORDER BY id`)).map((r) => r.id));
  });
  const limits = { readPerMinute: 1_000_000, writePerMinute: 1_000_000 };
  keys = [await createKeyHere(env, dir, { name: 'kill9-a', ...limits }), await createKeyHere(env, dir, { name: 'kill9-b', ...limits })];
}

async function tearDown(): Promise<void> {
  if (server?.alive()) await server.kill9();
  server = undefined;
  if (dir) rmSync(dirname(dir), { recursive: true, force: true });
}

/** Runs the mixed load against `srv` and SIGKILLs it once `killAfterWrites` writes succeeded; returns what the clients saw succeed. */
async function loadAndKill(srv: ChildServer, round: number, rng: Rng, killAfterWrites: number, leftover: string[]): Promise<{ ledger: Ledger; killedAtMs: number; ops: number }> {
  const L = newLedger();
  const plan = [
    { kind: 'http' as const, key: keys[0]! }, { kind: 'sse' as const, key: keys[0]! },
    { kind: 'http' as const, key: keys[1]! }, { kind: 'sse' as const, key: keys[1]! },
  ];
  const clients = await Promise.all(plan.map(async (p) => ({ ...p, client: await connect(srv.url, p.kind, p.key.secret) })));
  const con: ConsoleClient = await consoleLogin(srv.url, PASS);
  const queue: string[] = [...leftover];
  // Approvers wait for the next queued request (no polling); the kill waits for the load to reach its write count.
  const idle: (() => void)[] = [];
  const wakeApprovers = () => idle.splice(0).forEach((wake) => wake());
  const enqueue = (id: string) => {
    queue.push(id);
    wakeApprovers();
  };
  let writes = 0;
  let reachedWrites!: () => void;
  const killMoment = new Promise<void>((r) => (reachedWrites = r));
  const wrote = () => {
    if (++writes >= killAfterWrites) reachedWrites();
  };
  let killSent = false;
  let stopped = false;
  let seq = 0;
  let ops = 0;
  const note = (what: string, e: unknown) => {
    if (!killSent) L.unexpected.push(`${what}: ${e instanceof Error ? e.message : JSON.stringify(e).slice(0, 300)}`);
  };

  const worker = async (c: (typeof clients)[number]) => {
    while (!stopped) {
      const tag = `kill9 r${round} #${++seq}`;
      const r = rng.next();
      ops++;
      try {
        if (r < 0.25 || (r < 0.5 && alertPool.length === 0)) {
          const tool = rng.pick(['list_devices', 'get_alerts']);
          const args = tool === 'list_devices' ? { limit: rng.int(1, 40), ...(rng.chance(0.3) ? { status: 'online' } : {}) } : { limit: rng.int(1, 40) };
          const res = await c.client.callTool({ name: tool, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS });
          if (res.isError) note(tool, res);
          else {
            bump(L.reads, `${c.key.id}|${tool}`);
            bump(L.successes, c.key.id);
          }
        } else if (r < 0.5) {
          const alertId = alertPool.pop()!;
          const res = await c.client.callTool({ name: 'acknowledge_alerts', arguments: { alertIds: [alertId], note: tag } }, undefined, { timeout: CALL_TIMEOUT_MS });
          if (res.isError) note('acknowledge_alerts', res);
          else {
            const out = res.structuredContent as { results: { outcome: string }[] };
            L.acks.push({ alertId, keyId: c.key.id, keyName: c.key.name, outcome: out.results[0]!.outcome });
            bump(L.successes, c.key.id);
            wrote();
          }
        } else if (r < 0.75) {
          const d = rng.pick(devices);
          const res = await c.client.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [d.id], reason: tag } }, undefined, { timeout: CALL_TIMEOUT_MS });
          const out = res.structuredContent as { executionId?: string; commands?: unknown[] } | undefined;
          // Anything but a lock that ran (an error, or a card) is unexpected here, and reported with what came back.
          if (res.isError || !out?.executionId || !Array.isArray(out.commands)) note('device_actions lock', res);
          else {
            L.locks.push({ executionId: out.executionId, reason: tag, commands: out.commands.length });
            bump(L.successes, c.key.id);
            wrote();
          }
        } else {
          const d = rng.pick(devices);
          const script = rng.chance(0.5);
          const call = script
            ? { name: 'run_script', arguments: { language: 'powershell', body: `Write-Output "${tag}"`, deviceIds: [d.id] } }
            : { name: 'device_actions', arguments: { action: 'reboot', deviceIds: [d.id], reason: tag } };
          const res = await c.client.callTool(call, undefined, { timeout: CALL_TIMEOUT_MS });
          const out = res.structuredContent as { status?: string; approvalId?: string } | undefined;
          if (res.isError || out?.status !== 'pending_approval' || !out.approvalId) note(call.name, res);
          else {
            L.tier3.push({ approvalId: out.approvalId, tool: call.name, keyId: c.key.id });
            bump(L.successes, c.key.id);
            wrote();
            enqueue(out.approvalId);
          }
        }
      } catch (e) {
        note('tools/call', e);
        if (killSent) return;
      }
    }
  };

  const approver = async () => {
    let decisions = 0;
    while (!stopped) {
      const id = queue.shift();
      if (!id) {
        await new Promise<void>((r) => idle.push(r));
        continue;
      }
      // Leave some requests undecided, so that approvals are pending when the server dies.
      if (rng.chance(0.3)) continue;
      try {
        if (++decisions % 15 === 0) {
          const list = await con.get('/approvals?status=pending&limit=50');
          if (list.status !== 200) note('GET approvals', list);
        }
        const choice = rng.next();
        if (choice < 0.25) {
          const r = await con.post(`/approvals/${id}/deny`, { reason: `denied by the kill9 test, round ${round}` });
          if (r.status === 200) L.denied.push(id);
          else note(`deny ${id}`, r);
        } else if (choice < 0.4) {
          // Two technicians click approve at the same moment: exactly one may win.
          const both = await Promise.allSettled([con.post(`/approvals/${id}/approve`), con.post(`/approvals/${id}/approve`)]);
          const statuses = both.map((b) => (b.status === 'fulfilled' ? b.value.status : 0));
          const wins = both.filter((b) => b.status === 'fulfilled' && b.value.status === 200);
          for (const w of wins) if (w.status === 'fulfilled') L.approved.push({ approvalId: id, status: w.value.body.approval.status });
          if (statuses.every((s) => s !== 0)) L.raced.push({ approvalId: id, ok: wins.length, statuses });
        } else {
          const r = await con.post(`/approvals/${id}/approve`);
          if (r.status === 200) L.approved.push({ approvalId: id, status: r.body.approval.status });
          else note(`approve ${id}`, r);
        }
      } catch (e) {
        note('console', e);
        if (killSent) return;
      }
    }
  };

  // Three requests the approvers never take: whatever the load manages before the kill, approvals are pending then.
  for (let i = 0; i < 3; i++) {
    const c = clients[i]!;
    const res = await c.client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [rng.pick(devices).id], reason: `kill9 r${round} reserved ${i}` } }, undefined, { timeout: CALL_TIMEOUT_MS });
    const out = res.structuredContent as { status?: string; approvalId?: string };
    if (out?.status !== 'pending_approval' || !out.approvalId) throw new Error(`reserved tier-3 request: ${JSON.stringify(res).slice(0, 300)}`);
    L.tier3.push({ approvalId: out.approvalId, tool: 'device_actions', keyId: c.key.id });
    bump(L.successes, c.key.id);
  }

  const started = performance.now();
  const running = [...clients.flatMap((c) => [worker(c), worker(c)]), approver(), approver()];
  await within(`${killAfterWrites} successful writes before the kill`, killMoment, 30_000);
  killSent = true;
  const killedAtMs = Math.round(performance.now() - started);
  await srv.kill9();
  stopped = true;
  wakeApprovers();
  // Closing the clients rejects whatever they still wait for (answers a dead server will never send).
  await Promise.all(clients.map((c) => c.client.close().catch(() => {})));
  await within('the load to stop after the kill', Promise.all(running), 10_000);
  return { ledger: L, killedAtMs, ops };
}

interface Row { [k: string]: unknown }

/** Everything the crash must not have broken, checked on the database as the crash left it. */
async function checkAfterKill(L: Ledger, startSeq: number, totals: Map<string, number>): Promise<{ pending: string[]; headSeq: number }> {
  const db: InstallSql = await openInstallSql(dir, storeUrl, { readOnly: true });
  try {
    const one = (sql: string, ...p: unknown[]) => db.sql.get<Row>(sql, p);
    const all = (sql: string, ...p: unknown[]) => db.sql.all<Row>(sql, p);
    const failures: string[] = [];
    const fail = (m: string) => failures.length < 50 && failures.push(m);

    // Acknowledgements: the alert is acknowledged by that key, and an allowed acknowledge_alerts entry names it.
    const ackAudited = new Set((await all(`SELECT args_json FROM audit_log WHERE seq > ? AND event = 'tool_call' AND tool = 'acknowledge_alerts' AND decision = 'allowed'`, startSeq))
      .flatMap((r) => (JSON.parse(String(r.args_json)) as { alertIds: string[] }).alertIds));
    for (const a of L.acks) {
      if (a.outcome !== 'acknowledged') fail(`alert ${a.alertId}: the client saw outcome ${a.outcome}, not acknowledged (it was active and distinct)`);
      const row = await one('SELECT status, acknowledged_by FROM alerts WHERE id = ?', a.alertId);
      if (row?.status !== 'acknowledged' || row.acknowledged_by !== `key:${a.keyName}`) fail(`alert ${a.alertId}: acknowledged by the client but stored as ${JSON.stringify(row)}`);
      if (!ackAudited.has(a.alertId)) fail(`alert ${a.alertId}: acknowledged by the client but no audit entry names it`);
    }

    // Locks: the execution exists with its device command, and the audit entry carries the call's unique reason.
    const lockAudited = new Set((await all(`SELECT args_json FROM audit_log WHERE seq > ? AND event = 'tool_call' AND tool = 'device_actions' AND action = 'lock' AND decision = 'allowed'`, startSeq))
      .map((r) => (JSON.parse(String(r.args_json)) as { reason: string }).reason));
    for (const l of L.locks) {
      const ex = await one('SELECT kind, detail_json FROM executions WHERE id = ?', l.executionId);
      if (!ex || ex.kind !== 'device_action' || !String(ex.detail_json).includes(l.reason)) fail(`lock ${l.executionId} (${l.reason}): execution missing or wrong: ${JSON.stringify(ex)}`);
      const n = (await one('SELECT count(*) AS n FROM device_commands WHERE execution_id = ?', l.executionId))!.n;
      if (n !== l.commands) fail(`lock ${l.executionId}: ${String(n)} device commands, the client saw ${l.commands}`);
      if (!lockAudited.has(l.reason)) fail(`lock ${l.executionId} (${l.reason}): no audit entry`);
    }

    // Tier-3 requests: the approval exists, with the pending entry that recorded the request.
    for (const t of L.tier3) {
      const a = await one('SELECT tool, key_id FROM approvals WHERE id = ?', t.approvalId);
      if (!a || a.tool !== t.tool || a.key_id !== t.keyId) fail(`approval ${t.approvalId}: requested by the client but stored as ${JSON.stringify(a)}`);
      if (!await one(`SELECT 1 FROM audit_log WHERE approval_id = ? AND event = 'tool_call' AND decision = 'pending'`, t.approvalId)) fail(`approval ${t.approvalId}: no pending audit entry`);
    }

    // Console decisions the technician saw succeed.
    for (const a of L.approved) {
      if (!['running', 'completed'].includes(a.status)) fail(`approval ${a.approvalId}: the console answered status ${a.status}`);
      const row = await one('SELECT status FROM approvals WHERE id = ?', a.approvalId);
      if (!['running', 'completed'].includes(String(row?.status))) fail(`approval ${a.approvalId}: approved on the console but stored as ${String(row?.status)}`);
      const n = (await one('SELECT count(*) AS n FROM executions WHERE approval_id = ?', a.approvalId))!.n;
      if (n !== 1) fail(`approval ${a.approvalId}: approved once, ${String(n)} executions`);
      for (const d of ['approved', 'completed']) {
        if (!await one('SELECT 1 FROM audit_log WHERE approval_id = ? AND decision = ?', a.approvalId, d)) fail(`approval ${a.approvalId}: no '${d}' audit entry`);
      }
    }
    for (const id of L.denied) {
      const row = await one('SELECT status FROM approvals WHERE id = ?', id);
      if (row?.status !== 'denied') fail(`approval ${id}: denied on the console but stored as ${String(row?.status)}`);
      if (!await one(`SELECT 1 FROM audit_log WHERE approval_id = ? AND decision = 'rejected'`, id)) fail(`approval ${id}: no 'rejected' audit entry`);
    }
    for (const r of L.raced) if (r.ok !== 1) fail(`approval ${r.approvalId}: two simultaneous approvals answered ${r.statuses.join(', ')}; exactly one must win`);

    // Reads: at least one allowed audit entry per success, per key and tool, since this round began.
    for (const [k, n] of L.reads) {
      const [keyId, tool] = k.split('|') as [string, string];
      const m = Number((await one(`SELECT count(*) AS n FROM audit_log WHERE seq > ? AND key_id = ? AND tool = ? AND event = 'tool_call' AND decision = 'allowed'`, startSeq, keyId, tool))!.n);
      if (m < n) fail(`${tool} by key ${keyId}: ${n} successes seen, ${m} audit entries`);
    }
    // Key usage is read from the log (the stored sums and the entries after them): it covers every success ever seen.
    for (const [keyId, n] of totals) {
      const c = Number((await one(`SELECT coalesce(f.calls, 0) + coalesce(u.calls, 0) AS call_count FROM api_keys k ${KEY_USAGE_JOINS} WHERE k.id = ?`, keyId))!.call_count);
      if (c < n) fail(`key ${keyId}: ${n} successful calls seen in total, call_count ${c}`);
    }

    // Invariants over every approval, seen by a client or not.
    const twice = await all('SELECT approval_id, count(*) AS n FROM executions WHERE approval_id IS NOT NULL GROUP BY approval_id HAVING count(*) > 1');
    if (twice.length) fail(`approvals executed more than once: ${JSON.stringify(twice)}`);
    const halfDecided = await all(`SELECT id FROM approvals WHERE status = 'approved'`);
    if (halfDecided.length) fail(`approvals left 'approved' (decided, not run): ${JSON.stringify(halfDecided)}`);
    const badRuns = await all(`SELECT id, status, n FROM (SELECT a.id, a.status, (SELECT count(*) FROM executions e WHERE e.approval_id = a.id) AS n FROM approvals a) r
      WHERE (status IN ('running', 'completed') AND n != 1) OR (status NOT IN ('running', 'completed') AND n != 0)`);
    if (badRuns.length) fail(`approvals whose status disagrees with their executions: ${JSON.stringify(badRuns.slice(0, 5))}`);
    const unaudited = await all(`SELECT a.id FROM approvals a WHERE NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.approval_id = a.id AND l.decision = 'pending')
      OR (a.status IN ('running', 'completed') AND NOT EXISTS (SELECT 1 FROM audit_log l WHERE l.approval_id = a.id AND l.event = 'execution'))`);
    if (unaudited.length) fail(`approvals without their audit entries: ${JSON.stringify(unaudited.slice(0, 5))}`);
    const orphanRuns = await all(`SELECT e.id FROM executions e WHERE NOT EXISTS (SELECT 1 FROM device_commands c WHERE c.execution_id = e.id)
      OR (e.approval_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.id = e.approval_id))`);
    if (orphanRuns.length) fail(`executions without commands or without their approval: ${JSON.stringify(orphanRuns.slice(0, 5))}`);

    expect(failures).toEqual([]);
    const pending = (await all(`SELECT id FROM approvals WHERE status = 'pending' ORDER BY created_at`)).map((r) => String(r.id));
    return { pending, headSeq: Number((await one('SELECT max(seq) AS s FROM audit_log'))!.s) };
  } finally {
    await db.close();
  }
}

describeStores('kill -9 during a sustained mixed load', (store) => {
  beforeAll(() => setUp(store), budget(60_000));
  afterAll(tearDown);

  it('loses no acknowledged call, runs no approval twice, and restarts with pending approvals intact', async () => {
    console.log(`kill9: seed ${SEED} (replay with COUNTERSIGN_FAULT_SEED=${SEED})`);
    const rng = createRng(SEED);
    // The kill moments come from their own stream: the load's draws depend on how its calls interleave, and one seed
    // should kill at the same write counts on both stores.
    const killRng = createRng(SEED ^ 0x4b111);
    const testStart = performance.now();
    const totals = new Map<string, number>();
    server = await startServe(env, dir);
    let leftover: string[] = [];
    let rounds = 0;
    while (rounds < ROUNDS) {
      rounds++;
      const startSeq = await withInstallSql(dir, storeUrl, (db) => db.num('SELECT max(seq) FROM audit_log'), { readOnly: true });
      // A random moment in the middle of the load, counted in writes the clients saw succeed.
      const killAfter = killRng.int(...WRITES_BEFORE_KILL);
      const { ledger: L, killedAtMs, ops } = await loadAndKill(server, rounds, rng, killAfter, leftover);
      for (const [k, n] of L.successes) bump(totals, k, n);
      expect(L.unexpected, 'errors while the server was alive').toEqual([]);

      // 1. The chain verifies on the database exactly as the crash left it (SQLite: WAL and all), with the CLI.
      const v = await auditVerifyHere(env, dir);
      expect(v.out).toMatch(/audit chain OK/);
      expect(v.status).toBe(0);

      // 2. Every success has its audit entry and state change; no approval ran twice.
      const { pending, headSeq } = await checkAfterKill(L, startSeq, totals);
      const reads = [...L.reads.values()].reduce((a, b) => a + b, 0);
      console.log(`kill9 round ${rounds}: SIGKILL at ${killedAtMs} ms after ${killAfter} writes, ${ops} calls started; seen ok: ${reads} reads, ${L.acks.length} acks, `
        + `${L.locks.length} locks, ${L.tier3.length} tier-3 requests, ${L.approved.length} approved, ${L.denied.length} denied, `
        + `${L.raced.length} double-approve races; ${pending.length} pending at the kill; audit head ${headSeq}`);
      expect(L.acks.length + L.locks.length + L.tier3.length, 'the load made writes before the kill').toBeGreaterThan(10);
      expect(pending.length, 'some approvals were pending at the kill').toBeGreaterThanOrEqual(3);

      // 3. While the server is down, the TTL of one pending request runs out (time passing, simulated on the row).
      const [expiredId, approveId, denyId, ...stillPending] = pending as [string, string, string, ...string[]];
      await withInstallSql(dir, storeUrl, (db) => db.sql.run('UPDATE approvals SET expires_at = ? WHERE id = ?', [new Date(Date.now() - 60_000).toISOString(), expiredId]));

      // 4. Restart on the same directory.
      server = await startServe(env, dir);
      const con = await consoleLogin(server.url, PASS);
      const listed = await con.get('/approvals?status=pending&limit=500');
      expect(listed.status).toBe(200);
      const listedIds = (listed.body.approvals as { id: string }[]).map((a) => a.id);
      expect(listedIds).toEqual(expect.arrayContaining([approveId, denyId, ...stillPending]));
      expect(listedIds).not.toContain(expiredId);
      const expired = await con.get(`/approvals/${expiredId}`);
      expect(expired.body.approval.status).toBe('expired');
      expect((await con.post(`/approvals/${expiredId}/approve`)).status).toBe(410);

      const approved = await con.post(`/approvals/${approveId}/approve`);
      expect(approved.status).toBe(200);
      expect(['running', 'completed']).toContain(approved.body.approval.status);
      expect((await con.post(`/approvals/${approveId}/approve`)).status).toBe(409);
      const denied = await con.post(`/approvals/${denyId}/deny`, { reason: 'denied after the restart' });
      expect(denied.status).toBe(200);
      expect(denied.body.approval.status).toBe('denied');
      await withInstallSql(dir, storeUrl, async (db) => {
        const runs = (id: string) => db.num('SELECT count(*) FROM executions WHERE approval_id = ?', [id]);
        expect(await runs(approveId)).toBe(1);
        expect(await runs(expiredId)).toBe(0);
        expect(await runs(denyId)).toBe(0);
        expect(await db.sql.get(`SELECT 1 FROM audit_log WHERE approval_id = ? AND decision = 'expired'`, [expiredId])).toBeTruthy();
      }, { readOnly: true });
      expect((await auditVerifyHere(env, dir)).status).toBe(0);
      // The next round's approvers also decide requests made before this crash.
      leftover = stillPending;
    }

    // Graceful stop of the last restart, and the final chain.
    expect(await server.stop(), `serve's stderr: ${server.stderr().slice(-4000)}`).toBe(0);
    const final = await auditVerifyHere(env, dir);
    expect(final.status).toBe(0);
    console.log(`kill9: ${rounds} kill rounds in ${Math.round(performance.now() - testStart)} ms; ${final.out}`);
    expect(rounds).toBe(ROUNDS);
  }, budget(80_000));
});
