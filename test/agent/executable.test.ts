// The Linux agent executable end to end: built by `countersign agent build`, installed with the console's one-line command
// from a root-owned temporary folder with no Node on PATH, run as a service, inventory, an approved script, an approved
// upgrade, a tampered upgrade refused, and an uninstall that leaves nothing behind.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir } from '../../src-main/agentBuild/command.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { approved, call, ConsoleProc, executionOf, finished, until } from './harness.ts';
import { agentBuild } from '../helpers/agentBuild.ts';
import { budget } from '../helpers/wait.ts';
import type { ConsoleClient } from '../helpers/console.ts';
import { pathWithoutNode } from './systemctlDouble.ts';

const SYSTEMD = existsSync('/run/systemd/system') && process.getuid?.() === 0;
// The build cache outside the work tree (as `agent build` uses by default): a fresh clone on the same machine reuses it.
const CACHE = defaultCacheDir(process.env);
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const RUNS = process.platform === 'linux' && process.arch === 'x64' && process.getuid?.() === 0;

let con: ConsoleProc;
let client: Client;
let tech: ConsoleClient;
let root: string;
let env: NodeJS.ProcessEnv;
let exe: string;
let stateDir: string;
let deviceId: string;
let genuine: Buffer;

const rpc = async <T = any>(method: string, input: unknown = {}): Promise<T> => {
  const r = await tech.post(`/rpc/${method}`, input);
  if (r.status !== 200) throw new Error(`${method}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.result as T;
};
const sh = (cmd: string) => spawnSync('bash', ['-c', cmd], { env, cwd: root, encoding: 'utf8', timeout: budget(120_000) });
const agentRunning = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
  try {
    return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] === exe;
  } catch {
    return false;
  }
});
const agentVersion = async () => (await rpc<{ agents: { deviceId: string; version: string | null; upgradeAvailable: boolean }[] }>('agentDeployment')).agents.find((a) => a.deviceId === deviceId);

async function build(version: string): Promise<void> {
  const r = await agentBuild(CACHE, ['--target', 'linux-x64', '--version', version, '--data-dir', con.dir], 300_000);
  if (r.status !== 0) throw new Error(`agent build ${version} failed (${r.status}): ${r.stderr}`);
}

describe.skipIf(!RUNS)(`the Linux agent executable (service manager: ${SYSTEMD ? 'real systemd' : 'systemd is not running here (no /run/systemd/system): a systemctl test double runs the unit'})`, () => {
  beforeAll(async () => {
    con = await ConsoleProc.start({ COUNTERSIGN_AGENT_HEARTBEAT_SECONDS: '1' });
    // 0.1.0 is the same build as the all-target build test's (one injection, cached); 0.1.1 is built for the upgrades below.
    await build('0.1.0');
    client = await con.mcp();
    tech = await con.technician();
    // A root-owned temporary folder as the machine's root (COUNTERSIGN_AGENT_ROOT), or the real / under real systemd.
    root = mkdtempSync(join(tmpdir(), 'cs-exe-'));
    const machine = SYSTEMD ? '' : root;
    if (!SYSTEMD) mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    env = { PATH: pathWithoutNode(root, !SYSTEMD), HOME: root, LANG: 'C', ...(machine ? { COUNTERSIGN_AGENT_ROOT: machine } : {}) };
    exe = join(machine, '/usr/local/lib/countersign-agent/countersign-agent');
    stateDir = join(machine, '/var/lib/countersign-agent');
  }, budget(600_000));

  afterAll(async () => {
    if (env && existsSync(exe)) sh(`"${exe}" uninstall`);
    await con?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
    if (con) rmSync(con.root, { recursive: true, force: true }); // two ~120 MB builds
  });

  it('runs with no Node and no node_modules on PATH, from a root-owned folder', () => {
    expect(sh('command -v node || echo none').stdout.trim()).toBe('none');
    expect(statSync(root).uid).toBe(0);
    expect(sh('echo $PATH').stdout).not.toMatch(/node_modules/);
  });

  it('installs with the console\'s one-line command: enrolls, copies itself, locks its state, registers and starts the service', async () => {
    const cmds = await rpc<{ version: string; commands: { target: string; line: string }[] }>('agentInstallCommands', { tenant: 'acme-dental' });
    expect(cmds.version).toBe('0.1.0');
    const line = cmds.commands.find((c) => c.target === 'linux-x64')!.line;
    expect(line).toMatch(/--pinnedpubkey 'sha256\/\/[A-Za-z0-9+/=]{44}'/);
    // The line is pasted as it is; this machine runs the test as root and has no sudo.
    const r = sh(line.replace('sudo "$f"', '"$f"'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: OK$/m); // sha256sum -c checked the download
    expect(r.stdout).toMatch(/installed: device \S+ in tenant acme-dental, agent 0\.1\.0/);
    deviceId = /device (\S+)/.exec(r.stdout)![1]!;
    expect(statSync(exe).mode & 0o777).toBe(0o755);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, 'agent.json')).mode & 0o777).toBe(0o600);
    const unit = readFileSync(join(SYSTEMD ? '' : root, '/etc/systemd/system/countersign-agent.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\S+countersign-agent run --state-dir \S+$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).not.toMatch(/ProtectSystem|ProtectHome|MemoryDenyWriteExecute/);
    if (!SYSTEMD) expect(readFileSync(join(root, 'systemctl.log'), 'utf8')).toMatch(/daemon-reload\nenable --now countersign-agent.service/);
    await until('the installed agent online at 0.1.0', async () => (await agentVersion())?.version === '0.1.0' && (await rpc<{ agents: any[] }>('listAgents')).agents.find((a) => a.deviceId === deviceId)?.online);
    const status = sh(`"${exe}" status`);
    expect(status.stdout).toMatch(/enrolled: device \S+, tenant acme-dental/);
    expect(status.stdout).toMatch(/connection: connected since \S+ \(agent 0\.1\.0/);
    expect(status.stdout).toMatch(/service: active/);
  }, budget(120_000));

  it('reports the machine\'s real inventory', async () => {
    const d = await until('inventory', async () => {
      const x = await call(client, 'get_device_details', { deviceId });
      return x.hardware?.cpu?.cores > 0 && x.softwareTotal > 0 && x;
    }, 60_000);
    expect(d.device.hostname).toBe(hostname());
    expect(d.device.os).toBe('linux');
    expect(d.hardware.os.arch).toBe('x64');
    expect(d.hardware.agentVersion).toBe('0.1.0');
    // dpkg's own list, read by the executable's child process (bash is installed on every Debian).
    expect(d.software.some((s: { name: string }) => s.name === 'bash') || d.softwareTotal > 200).toBe(true);
  }, budget(90_000));

  it('runs an approved script and returns its output', async () => {
    const approval = await approved(client, tech, 'run_script', { language: 'bash', body: 'echo "uid=$(id -u)"; command -v node || echo "no node here"', deviceIds: [deviceId] });
    const r = await finished(client, await executionOf(client, approval), 60_000);
    expect(r.commands[0]).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(r.commands[0].stdout).toMatch(/uid=0\nno node here/);
  }, budget(90_000));

  it('a tampered upgrade build is refused and the running version keeps running', async () => {
    await build('0.1.1');
    expect((await agentVersion())?.upgradeAvailable).toBe(true);
    const before = sha(exe);
    const pending = await call(client, 'upgrade_agent', { deviceIds: [deviceId], version: '0.1.1', reason: 'tamper test' });
    expect(pending.status).toBe('pending_approval');
    // The approval carries the published SHA-256; the file on the console is then altered (an attacker with the data folder).
    const file = join(con.dir, 'agent-builds/0.1.1/linux-x64/countersign-agent');
    genuine = readFileSync(file);
    const bytes = Buffer.from(genuine);
    const at = bytes.length - 100;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
    writeFileSync(file, bytes);
    expect((await tech.post(`/approvals/${pending.approvalId}/approve`)).status).toBe(200);
    const r = await finished(client, await executionOf(client, pending.approvalId), 120_000);
    expect(r.commands[0].status).toBe('failed');
    expect(r.commands[0].stderr).toMatch(/refused: the downloaded build has SHA-256 [0-9a-f]{64}, the console signed [0-9a-f]{64}; nothing was changed, 0\.1\.0 keeps running/);
    expect(sha(exe)).toBe(before);
    expect(existsSync(`${exe}.previous`)).toBe(false);
    expect(sh(`"${exe}" version`).stdout.trim()).toBe('0.1.0');
    expect((await agentVersion())?.version).toBe('0.1.0');
    writeFileSync(file, genuine); // put the real build back for the next test
  }, budget(300_000));

  it('an approved upgrade to a newer build is applied, restarted by the service manager and reported', async () => {
    const approval = await approved(client, tech, 'upgrade_agent', { deviceIds: [deviceId] });
    const r = await finished(client, await executionOf(client, approval), 180_000);
    expect(r.commands[0], JSON.stringify(r.commands[0])).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(r.commands[0].stdout).toMatch(/upgraded from 0\.1\.0 to 0\.1\.1/);
    expect(sha(exe)).toBe(sha(join(con.dir, 'agent-builds/0.1.1/linux-x64/countersign-agent')));
    expect(existsSync(`${exe}.previous`)).toBe(false);
    await until('the console sees 0.1.1', async () => (await agentVersion())?.version === '0.1.1');
    expect((await agentVersion())?.upgradeAvailable).toBe(false);
    expect(sh(`"${exe}" status`).stdout).toMatch(/connection: connected since \S+ \(agent 0\.1\.1/);
    if (!SYSTEMD) expect(readFileSync(join(root, 'agent.log'), 'utf8')).toMatch(/\[double\] exited 75/);
    const audit = con.db.prepare(`SELECT detail_json AS detail FROM audit_log WHERE outcome = 'agent version changed' ORDER BY seq DESC LIMIT 1`).get() as { detail: string };
    expect(JSON.parse(audit.detail)).toMatchObject({ from: '0.1.0', to: '0.1.1' });
  }, budget(300_000));

  it('uninstall stops the service and leaves nothing behind', () => {
    const r = sh(`"${exe}" uninstall`);
    expect(r.status, r.stderr).toBe(0);
    // Checked: the executable and its folder, the state folder (identity, journal, status), the unit, the service, the process.
    for (const p of [exe, join(exe, '..'), stateDir, join(SYSTEMD ? '' : root, '/etc/systemd/system/countersign-agent.service')]) expect(existsSync(p), p).toBe(false);
    expect(agentRunning(), 'an agent process is left').toBe(false);
    expect(sh('systemctl is-active countersign-agent.service').stdout.trim()).toBe('inactive');
    if (!SYSTEMD) expect(readFileSync(join(root, 'systemctl.log'), 'utf8')).toMatch(/disable --now countersign-agent.service\ndaemon-reload$/m);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('tmp.') && statSync(join(tmpdir(), f)).size > 1_000_000)).toEqual([]);
  });
});
