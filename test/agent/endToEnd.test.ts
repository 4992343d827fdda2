// Issue 5 end to end, real processes: serve, two enrolled agents, approved commands running on this machine.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import type { ConsoleClient } from '../helpers/console.ts';
import { parseAptUpgradable } from '../../src-main/agent/patches.ts';
import { AgentProc, ConsoleProc, approved, call, csHere, executionOf, finished, until, SAFE_CONFIG, SCANNING_CONFIG, startTwoAgents, stopTwoAgents } from './harness.ts';

let con: ConsoleProc;
let a: AgentProc;
let b: AgentProc;
let client: Client;
let tech: ConsoleClient;

beforeAll(async () => {
  // Agent a scans for patches as a real agent does (get_patch_status is checked against apt); b does not need to.
  ({ con, a, b, client, tech } = await startTwoAgents(['agent-a', 'agent-b'], [SCANNING_CONFIG, SAFE_CONFIG]));
}, budget(60_000));

afterAll(() => stopTwoAgents({ con, a, b }));

describe('enrolled agents on this machine', () => {
  it('serve keeps stdout to the one listening line and announces the agent listener on stderr', () => {
    expect(con.stdoutText().trim().split('\n')).toEqual([`listening ${con.url}`]);
    expect(con.agentUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('stores the identity 0600 and the secret only as an HMAC', () => {
    const file = join(a.stateDir, 'agent.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(a.stateDir).mode & 0o777).toBe(0o700);
    const secret = (JSON.parse(spawnSync('cat', [file], { encoding: 'utf8' }).stdout) as { secret: string }).secret;
    const dump = JSON.stringify(con.db.prepare('SELECT * FROM agents').all()) + JSON.stringify(con.db.prepare('SELECT * FROM audit_log').all());
    expect(dump).not.toContain(secret);
  });

  it('each agent is a new online device of its tenant in list_devices', async () => {
    const r = await until('both online', async () => {
      const l = await call<{ devices: { id: string; hostname: string; status: string; os: string }[] }>(client, 'list_devices', { search: 'agent-', limit: 100 });
      return l.devices.filter((d) => d.status === 'online').length === 2 && l;
    });
    expect(r.devices.map((d) => d.id).sort()).toEqual([a.deviceId, b.deviceId].sort());
    expect(r.devices.every((d) => d.os === 'linux')).toBe(true);
  });

  it('get_device_details shows the real machine: OS, CPU, memory, disks, interfaces and dpkg software', async () => {
    const d = await until('inventory with software', async () => {
      const x = await call<any>(client, 'get_device_details', { deviceId: a.deviceId });
      return x.softwareTotal > 0 && x;
    });
    const osRelease = spawnSync('sh', ['-c', '. /etc/os-release; echo "$NAME $VERSION_ID"'], { encoding: 'utf8' }).stdout.trim();
    expect(d.device.osVersion).toContain(osRelease);
    expect(d.hardware.cpu.cores).toBeGreaterThan(0);
    expect(d.hardware.memoryGb).toBeGreaterThan(0);
    expect(d.hardware.disks.some((x: { mount: string }) => x.mount === '/')).toBe(true);
    expect(d.hardware.network.length).toBeGreaterThan(0);
    const installed = spawnSync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\t${Package}\n'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('ii'));
    expect(d.softwareTotal).toBe(new Set(installed.map((l) => l.split('\t')[1])).size);
    expect(d.software.some((s: { name: string }) => s.name === 'bash')).toBe(true);
  });

  it('get_patch_status reports exactly what apt reports on this machine, with severities', async () => {
    const apt = parseAptUpgradable(spawnSync('apt', ['list', '--upgradable'], { encoding: 'utf8', env: { ...process.env, LANG: 'C' } }).stdout);
    const seen: { externalId: string; severity: string; state: string }[] = [];
    await until('patch report', async () => {
      seen.length = 0;
      let cursor: string | undefined;
      do {
        const r = await call<any>(client, 'get_patch_status', { deviceId: a.deviceId, limit: 100, ...(cursor ? { cursor } : {}) });
        seen.push(...r.patches);
        cursor = r.nextCursor ?? undefined;
      } while (cursor);
      return seen.length === apt.length;
    });
    expect(seen.map((p) => p.externalId).sort()).toEqual(apt.map((p) => p.externalId).sort());
    const sev = new Map(apt.map((p) => [p.externalId, p.severity]));
    for (const p of seen) expect(p.severity).toBe(sev.get(p.externalId));
    expect(seen.every((p) => p.state === 'missing')).toBe(true);
    if (apt.some((p) => p.severity !== 'low')) expect((await call<any>(client, 'get_device_details', { deviceId: a.deviceId })).device.compliance).toBe('non_compliant');
  });

  it('an approved run_script runs on both agents; stdout, stderr and exit code come back through get_script_results and get_approval_status', async () => {
    const body = 'echo "hello $CS_PARAM_who from $(hostname)"\necho "to stderr" >&2\nexit 0\n';
    const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body, deviceIds: [a.deviceId, b.deviceId], parameters: { who: 'technician' }, timeoutSeconds: 30 });
    const executionId = await executionOf(client, approvalId);
    const r = await finished(client, executionId);
    expect(r.counts).toMatchObject({ completed: 2 });
    for (const c of r.commands) {
      expect(c.status).toBe('completed');
      expect(c.exitCode).toBe(0);
      expect(c.stdout).toMatch(/^hello technician from /);
      expect(c.stderr).toBe('to stderr\n');
      expect(c.startedAt).toBeTruthy();
      expect(c.finishedAt).toBeTruthy();
    }
    const s = await until('approval completed', async () => {
      const x = await call<any>(client, 'get_approval_status', { approvalId });
      return x.status === 'completed' && x;
    });
    expect(s.commands).toEqual({ completed: 2 });
  });

  it('a model that follows only get_approval_status\'s answers gets the script\'s real output, never "completed" beside a queued command', async () => {
    const body = 'echo "report $CS_PARAM_marker"\n';
    const pending = await call<{ status: string; approvalId: string; message: string }>(client, 'run_script', { language: 'bash', body, deviceIds: [a.deviceId], parameters: { marker: 'm-4711' }, timeoutSeconds: 30 });
    expect(pending.message).toMatch(/get_approval_status/);
    let next: { tool: string; arguments: Record<string, unknown> } | null = { tool: 'get_approval_status', arguments: { approvalId: pending.approvalId } };
    const answers: any[] = [];
    const approval = until('get_approval_status to stop pointing at itself', async () => {
      const answer = await call<any>(client, next!.tool, next!.arguments);
      answers.push(answer);
      if (answers.length === 1) await tech.post(`/approvals/${pending.approvalId}/approve`);
      next = answer.next;
      return next?.tool !== 'get_approval_status' && answer;
    }, 30_000, 100);
    const done = await approval;
    expect(done.status).toBe('completed');
    expect(done.executions[0].commands[0]).toMatchObject({ deviceId: a.deviceId, status: 'completed', exitCode: 0, stdout: 'report m-4711\n' });
    // The last answer names the full result reader; following it gives the same output.
    expect(next).toEqual({ tool: 'get_script_results', arguments: { executionId: done.executions[0].executionId } });
    const full = await call<any>(client, next!.tool, next!.arguments);
    expect(full.commands[0].stdout).toBe('report m-4711\n');
    for (const x of answers) {
      const open = (x.commands.queued ?? 0) + (x.commands.running ?? 0);
      if (x.status === 'completed') {
        expect(open, JSON.stringify(x)).toBe(0);
        expect(x.result.commands.every((c: { status: string }) => c.status === 'completed'), JSON.stringify(x.result)).toBe(true);
        expect(x.message).not.toMatch(/queued|picked it up/);
      }
    }
  });

  it('a failing python script records its exit code and fails the approval', async () => {
    const approvalId = await approved(client, tech, 'run_script', { language: 'python', body: 'import sys\nprint("py", sys.version_info[0])\nsys.exit(3)\n', deviceIds: [b.deviceId], timeoutSeconds: 30 });
    const r = await finished(client, await executionOf(client, approvalId));
    expect(r.commands[0]).toMatchObject({ status: 'failed', exitCode: 3, stdout: 'py 3\n' });
    await until('approval failed', async () => (await call<any>(client, 'get_approval_status', { approvalId })).status === 'failed');
  });

  it('device actions go through the command table: lock (tier 2) at once, reboot and isolate after approval', async () => {
    const lock = await call<{ executionId: string }>(client, 'device_actions', { action: 'lock', deviceIds: [a.deviceId] });
    expect((await finished(client, lock.executionId)).commands[0]).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'would lock\n' });
    const reboot = await approved(client, tech, 'device_actions', { action: 'reboot', deviceIds: [a.deviceId, b.deviceId], reason: 'test' });
    const rr = await finished(client, await executionOf(client, reboot));
    expect(rr.commands.map((c) => c.stdout)).toEqual(['would reboot\n', 'would reboot\n']);
    const iso = await approved(client, tech, 'device_actions', { action: 'isolate', deviceIds: [b.deviceId] });
    const ir = await finished(client, await executionOf(client, iso));
    expect(ir.commands[0].stdout).toBe('would isolate, keeping 127.0.0.1\n');
    expect((await call<any>(client, 'get_device_details', { deviceId: b.deviceId })).device.isolated).toBe(true);
  });

  it('deploy_patches installs an apt update through the package-manager entry of the command table', async () => {
    const missing = await call<any>(client, 'get_patch_status', { deviceId: a.deviceId, limit: 1 });
    if (missing.patches.length === 0) return; // nothing upgradable on this machine
    const patch = missing.patches[0];
    const approvalId = await approved(client, tech, 'deploy_patches', { deviceIds: [a.deviceId], patchIds: [patch.patchId], overrideMaintenanceWindow: true });
    const r = await finished(client, await executionOf(client, approvalId));
    expect(r.commands[0]).toMatchObject({ status: 'completed', stdout: `would install ${patch.externalId}\n` });
    await until('approval completed', async () => (await call<any>(client, 'get_approval_status', { approvalId })).status === 'completed');
  });

  it('after a console restart the agents reconnect by themselves (backoff) and commands flow again', async () => {
    const mark = a.out!.text.length;
    await con.restart();
    client = await con.mcp();
    tech = await con.technician();
    await a.out!.waitFor(/\[agent\] connected /, 20_000, mark);
    const lock = await call<{ executionId: string }>(client, 'device_actions', { action: 'lock', deviceIds: [a.deviceId] });
    expect((await finished(client, lock.executionId)).commands[0]).toMatchObject({ status: 'completed', stdout: 'would lock\n' });
  });

  it('a revoked agent loses its connection, is refused on reconnect (audited), and its device goes offline', async () => {
    const r = await csHere(['agents', 'revoke', b.deviceId, '--data-dir', con.dir]);
    expect(r.stdout).toMatch(/^revoked agent /);
    await until('b offline', async () => (await call<any>(client, 'get_device_details', { deviceId: b.deviceId })).device.status === 'offline');
    await b.out!.waitFor(/refused the connection: HTTP 401/);
    expect((con.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth' AND code = 'AGENT_REVOKED'`).get() as { n: number }).n).toBeGreaterThan(0);
    const list = JSON.parse((await csHere(['agents', 'list', '--data-dir', con.dir, '--json'])).stdout) as { hostname: string; revokedAt: string | null }[];
    expect(list.find((x) => x.hostname === 'agent-b')!.revokedAt).toBeTruthy();
    expect(list.find((x) => x.hostname === 'agent-a')!.revokedAt).toBeNull();
  });

  it('every result is in the audit log, and the chain still verifies', async () => {
    const rows = con.db.prepare(`SELECT decision, rule FROM audit_log WHERE event = 'execution' AND rule LIKE 'agent_%'`).all() as { decision: string; rule: string }[];
    expect(rows.filter((r) => r.rule === 'agent_dispatch').length).toBeGreaterThanOrEqual(7);
    expect(rows.filter((r) => r.rule === 'agent_result' && r.decision === 'completed').length).toBeGreaterThanOrEqual(6);
    const v = await csHere(['audit', 'verify', '--data-dir', con.dir]);
    expect(v.stdout).toMatch(/audit chain OK/);
  });
});
