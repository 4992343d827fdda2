// Commands across agent outages: queued while offline, killed mid-script, over their time limit, lost for good.
import { alive, budget } from '../helpers/wait.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ConsoleClient } from '../helpers/console.ts';
import { AgentProc, ConsoleProc, approved, call, executionOf, finished, until } from './harness.ts';

let con: ConsoleProc;
let a: AgentProc;
let b: AgentProc;
let c: AgentProc;
let client: Client;
let tech: ConsoleClient;

const statusOf = async (deviceId: string) => (await call<any>(client, 'get_device_details', { deviceId })).device.status as string;
const dispatchCount = (commandId: string) => (con.db.prepare('SELECT dispatch_count AS n FROM command_dispatch WHERE command_id = ?').get(commandId) as { n: number } | undefined)?.n ?? 0;

/**
 * Resolves once the hub's once-a-second tick has flushed `agent`'s heartbeats `n` more times: ticks that would have
 * delivered, expired or ended a command if it were going to (however slowly this machine runs them).
 */
async function hubTicks(agent: AgentProc, n: number): Promise<void> {
  const heartbeat = () => (con.db.prepare('SELECT last_heartbeat_at AS at FROM agents WHERE device_id = ?').get(agent.deviceId) as { at: string }).at;
  const seen = new Set([heartbeat()]);
  await until(`${n} heartbeat flushes of ${agent.name}`, () => seen.add(heartbeat()).size > n, 10_000, 50);
}

beforeAll(async () => {
  con = await ConsoleProc.start({ COUNTERSIGN_AGENT_HEARTBEAT_SECONDS: '1', COUNTERSIGN_AGENT_LEASE_GRACE_SECONDS: '3' });
  const token = await con.token('acme-dental', ['--uses', '3']);
  a = new AgentProc(con.root, 'life-a');
  b = new AgentProc(con.root, 'life-b');
  c = new AgentProc(con.root, 'life-c');
  for (const x of [a, b, c]) expect(x.enroll(con.agentUrl, token).status).toBe(0);
  await Promise.all([a.start(), b.start(), c.start()]);
  client = await con.mcp();
  tech = await con.technician();
}, budget(60_000));

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await con?.stop();
});

describe('commands across agent outages', () => {
  it('an offline device goes offline, its command stays queued, and runs when the agent reconnects', async () => {
    await a.stop();
    await until('offline', async () => (await statusOf(a.deviceId)) === 'offline');
    const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body: 'echo ran after reconnect\n', deviceIds: [a.deviceId], timeoutSeconds: 30 });
    const executionId = await executionOf(client, approvalId);
    await hubTicks(b, 2);
    const queued = await call<any>(client, 'get_script_results', { executionId });
    expect(queued.commands[0].status).toBe('queued');
    expect((await call<any>(client, 'get_approval_status', { approvalId })).status).toBe('running');
    await a.start();
    expect(await statusOf(a.deviceId)).toBe('online');
    const r = await finished(client, executionId);
    expect(r.commands[0]).toMatchObject({ status: 'completed', stdout: 'ran after reconnect\n', exitCode: 0 });
  });

  it('a killed agent mid-script: the command ends failed on reconnect, its orphan is stopped, and it never runs twice', async () => {
    const marks = join(con.root, 'kill-marks');
    const body = `echo start >> ${marks}\necho $$ > ${marks}.pid\nsleep 60\necho done >> ${marks}\n`;
    const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body, deviceIds: [a.deviceId], timeoutSeconds: 120 });
    const executionId = await executionOf(client, approvalId);
    const commandId = (await call<any>(client, 'get_script_results', { executionId })).commands[0].commandId as string;
    await until('script started', () => existsSync(`${marks}.pid`) && readFileSync(`${marks}.pid`, 'utf8').trim());
    const orphan = Number(readFileSync(`${marks}.pid`, 'utf8'));
    expect((await call<any>(client, 'get_script_results', { executionId })).commands[0].status).toBe('running');
    await a.stop('SIGKILL');
    expect(alive(orphan)).toBe(true); // the script's process group outlives a SIGKILLed agent…
    await a.start();
    const r = await finished(client, executionId);
    expect(r.commands[0].status).toBe('failed');
    expect(r.commands[0].stderr).toMatch(/interrupted: the agent stopped while this command was running.*leftover processes were stopped.*not run again/);
    await until('orphan stopped', () => !alive(orphan)); // …until the restarted agent stops it
    await until('approval failed', async () => (await call<any>(client, 'get_approval_status', { approvalId })).status === 'failed');
    // Never run twice: the command ended, it was sent once, and the restarted agent did not start it.
    expect(dispatchCount(commandId)).toBe(1);
    expect(a.out!.text).not.toContain(`running command ${commandId}`);
    expect(readFileSync(marks, 'utf8')).toBe('start\n');
  });

  it('a script over its time limit is killed and recorded timed_out; an agent that never comes back loses its lease → failed', async () => {
    const slow = await approved(client, tech, 'run_script', { language: 'bash', body: 'echo begin\nsleep 60\n', deviceIds: [b.deviceId], timeoutSeconds: 10 });
    const lostPid = join(con.root, 'lost.pid');
    const lost = await approved(client, tech, 'run_script', { language: 'bash', body: `echo $$ > ${lostPid}\nsleep 60\n`, deviceIds: [c.deviceId], timeoutSeconds: 10 });
    const lostExec = await executionOf(client, lost);
    await until('lost script running', async () => (await call<any>(client, 'get_script_results', { executionId: lostExec })).commands[0].status === 'running');
    await c.stop('SIGKILL');
    // Nobody restarts this agent, so nobody stops its orphan: the test does.
    onTestFinished(() => {
      try {
        process.kill(-Number(readFileSync(lostPid, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    });
    const [slowR, lostR] = await Promise.all([finished(client, await executionOf(client, slow), 30_000), finished(client, lostExec, 30_000)]);
    expect(slowR.commands[0]).toMatchObject({ status: 'timed_out', exitCode: null, stdout: 'begin\n' });
    expect(slowR.commands[0].stderr).toMatch(/killed after the 10 s time limit/);
    expect(lostR.commands[0].status).toBe('failed');
    expect(lostR.commands[0].stderr).toMatch(/lease expired/);
    const audit = con.db.prepare(`SELECT code FROM audit_log WHERE event = 'execution' AND code IN ('COMMAND_TIMED_OUT', 'COMMAND_LEASE_EXPIRED')`).all() as { code: string }[];
    expect(audit.map((x) => x.code).sort()).toEqual(['COMMAND_LEASE_EXPIRED', 'COMMAND_TIMED_OUT']);
    expect(await statusOf(c.deviceId)).toBe('offline');
  }, budget(45_000));
});
