// Faults on the agent channel (issue 7), real processes: `countersign serve` and two `countersign agent run`, each
// agent enrolled through its own test-only TCP proxy (no TLS termination, so the pinned certificate is still the
// listener's; a process of its own, so a stalled test process is not a silent link) that the test can cut, block, silence, or make drop the next frame the console sends. Every script
// appends one line (its command id) to a marker file when it starts, so a second execution would show as a second line.
// Faults: a TCP reset mid-script, a command frame lost in flight, a link down past the lease, a result held in the
// journal across a link outage and an agent SIGKILL, seeded repeated cuts during a batch, a silent (half-open) link,
// agents restarted mid-command (SIGTERM and SIGKILL), serve restarted with agents connected (SIGTERM and SIGKILL).
// Asserted after each: every command ends in a definite state (completed / failed / timed_out), none runs twice,
// approvals roll up from their commands; throughout: no command stays `running` past its lease while serve is up; at
// the end: nothing queued or running, `audit verify` passes. The same campaign (same seed, same faults) runs on both
// stores: serve on the data directory's SQLite file, then on PostgreSQL (`serve --store postgres://…`); the checks read
// the database through the store's Sql seam.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConsoleClient } from '../helpers/console.ts';
import { createRng, seedFromEnv } from '../helpers/prng.ts';
import { ProxyProcess } from '../helpers/tcpProxyProcess.ts';
import { alive, budget } from '../helpers/wait.ts';
import { describeStores, type StoreKind } from '../helpers/stores.ts';
import type { InstallSql } from '../helpers/installSql.ts';
import { placeholders } from '../../src-main/store/sql.ts';
import { AgentProc, ConsoleProc, approved, call, csAsync, executionOf, finished, until } from '../agent/harness.ts';

const SEED = seedFromEnv('COUNTERSIGN_FAULT_SEED', 0xa6e7);
const HEARTBEAT_S = 1;
/** A script's lease is its time limit (at least 10 s) plus this grace. */
const LEASE_GRACE_S = 1;
/** A signed command's frame as TLS record(s) on the wire is larger than this; pongs and acks are smaller. */
const COMMAND_FRAME_MIN_BYTES = 300;
/** Cut rounds of the chaos test (the 6 s window it used to have held ~13 on average). */
const CHAOS_ROUNDS = 13;

let con: ConsoleProc;
/** The install's database (read-only), on either store. */
let db: InstallSql;
let a: AgentProc;
let b: AgentProc;
let pa: ProxyProcess;
let pb: ProxyProcess;
let client: Client;
let tech: ConsoleClient;
let marks: string;
let ends: string;
/** Every command the test created, with what it was. */
let created: { commandId: string; approvalId: string; tag: string; deviceId: string }[];
/** Running commands seen past their lease (plus tick and polling slack, scaled to the machine) while serve was up. */
let overdue: string[];
let consoleUp: boolean;
let watchdog: NodeJS.Timeout | undefined;
let started: number;

async function setUp(store: StoreKind): Promise<void> {
  created = [];
  overdue = [];
  consoleUp = true;
  started = performance.now();
  con = await ConsoleProc.start({ COUNTERSIGN_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_S), COUNTERSIGN_AGENT_LEASE_GRACE_SECONDS: String(LEASE_GRACE_S) }, store);
  // What runs in this process (the CLI's commands, module loading) comes before the agents connect, so that the first
  // test starts on settled links.
  client = await con.mcp();
  tech = await con.technician();
  db = await con.sql();
  marks = join(con.root, 'marks');
  ends = join(con.root, 'ends');
  [pa, pb] = await Promise.all([ProxyProcess.start(con.agentUrl), ProxyProcess.start(con.agentUrl)]);
  const token = await con.token('acme-dental', ['--uses', '2']);
  a = new AgentProc(con.root, 'chan-a');
  b = new AgentProc(con.root, 'chan-b');
  // Enrolled through the proxies.
  await Promise.all(([[a, pa], [b, pb]] as const).map(async ([agent, proxy]) => {
    const r = await agent.enrollAsync(proxy.url, token);
    if (r.status !== 0) throw new Error(`enroll ${agent.name} through the proxy failed: ${r.stderr}`);
  }));
  expect(JSON.parse(readFileSync(join(a.stateDir, 'agent.json'), 'utf8')).url).toBe(pa.url);
  await Promise.all([a.start(), b.start()]);
  // The lease watchdog: a running command whose lease ended more than a tick (1 s) plus polling slack ago is stuck.
  // One reading at a time: a slow one is not overtaken by the next.
  let reading = false;
  watchdog = setInterval(() => {
    if (!consoleUp || reading) return;
    reading = true;
    db.sql.all<{ id: string }>(`SELECT c.id FROM device_commands c JOIN command_dispatch d ON d.command_id = c.id
      WHERE c.status = 'running' AND d.lease_expires_at < ?`, [new Date(Date.now() - budget(2_500)).toISOString()])
      .then((rows) => {
        for (const r of rows) if (!overdue.includes(r.id)) overdue.push(r.id);
      }, () => {
        // busy: next round
      })
      .finally(() => (reading = false));
  }, 250);
}

async function tearDown(): Promise<void> {
  clearInterval(watchdog);
  await Promise.all([a?.stop(), b?.stop()]);
  await con?.stop();
  await Promise.all([pa?.close(), pb?.close()]);
}

/** A bash script that marks its start (one line per execution), sleeps, marks its end and prints `done TAG`. */
/** A script that marks its start, waits `seconds` or, with 'gate', until the test creates its gate file (an event the
 * test controls, not a time), then marks its end. */
const script = (tag: string, wait: number | 'gate') =>
  `echo "$COUNTERSIGN_COMMAND_ID ${tag}" >> ${marks}\necho $$ > ${marks}.${tag}.pid\n${wait === 'gate' ? `while [ ! -e ${marks}.${tag}.gate ]; do sleep 0.05; done` : `sleep ${wait}`}\necho "$COUNTERSIGN_COMMAND_ID ${tag}" >> ${ends}\necho "done ${tag}"\n`;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const runsOf = (commandId: string) => lines(marks).filter((l) => l.startsWith(`${commandId} `)).length;
const endsOf = (commandId: string) => lines(ends).filter((l) => l.startsWith(`${commandId} `)).length;
const startedCount = (tag: string) => lines(marks).filter((l) => l.endsWith(` ${tag}`)).length;

async function runScript(tag: string, seconds: number | 'gate', devices: AgentProc[], timeoutSeconds = 30) {
  const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body: script(tag, seconds), deviceIds: devices.map((d) => d.deviceId), timeoutSeconds });
  const executionId = await executionOf(client, approvalId);
  const r = await call<{ commands: { commandId: string; deviceId: string }[] }>(client, 'get_script_results', { executionId });
  for (const c of r.commands) created.push({ commandId: c.commandId, approvalId, tag, deviceId: c.deviceId });
  return { approvalId, executionId, commandIds: r.commands.map((c) => c.commandId) };
}

const startedAll = (tag: string, n: number) => until(`${n} start(s) of ${tag}`, () => startedCount(tag) >= n, 15_000, 50);
const approvalStatus = async (approvalId: string) => call<{ status: string; commands: Record<string, number> }>(client, 'get_approval_status', { approvalId });
const approvalBecomes = (approvalId: string, status: string, ms = 10_000) =>
  until(`approval ${approvalId} ${status}`, async () => {
    const s = await approvalStatus(approvalId);
    return s.status === status && s;
  }, ms, 150);
const reconnected = (agent: AgentProc, from: number, ms = 15_000) => agent.out!.waitFor(/\[agent\] connected /, ms, from);
/** Connections both proxies have cut so far. */
const cutTotal = async () => (await pa.stats()).cut + (await pb.stats()).cut;
const dispatchCount = async (commandId: string) => (await db.sql.get<{ n: number }>('SELECT dispatch_count AS n FROM command_dispatch WHERE command_id = ?', [commandId]))?.n;

describeStores('agent channel faults', (store) => {
  beforeAll(() => setUp(store), budget(60_000));
  afterAll(tearDown);

  it('a TCP reset mid-script on one of two devices: the agent reconnects, the result comes back once, the approval completes', async () => {
    const { approvalId, executionId, commandIds } = await runScript('reset', 2, [a, b]);
    await startedAll('reset', 2);
    const from = a.out!.text.length;
    // The agents' own logs name any other cut (a dropped link delivers its command again, rightly): shown on failure.
    const logs = () => `agent a:\n${a.out!.text}\nagent b:\n${b.out!.text}\nconsole:\n${con.stderr?.text.slice(-3000)}`;
    expect(await pa.sever(), logs()).toBeGreaterThan(0);
    await reconnected(a, from);
    const r = await finished(client, executionId, 15_000);
    expect(r.commands.map((c) => c.status)).toEqual(['completed', 'completed']);
    for (const c of r.commands) {
      expect(c.stdout).toBe('done reset\n');
      expect(runsOf(c.commandId)).toBe(1);
    }
    // The reconnected agent said the command was still running there: the console did not deliver it again.
    for (const id of commandIds) expect(await dispatchCount(id), logs()).toBe(1);
    expect((await approvalBecomes(approvalId, 'completed')).commands).toEqual({ completed: 2 });
  });

  it('a reconnect within the inventory interval (an hour here) reports no inventory again: a flapping link costs the machine nothing', async () => {
    // Each agent process reports on its first connection (setUp's).
    await a.out!.waitFor(/\[agent\] inventory sent: \d+ programs/);
    for (let round = 0; round < 2; round++) {
      const from = a.out!.text.length;
      expect(await pa.sever()).toBeGreaterThan(0);
      await reconnected(a, from);
      // Decided on the welcome, before anything else the connection does; the old agent collected and sent it all again.
      await a.out!.waitFor(/\[agent\] inventory not due: reported \d+ s ago, every 3600 s/, 10_000, from);
      expect(a.out!.text.slice(from)).not.toMatch(/inventory sent/);
    }
  });

  it('a command frame lost in flight (the connection dies as it is sent): the agent never saw it, it is delivered again on reconnect and runs once', async () => {
    // The command's frame, not the pong that answers the agent's heartbeat ping (~30 bytes) or an ack (~100).
    const lostBefore = (await pa.stats()).lostInFlight;
    expect(await pa.cutOnNextFromTarget(COMMAND_FRAME_MIN_BYTES)).toBe(1);
    const from = a.out!.text.length;
    const { approvalId, executionId, commandIds } = await runScript('in-flight', 0.2, [a]);
    await reconnected(a, from);
    const r = await finished(client, executionId, 15_000);
    expect((await pa.stats()).lostInFlight - lostBefore).toBeGreaterThanOrEqual(COMMAND_FRAME_MIN_BYTES);
    expect(r.commands[0]).toMatchObject({ status: 'completed', stdout: 'done in-flight\n' });
    expect(runsOf(commandIds[0]!)).toBe(1);
    // Delivered again on the reconnect; once more per further reconnect before it ran (a stalled machine can make the
    // console drop a link that missed 3 heartbeats), never without one.
    const reconnects = (a.out!.text.slice(from).match(/\[agent\] connected /g) ?? []).length;
    expect(await dispatchCount(commandIds[0]!)).toBeGreaterThanOrEqual(2);
    expect(await dispatchCount(commandIds[0]!)).toBeLessThanOrEqual(1 + reconnects);
    expect((await approvalBecomes(approvalId, 'completed')).commands).toEqual({ completed: 1 });
  });

  it('the link down past the lease: failed (lease expired) on time, then the real result from the agent journal replaces it and the approval rolls up again', async () => {
    const { approvalId, executionId, commandIds } = await runScript('lease', 1, [a], 10); // lease = 10 s + 1 s grace
    await startedAll('lease', 1);
    await pa.block();
    await pa.sever();
    try {
      await until('script ended while the link is down', () => endsOf(commandIds[0]!) === 1, 10_000, 50);
      const lost = await until('lease expiry', async () => {
        const x = await call<any>(client, 'get_script_results', { executionId });
        return x.commands[0].status !== 'running' && x.commands[0];
      }, 16_000, 100);
      // On time: the watchdog above holds every lease to a tick plus slack; here the order is what counts (expired
      // while the link was still down, before the real result could arrive).
      expect(lost.status).toBe('failed');
      expect(lost.stderr).toMatch(/lease expired/);
      expect((await approvalBecomes(approvalId, 'failed')).commands).toEqual({ failed: 1 });
    } finally {
      await pa.unblock();
    }
    const late = await until('late result', async () => {
      const x = await call<any>(client, 'get_script_results', { executionId });
      return x.commands[0].status === 'completed' && x.commands[0];
    }, 15_000, 150);
    expect(late).toMatchObject({ exitCode: 0, stdout: 'done lease\n' });
    expect((await approvalBecomes(approvalId, 'completed')).commands).toEqual({ completed: 1 });
    expect(runsOf(commandIds[0]!)).toBe(1);
    const rules = await db.sql.all<{ rule: string }>(`SELECT rule FROM audit_log WHERE event = 'execution' AND rule LIKE 'agent_%' AND detail_json LIKE ? ORDER BY seq`, [`%${commandIds[0]}%`]);
    expect(rules.map((x) => x.rule)).toEqual(['agent_dispatch', 'agent_lease_expired', 'agent_result_late']);
  });

  it('a result that finished while the link was down survives an agent SIGKILL: the restarted agent delivers it from its journal, once', async () => {
    // The script ends when the test says so, after the link is down: with a fixed sleep, a loaded machine could finish
    // it (and deliver its result) before the link was cut.
    const { approvalId, executionId, commandIds } = await runScript('journal', 'gate', [b]);
    const id = commandIds[0]!;
    await startedAll('journal', 1);
    await pb.block();
    await pb.sever();
    try {
      writeFileSync(`${marks}.journal.gate`, '');
      await until('script ended while the link is down', () => endsOf(id) === 1, 10_000, 50);
      await b.out!.waitFor(new RegExp(`command ${id} completed`), 5_000);
      await b.stop('SIGKILL');
      expect((await db.sql.get<{ status: string }>('SELECT status FROM device_commands WHERE id = ?', [id]))!.status).toBe('running');
    } finally {
      await pb.unblock();
      // Restarted whatever happened above: the tests after this one need the agent.
      await b.start();
    }
    const r = await finished(client, executionId, 15_000);
    expect(r.commands[0]).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'done journal\n' });
    expect(runsOf(id)).toBe(1);
    expect(await dispatchCount(id)).toBe(1);
    expect((await approvalBecomes(approvalId, 'completed')).commands).toEqual({ completed: 1 });
  });

  it('repeated cuts at seeded random points of a batch on both devices: every command completes, each exactly once', async () => {
    const rng = createRng(SEED);
    const tags = ['chaos-1', 'chaos-2', 'chaos-3', 'chaos-4'];
    // The batch's progress, as events: each script's start and end on each device, and each command recorded completed.
    const EVENTS = tags.length * 2 * 3;
    // The whole schedule comes from the seed up front, in terms of that progress, so a replay cuts at the same points of
    // the batch whatever the machine's speed.
    const cutsPlan = Array.from({ length: CHAOS_ROUNDS }, () => ({
      after: rng.int(0, EVENTS - 1),
      // A reset now, or on the next frame the console sends (a command or a result_ack lost in flight).
      which: rng.pick(['a', 'b', 'both', 'a-next-frame', 'b-next-frame'] as const),
    })).sort((x, y) => x.after - y.after);
    // The next script goes in once the previous one has started on this many devices (0: at once).
    const batchPlan = tags.map((tag) => ({ tag, seconds: rng.int(2, 10) / 10, startedOn: rng.int(0, 2) }));
    const runs: Awaited<ReturnType<typeof runScript>>[] = [];
    const ours = (l: string) => tags.some((t) => l.endsWith(` ${t}`));
    const progress = async () => {
      const ids = runs.flatMap((r) => r.commandIds);
      const completed = ids.length ? await db.num(`SELECT count(*) AS n FROM device_commands WHERE status = 'completed' AND id IN (${placeholders(ids.length)})`, ids) : 0;
      return lines(marks).filter(ours).length + lines(ends).filter(ours).length + completed;
    };
    const cutBefore = await cutTotal();
    let stop = false;
    const fromA = a.out!.text.length;
    const fromB = b.out!.text.length;
    const chaos = (async () => {
      for (const { after, which } of cutsPlan) {
        await until(`batch event ${after + 1} of ${EVENTS} (next cut: ${which})`, async () => stop || (await progress()) > after, 30_000, 25);
        if (stop) return;
        // Each round hits a live link: wait for the agents it targets to be connected (again) first.
        const targets = which === 'both' ? [pa, pb] : which.startsWith('a') ? [pa] : [pb];
        await until(`a live link to cut (${which})`, async () => stop || (await Promise.all(targets.map((p) => p.stats()))).every((s) => s.live > 0), 15_000, 25);
        if (which === 'a-next-frame') await pa.cutOnNextFromTarget();
        else if (which === 'b-next-frame') await pb.cutOnNextFromTarget();
        else await Promise.all(targets.map((p) => p.sever()));
      }
    })();
    try {
      for (const { tag, seconds, startedOn } of batchPlan) {
        runs.push(await runScript(tag, seconds, [a, b]));
        await until(`${tag} started on ${startedOn} device(s)`, () => startedCount(tag) >= startedOn, 30_000, 25);
      }
    } catch (e) {
      stop = true;
      throw e;
    } finally {
      await chaos;
      await Promise.all([pa.disarm(), pb.disarm()]);
    }
    const results = await Promise.all(runs.map((r) => finished(client, r.executionId, 25_000)));
    for (const [i, r] of results.entries()) {
      expect(r.commands.map((c) => c.status), tags[i]).toEqual(['completed', 'completed']);
      for (const c of r.commands) {
        expect(c.stdout).toBe(`done ${tags[i]}\n`);
        expect(runsOf(c.commandId), `${tags[i]} ${c.commandId}`).toBe(1);
      }
    }
    for (const r of runs) expect((await approvalBecomes(r.approvalId, 'completed')).commands).toEqual({ completed: 2 });
    const ids = runs.flatMap((r) => r.commandIds);
    const [sa, sb] = await Promise.all([pa.stats(), pb.stats()]);
    const inFlight = sa.lostInFlight + sb.lostInFlight;
    const cuts = sa.cut + sb.cut - cutBefore;
    let redeliveries = 0;
    for (const id of ids) redeliveries += ((await dispatchCount(id)) ?? 1) - 1;
    const reconnects = (a.out!.text.slice(fromA).match(/\[agent\] connected /g) ?? []).length + (b.out!.text.slice(fromB).match(/\[agent\] connected /g) ?? []).length;
    console.log(`agent channel chaos: seed ${SEED} (replay with COUNTERSIGN_FAULT_SEED=${SEED}); ${cuts} connections cut, ${reconnects} reconnects, ${ids.length} commands completed once each, ${redeliveries} redeliveries; ${inFlight} bytes lost in flight in total`);
    expect(cuts).toBeGreaterThan(5);
  });

  it('a silent link (half-open: no RST, no FIN reaches the agent): the agent notices within a few heartbeats and reconnects; the result still arrives', async () => {
    const { approvalId, executionId, commandIds } = await runScript('silent', 2, [a], 30);
    await startedAll('silent', 1);
    const from = a.out!.text.length;
    expect(await pa.freeze()).toBeGreaterThan(0);
    // New connections are refused until both sides have noticed: an agent that noticed first would otherwise reconnect
    // and replace its link before the console dropped it (the device would never show offline), or within a moment of
    // the drop (too short a time to be seen offline).
    await pa.block();
    const t0 = Date.now();
    const consoleErrFrom = con.stderr!.text.length;
    let noticed: number | undefined;
    try {
      // The console notices: after 3 missed heartbeats it drops the connection and the device goes offline…
      await until(() => `the console marks the device offline; the agent since the freeze:\n${a.out!.text.slice(from)}`,
        async () => (await db.sql.get<{ status: string }>('SELECT status FROM devices WHERE id = ?', [a.deviceId]))!.status === 'offline', 8_000, 100);
      const consoleNoticed = Date.now() - t0;
      // …and says so in its log, naming the agent: a technician reading it learns why the device went offline.
      await con.stderr!.waitFor(new RegExp(`agent [0-9a-f-]+ \\(device ${a.deviceId}\\) silent for \\d+ ms: connection dropped`), 5_000, consoleErrFrom);
      console.log(`agent channel: silent link dropped by the console after ${consoleNoticed} ms`);
      // …and the agent must notice too, within a few heartbeats, rather than stay on the dead link until TCP gives up.
      await a.out!.waitFor(/\[agent\] the console went silent/, 8_000, from);
      noticed = Date.now() - t0;
    } finally {
      await pa.unblock();
      if (noticed === undefined) await pa.sever(); // let the agent recover so that the other tests can go on
    }
    await reconnected(a, from, 8_000);
    console.log(`agent channel: silent link noticed by the agent after ${noticed} ms`);
    const r = await finished(client, executionId, 15_000);
    expect(r.commands[0]).toMatchObject({ status: 'completed', stdout: 'done silent\n' });
    expect(runsOf(commandIds[0]!)).toBe(1);
    await approvalBecomes(approvalId, 'completed');
  });

  it('agents restarted mid-command (SIGTERM and SIGKILL): both commands end failed, the leftover is stopped, nothing runs again; the next approval completes', async () => {
    const { approvalId, executionId, commandIds } = await runScript('restart', 30, [a, b], 60);
    await startedAll('restart', 2);
    const orphan = Number(readFileSync(`${marks}.restart.pid`, 'utf8'));
    await Promise.all([a.stop('SIGTERM'), b.stop('SIGKILL')]);
    await Promise.all([a.start(), b.start()]);
    const r = await finished(client, executionId, 15_000);
    const byDevice = new Map(r.commands.map((c) => [c.deviceId, c]));
    expect(byDevice.get(a.deviceId)).toMatchObject({ status: 'failed' });
    expect(byDevice.get(a.deviceId)!.stderr).toMatch(/stopped: the agent was shutting down/);
    expect(byDevice.get(b.deviceId)).toMatchObject({ status: 'failed' });
    expect(byDevice.get(b.deviceId)!.stderr).toMatch(/interrupted: the agent stopped while this command was running/);
    await until('no script of the restarted agents is left', () => !alive(orphan), 10_000);
    expect((await approvalBecomes(approvalId, 'failed')).commands).toEqual({ failed: 2 });
    for (const id of commandIds) {
      expect(runsOf(id)).toBe(1);
      expect(endsOf(id)).toBe(0);
    }
    const next = await runScript('after-restart', 0.2, [a, b]);
    expect((await finished(client, next.executionId)).counts).toMatchObject({ completed: 2 });
  }, budget(45_000));

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`serve restarted (${signal}) with both agents connected mid-command: every command completes once and approvals roll up in the new process`, async () => {
      const t = signal.toLowerCase();
      // SIGTERM: the scripts end while serve is down (results wait in the journals). SIGKILL: they run through the restart,
      // and one more approval is decided just before the kill (its commands may or may not have been dispatched).
      const running = await runScript(`${t}-running`, signal === 'SIGTERM' ? 1 : 3, [a, b]);
      await startedAll(`${t}-running`, 2);
      const fresh = signal === 'SIGKILL' ? await runScript(`${t}-fresh`, 0.3, [a, b]) : undefined;
      const from = [a.out!.text.length, b.out!.text.length];
      consoleUp = false;
      // SIGTERM: serve stays down until both scripts have ended and both agents have journaled their results.
      const endedWhileDown = () => Promise.all(running.commandIds.map(async (id) => {
        await until(`${id} ended while serve is down`, () => endsOf(id) === 1, 15_000, 50);
        const agent = created.find((c) => c.commandId === id)!.deviceId === a.deviceId ? a : b;
        await agent.out!.waitFor(new RegExp(`command ${id} completed`), 5_000);
      }));
      await con.restart(signal, signal === 'SIGTERM' ? endedWhileDown : undefined);
      consoleUp = true;
      client = await con.mcp();
      tech = await con.technician();
      await Promise.all([reconnected(a, from[0]!), reconnected(b, from[1]!)]);
      for (const [tag, run] of [[`${t}-running`, running], [`${t}-fresh`, fresh]] as const) {
        if (!run) continue;
        const r = await finished(client, run.executionId, 20_000);
        expect(r.commands.map((c) => c.status), tag).toEqual(['completed', 'completed']);
        for (const c of r.commands) {
          expect(c.stdout).toBe(`done ${tag}\n`);
          expect(runsOf(c.commandId), `${tag} ${c.commandId}`).toBe(1);
        }
        expect((await approvalBecomes(run.approvalId, 'completed')).commands).toEqual({ completed: 2 });
      }
    }, budget(45_000));
  }

  it('afterwards: nothing queued or running, no lease overrun, no command ran twice, approvals match their commands, the audit chain verifies', async () => {
    const states = await db.sql.all<{ status: string; n: number }>(`SELECT status, count(*) AS n FROM device_commands WHERE device_id IN (?, ?) GROUP BY status`, [a.deviceId, b.deviceId]);
    for (const s of states) expect(['completed', 'failed', 'timed_out']).toContain(s.status);
    expect(overdue, 'commands seen running past their lease').toEqual([]);
    const perId = new Map<string, number>();
    for (const l of lines(marks)) perId.set(l.split(' ')[0]!, (perId.get(l.split(' ')[0]!) ?? 0) + 1);
    expect([...perId.entries()].filter(([, n]) => n > 1)).toEqual([]);
    expect(created.every((c) => perId.get(c.commandId) === 1)).toBe(true);
    // Each approval is the roll-up of its commands: completed when all completed, failed otherwise.
    const approvals = [...new Set(created.map((c) => c.approvalId))];
    for (const id of approvals) {
      const rows = await db.sql.all<{ status: string }>(`SELECT c.status FROM device_commands c JOIN executions e ON e.id = c.execution_id WHERE e.approval_id = ?`, [id]);
      const want = rows.every((r) => r.status === 'completed') ? 'completed' : 'failed';
      expect((await db.sql.get<{ status: string }>('SELECT status FROM approvals WHERE id = ?', [id]))!.status, id).toBe(want);
    }
    const v = await csAsync(['audit', 'verify', ...con.at]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/audit chain OK/);
    const byStatus = Object.fromEntries(states.map((s) => [s.status, s.n]));
    const [sa, sb] = await Promise.all([pa.stats(), pb.stats()]);
    console.log(`agent channel: ${created.length} commands in ${approvals.length} approvals (${JSON.stringify(byStatus)}), `
      + `${sa.accepted + sb.accepted} proxied connections, ${sa.cut + sb.cut} cut; ${Math.round(performance.now() - started)} ms; ${v.stdout.trim()}`);
  });
});
