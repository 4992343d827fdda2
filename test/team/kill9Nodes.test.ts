// kill -9 of one node of two under a mixed load (team mode): `countersign serve` A and B run as child processes on one
// PostgreSQL. SDK clients on both read, lock devices and request tier-3 actions while console workers on both nodes
// approve (sometimes the same request on both at once). Once the load is under way node A gets SIGKILL; the load on B
// goes on. Then, in the database: every call a client saw succeed has its rows and audit entries, no approval ran
// twice or is half-decided, the chain verifies, B never failed a call, and a request A took before dying can be approved on B.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cliEnv, startServe, type ChildServer, type CliKey } from '../helpers/childServer.ts';
import { auditVerifyHere, createKeyHere, initDemoDirHere } from '../helpers/cliHere.ts';
import { consoleLogin, type ConsoleClient } from '../helpers/console.ts';
import { createRng, seedFromEnv } from '../helpers/prng.ts';
import { newDatabase, postgresAvailable } from '../helpers/stores.ts';
import { budget, until } from '../helpers/wait.ts';

const PASS = 'kill9 two nodes passphrase';
const SEED = seedFromEnv('COUNTERSIGN_FAULT_SEED', Date.now());
const CALL_TIMEOUT_MS = 6_000;
/** Successful operations before A is killed, and on B after it. */
const OPS_BEFORE = 60;
const OPS_AFTER = 40;

type NodeName = 'A' | 'B';
interface Ledger {
  reads: Map<string, number>;
  locks: { executionId: string; reason: string; commands: number }[];
  tier3: { approvalId: string; keyId: string; node: NodeName }[];
  approved: { approvalId: string; status: string; node: NodeName }[];
  raced: { approvalId: string; ok: number; statuses: number[] }[];
  unexpected: string[];
  ops: Record<NodeName, number>;
}

async function connect(url: string, kind: 'sse' | 'http', key: string): Promise<Client> {
  const client = new Client({ name: `kill9-nodes-${kind}`, version: '1.0.0' });
  const headers = { 'X-API-Key': key };
  await client.connect(kind === 'sse'
    ? new SSEClientTransport(new URL('/api/v1/mcp/sse', url), {
      requestInit: { headers },
      eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) },
    })
    : new StreamableHTTPClientTransport(new URL('/api/v1/mcp', url), { requestInit: { headers } }));
  return client;
}

describe.skipIf(!postgresAvailable())(`kill -9 of node A of two under mixed load${postgresAvailable() ? '' : ' [skipped: no PostgreSQL for this run]'}`, () => {
  let url: string;
  let env: NodeJS.ProcessEnv;
  let dirA: string;
  let dirB: string;
  let keys: CliKey[];
  let devices: string[];
  let a: ChildServer;
  let b: ChildServer;
  let db: pg.Client;

  beforeAll(async () => {
    url = await newDatabase('kill9_nodes');
    env = cliEnv(PASS, { COUNTERSIGN_DATABASE_URL: url, COUNTERSIGN_HTTP_RPS: '100000', COUNTERSIGN_APPROVAL_WAIT_SECONDS: '0' });
    dirA = await initDemoDirHere(env, 'cs-kill9-nodes-');
    dirB = join(dirname(dirA), 'b');
    mkdirSync(dirB, { mode: 0o700 });
    copyFileSync(join(dirA, 'secrets.json'), join(dirB, 'secrets.json'));
    const limits = { readPerMinute: 1_000_000, writePerMinute: 1_000_000 };
    keys = [await createKeyHere(env, dirA, { name: 'on-a', ...limits }), await createKeyHere(env, dirA, { name: 'on-b', ...limits })];
    db = new pg.Client({ connectionString: url });
    await db.connect();
    devices = (await db.query<{ id: string }>('SELECT id FROM devices ORDER BY id')).rows.map((r) => r.id);
    [a, b] = await Promise.all([startServe(env, dirA), startServe(env, dirB)]);
  }, budget(90_000));

  afterAll(async () => {
    for (const s of [a, b]) if (s?.alive()) await s.kill9();
    await db?.end();
    if (dirA) rmSync(dirname(dirA), { recursive: true, force: true });
  });

  it('loses no acknowledged call, runs nothing twice, the chain verifies, and B keeps serving throughout', async () => {
    console.log(`kill9 nodes: seed ${SEED} (replay with COUNTERSIGN_FAULT_SEED=${SEED})`);
    const rng = createRng(SEED);
    const L: Ledger = { reads: new Map(), locks: [], tier3: [], approved: [], raced: [], unexpected: [], ops: { A: 0, B: 0 } };
    const node = { A: a, B: b };
    const plan: { node: NodeName; kind: 'http' | 'sse'; key: CliKey }[] = [
      { node: 'A', kind: 'http', key: keys[0]! }, { node: 'A', kind: 'sse', key: keys[0]! },
      { node: 'B', kind: 'http', key: keys[1]! }, { node: 'B', kind: 'sse', key: keys[1]! },
    ];
    const clients = await Promise.all(plan.map(async (p) => ({ ...p, client: await connect(node[p.node].url, p.kind, p.key.secret) })));
    const consoles: Record<NodeName, ConsoleClient> = { A: await consoleLogin(a.url, PASS), B: await consoleLogin(b.url, PASS) };
    const queue: { id: string; node: NodeName }[] = [];
    let killed = false;
    let stopped = false;
    let seq = 0;
    // Anything failing on B, or on A before the kill, is unexpected (until the test closes the clients itself).
    const note = (n: NodeName, what: string, e: unknown) => {
      if (!stopped && (n === 'B' || !killed)) L.unexpected.push(`${n} ${what}: ${e instanceof Error ? e.message : JSON.stringify(e).slice(0, 300)}`);
    };
    const done = (n: NodeName) => L.ops[n]++;

    const worker = async (c: (typeof clients)[number]) => {
      while (!stopped && !(c.node === 'A' && killed)) {
        const tag = `kill9 nodes #${++seq}`;
        const r = rng.next();
        try {
          if (r < 0.4) {
            const res = await c.client.callTool({ name: 'list_devices', arguments: { limit: rng.int(1, 30) } }, undefined, { timeout: CALL_TIMEOUT_MS });
            if (res.isError) note(c.node, 'list_devices', res);
            else {
              L.reads.set(c.key.id, (L.reads.get(c.key.id) ?? 0) + 1);
              done(c.node);
            }
          } else if (r < 0.7) {
            const res = await c.client.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [rng.pick(devices)], reason: tag } }, undefined, { timeout: CALL_TIMEOUT_MS });
            const out = res.structuredContent as { executionId?: string; commands?: unknown[]; status?: string; approvalId?: string } | undefined;
            if (res.isError || !out) note(c.node, 'lock', res);
            else if (out.status === 'pending_approval' && out.approvalId) {
              // Bulk escalation: a key that locked more than bulkDeviceThreshold devices of a tenant in the window now
              // needs approval (more likely under load, when a node makes more calls in that window): a tier-3 request.
              L.tier3.push({ approvalId: out.approvalId, keyId: c.key.id, node: c.node });
              queue.push({ id: out.approvalId, node: c.node });
              done(c.node);
            } else if (!Array.isArray(out.commands) || !out.executionId) note(c.node, 'lock', res);
            else {
              L.locks.push({ executionId: out.executionId, reason: tag, commands: out.commands.length });
              done(c.node);
            }
          } else {
            const res = await c.client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [rng.pick(devices)], reason: tag } }, undefined, { timeout: CALL_TIMEOUT_MS });
            const out = res.structuredContent as { status?: string; approvalId?: string } | undefined;
            if (res.isError || out?.status !== 'pending_approval' || !out.approvalId) note(c.node, 'reboot', res);
            else {
              L.tier3.push({ approvalId: out.approvalId, keyId: c.key.id, node: c.node });
              queue.push({ id: out.approvalId, node: c.node });
              done(c.node);
            }
          }
        } catch (e) {
          note(c.node, 'tools/call', e);
        }
      }
    };

    const approver = async (n: NodeName) => {
      while (!stopped && !(n === 'A' && killed)) {
        const item = queue.shift();
        if (!item) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        // Some requests stay pending, so that A dies with approvals still open.
        if (rng.chance(0.3)) continue;
        try {
          if (rng.chance(0.3) && !killed) {
            // The same request approved on both nodes at the same moment: exactly one may win.
            const both = await Promise.allSettled([consoles.A.post(`/approvals/${item.id}/approve`), consoles.B.post(`/approvals/${item.id}/approve`)]);
            const statuses = both.map((x) => (x.status === 'fulfilled' ? x.value.status : 0));
            both.forEach((x, i) => {
              if (x.status === 'fulfilled' && x.value.status === 200) L.approved.push({ approvalId: item.id, status: x.value.body.approval.status, node: i ? 'B' : 'A' });
            });
            if (statuses.every((s) => s !== 0)) L.raced.push({ approvalId: item.id, ok: statuses.filter((s) => s === 200).length, statuses });
          } else {
            const r = await consoles[n].post(`/approvals/${item.id}/approve`);
            if (r.status === 200) L.approved.push({ approvalId: item.id, status: r.body.approval.status, node: n });
            else note(n, `approve ${item.id}`, r);
          }
          done(n);
        } catch (e) {
          note(n, 'console', e);
        }
      }
    };

    const running = [...clients.flatMap((c) => [worker(c), worker(c)]), approver('A'), approver('B')];
    await until(`${OPS_BEFORE} operations on each node`, () => L.ops.A >= OPS_BEFORE && L.ops.B >= OPS_BEFORE, 60_000, 20);
    killed = true;
    await a.kill9();
    const afterKill = L.ops.B;
    await until(`${OPS_AFTER} more operations on B after A died`, () => L.ops.B >= afterKill + OPS_AFTER, 60_000, 20);
    stopped = true;
    await Promise.all(clients.map((c) => c.client.close().catch(() => {})));
    await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, CALL_TIMEOUT_MS + 2_000))]);
    console.log(`kill9 nodes: ${L.ops.A} operations on A before SIGKILL, ${L.ops.B} on B (${L.ops.B - afterKill} after); ${L.locks.length} locks, ${L.tier3.length} tier-3 requests, ${L.approved.length} approvals, ${L.raced.length} raced`);
    expect(L.unexpected).toEqual([]);

    const one = async <T = Record<string, unknown>>(text: string, ...p: unknown[]) => (await db.query(text, p)).rows[0] as T | undefined;
    const all = async (text: string, ...p: unknown[]) => (await db.query(text, p)).rows as Record<string, unknown>[];
    const failures: string[] = [];
    const fail = (m: string) => failures.length < 50 && failures.push(m);
    for (const l of L.locks) {
      const n = Number((await one<{ n: string }>('SELECT count(*) AS n FROM device_commands WHERE execution_id = $1', l.executionId))!.n);
      if (n !== l.commands) fail(`lock ${l.executionId}: ${n} device commands, the client saw ${l.commands}`);
      if (!(await one(`SELECT 1 FROM audit_log WHERE event = 'tool_call' AND action = 'lock' AND decision = 'allowed' AND args_json LIKE $1`, `%${l.reason}"%`))) fail(`lock ${l.executionId} (${l.reason}): no audit entry`);
    }
    for (const t of L.tier3) {
      const row = await one<{ key_id: string }>('SELECT key_id FROM approvals WHERE id = $1', t.approvalId);
      if (row?.key_id !== t.keyId) fail(`approval ${t.approvalId} (asked on ${t.node}): stored as ${JSON.stringify(row)}`);
      if (!(await one(`SELECT 1 FROM audit_log WHERE approval_id = $1 AND event = 'tool_call' AND decision = 'pending'`, t.approvalId))) fail(`approval ${t.approvalId}: no pending audit entry`);
    }
    for (const x of L.approved) {
      const row = await one<{ status: string }>('SELECT status FROM approvals WHERE id = $1', x.approvalId);
      if (!['running', 'completed'].includes(String(row?.status))) fail(`approval ${x.approvalId}: approved on ${x.node} but stored as ${String(row?.status)}`);
      const n = Number((await one<{ n: string }>('SELECT count(*) AS n FROM executions WHERE approval_id = $1', x.approvalId))!.n);
      if (n !== 1) fail(`approval ${x.approvalId}: approved once, ${n} executions`);
    }
    for (const r of L.raced) if (r.ok !== 1) fail(`approval ${r.approvalId}: approved on both nodes at once answered ${r.statuses.join(', ')}; exactly one must win`);
    for (const [keyId, n] of L.reads) {
      const m = Number((await one<{ n: string }>(`SELECT count(*) AS n FROM audit_log WHERE key_id = $1 AND tool = 'list_devices' AND decision = 'allowed'`, keyId))!.n);
      if (m < n) fail(`list_devices by ${keyId}: ${n} successes seen, ${m} audit entries`);
    }
    const twice = await all('SELECT approval_id FROM executions WHERE approval_id IS NOT NULL GROUP BY approval_id HAVING count(*) > 1');
    if (twice.length) fail(`approvals executed more than once: ${JSON.stringify(twice)}`);
    const approvedTwice = await all(`SELECT approval_id FROM audit_log WHERE decision = 'approved' GROUP BY approval_id HAVING count(*) > 1`);
    if (approvedTwice.length) fail(`approvals with two approved entries: ${JSON.stringify(approvedTwice)}`);
    const halfDecided = await all(`SELECT id FROM approvals WHERE status = 'approved'`);
    if (halfDecided.length) fail(`approvals left 'approved' (decided, not run): ${JSON.stringify(halfDecided)}`);
    expect(failures).toEqual([]);

    // B still serves, and takes a request A accepted before it died: approved once, on B.
    expect((await fetch(new URL('/readyz', b.url))).status).toBe(200);
    const leftover = L.tier3.find((t) => t.node === 'A' && !L.approved.some((x) => x.approvalId === t.approvalId));
    const pendingOnA = leftover && (await one<{ status: string }>('SELECT status FROM approvals WHERE id = $1', leftover.approvalId))?.status === 'pending' ? leftover : undefined;
    if (pendingOnA) {
      const r = await consoles.B.post(`/approvals/${pendingOnA.approvalId}/approve`);
      expect(r.status).toBe(200);
      expect((await consoles.B.post(`/approvals/${pendingOnA.approvalId}/approve`)).status).toBe(409);
      expect(Number((await one<{ n: string }>('SELECT count(*) AS n FROM executions WHERE approval_id = $1', pendingOnA.approvalId))!.n)).toBe(1);
    }
    // B stops as an operator would stop it: its last checkpoint first takes the lines A signed, so B's file holds them all.
    await b.stop();
    const v = await auditVerifyHere(env, dirB);
    expect(v.status, v.out).toBe(0);
  }, budget(180_000));
});
