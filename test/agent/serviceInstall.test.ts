// install / uninstall / status of the Windows and macOS agent (and Linux's refusal without systemd) with the OS command
// runner replaced by a recorder, as the patch managers' command table is: the registration commands, paths, file modes and
// ACL commands are checked here on Linux. They have not run on a real Windows or macOS machine.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { install, installedPaths, managerFor, status, uninstall, type InstallContext } from '../../src-main/agent/service/install.ts';
import { layoutFor } from '../../src-main/agent/service/layout.ts';
import { stateAcl, winswXml, wrapperPath } from '../../src-main/agent/service/windows.ts';
import { launchdPlist } from '../../src-main/agent/service/launchd.ts';
import { systemdUnit } from '../../src-main/agent/service/systemd.ts';
import { ensureStateDir, identityPath, writeSecretFile, type Identity } from '../../src-main/agent/state.ts';
import type { Runner } from '../../src-main/agent/service/manager.ts';
import type { RunOutcome } from '../../src-main/agent/exec.ts';

const ok = (stdout = ''): RunOutcome => ({ status: 'completed', exitCode: 0, stdout, stderr: '', durationMs: 1 });
const FAKE_ID: Identity = {
  version: 1, url: 'https://console.example:4443', agentId: '6f1c2f0e-8b7a-4d7e-9a51-0c2e4b1d7a10', deviceId: 'dev-1', secret: `csa_${'a'.repeat(43)}`, tenant: 'acme-dental',
  consolePublicKey: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----', certPem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----', certSha256: 'a'.repeat(64),
  enrolledAt: '2026-01-01T00:00:00.000Z',
};

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A recorder for OS commands; `answer` decides each one's outcome (default: success, empty output). */
function recorder(answer: (argv: string[]) => RunOutcome | null = () => ok()) {
  const calls: string[][] = [];
  const run: Runner = async (argv) => {
    calls.push(argv);
    return answer(argv);
  };
  return { calls, run };
}

function setup(os: 'windows' | 'macos' | 'linux', answer?: (argv: string[]) => RunOutcome | null) {
  const root = mkdtempSync(join(tmpdir(), `cs-svc-${os}-`));
  made.push(root);
  const env = os === 'windows' ? { ProgramFiles: join(root, 'Program Files'), ProgramData: join(root, 'ProgramData') } : { COUNTERSIGN_AGENT_ROOT: root };
  const layout = layoutFor(os, env);
  const self = join(root, 'downloaded-agent');
  writeFileSync(self, 'the agent executable');
  const rec = recorder(answer);
  const log: string[] = [];
  const ctx: InstallContext = {
    layout, manager: managerFor(layout, rec.run, () => Buffer.from('MZ winsw stand-in')), self, log: (l) => log.push(l), isRoot: () => true,
    // Enrollment itself is the same code on every OS (enroll.ts, proven end to end on Linux): here it writes an identity.
    enroll: async (p) => {
      ensureStateDir(p.stateDir);
      writeSecretFile(identityPath(p.stateDir), JSON.stringify(FAKE_ID));
      return FAKE_ID;
    },
  };
  return { root, layout, ctx, calls: rec.calls, log };
}

describe('Windows (not run on a real Windows machine): WinSW service, icacls ACL', () => {
  it('install copies the executable to Program Files, locks ProgramData to SYSTEM and Administrators, writes WinSW and registers the service', async () => {
    const { layout, ctx, calls, root } = setup('windows');
    await install({ url: FAKE_ID.url, token: 'cset.x' }, ctx);
    expect(layout.exe).toBe(join(root, 'Program Files', 'Countersign Agent', 'countersign-agent.exe'));
    expect(layout.stateDir).toBe(join(root, 'ProgramData', 'Countersign Agent'));
    expect(readFileSync(layout.exe, 'utf8')).toBe('the agent executable');
    expect(readFileSync(wrapperPath(layout), 'utf8')).toBe('MZ winsw stand-in');
    expect(calls).toEqual([
      ['icacls', layout.stateDir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'],
      [wrapperPath(layout), 'install'],
      ['sc.exe', 'failureflag', 'CountersignAgent', '1'],
      ['sc.exe', 'start', 'CountersignAgent'],
    ]);
    const xml = readFileSync(layout.serviceFile, 'utf8');
    expect(xml).toBe(winswXml(layout));
    expect(xml).toContain(`<executable>${layout.exe}</executable>`);
    expect(xml).toContain(`<arguments>run --state-dir "${layout.stateDir}"</arguments>`);
    expect(xml).toMatch(/<startmode>Automatic<\/startmode>/);
    expect(xml.match(/<onfailure action="restart"/g)).toHaveLength(3);
  });

  it('escapes XML in paths, and the ACL names SIDs (not localised group names)', () => {
    const l = layoutFor('windows', { ProgramFiles: 'C:\\Apps & <Tools>', ProgramData: 'C:\\ProgramData' });
    expect(winswXml(l)).toContain('Apps &amp; &lt;Tools&gt;');
    expect(stateAcl('D')).not.toContain('SYSTEM');
  });

  it('status reads the service state from sc.exe query; uninstall stops, unregisters and removes every file', async () => {
    const { layout, ctx, calls } = setup('windows', (argv) => (argv[1] === 'query' ? ok('SERVICE_NAME: CountersignAgent\r\n        STATE              : 4  RUNNING \r\n') : ok()));
    await install({ url: FAKE_ID.url, token: 'cset.x' }, ctx);
    expect(await status(ctx)).toEqual([
      `enrolled: device dev-1, tenant acme-dental, console ${FAKE_ID.url} (since ${FAKE_ID.enrolledAt})`,
      'connection: unknown (the agent has not run yet)',
      'service: running',
    ]);
    calls.length = 0;
    expect(await uninstall(ctx)).toEqual([]);
    expect(calls).toEqual([['sc.exe', 'stop', 'CountersignAgent'], [wrapperPath(layout), 'uninstall']]);
    for (const p of installedPaths(ctx)) expect(existsSync(p), p).toBe(false);
  });

  it('a failed registration undoes the install and says the agent stays enrolled', async () => {
    const { ctx } = setup('windows', (argv) => (argv[1] === 'start' ? { ...ok(), exitCode: 1053, stderr: 'The service did not respond' } : ok()));
    await expect(install({ url: FAKE_ID.url, token: 'cset.x' }, ctx)).rejects.toThrow(/install failed: sc.exe start CountersignAgent failed \(exit 1053\).*stays enrolled/);
    for (const p of installedPaths(ctx)) expect(existsSync(p), p).toBe(false);
  });
});

describe('macOS (not run on a real Mac): launchd daemon', () => {
  it('install copies to /Library/Countersign Agent, state 0700 with a 0600 identity, a 0644 plist, bootstrap + enable + kickstart', async () => {
    const { layout, ctx, calls, root } = setup('macos');
    await install({ url: FAKE_ID.url, token: 'cset.x' }, ctx);
    expect(layout.exe).toBe(join(root, 'Library/Countersign Agent/countersign-agent'));
    expect(layout.serviceFile).toBe(join(root, 'Library/LaunchDaemons/com.countersign.agent.plist'));
    expect(statSync(layout.exe).mode & 0o777).toBe(0o755);
    expect(statSync(layout.stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(identityPath(layout.stateDir)).mode & 0o777).toBe(0o600);
    expect(statSync(layout.serviceFile).mode & 0o777).toBe(0o644);
    expect(calls).toEqual([
      ['launchctl', 'bootstrap', 'system', layout.serviceFile],
      ['launchctl', 'enable', 'system/com.countersign.agent'],
      ['launchctl', 'kickstart', 'system/com.countersign.agent'],
    ]);
    const plist = readFileSync(layout.serviceFile, 'utf8');
    expect(plist).toBe(launchdPlist(layout));
    expect(plist).toContain(`<string>${layout.exe}</string>\n    <string>run</string>\n    <string>--state-dir</string>\n    <string>${layout.stateDir}</string>`);
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(plist).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
  });

  it('uninstall boots the daemon out and removes the executable, the plist, the state and the logs', async () => {
    const { ctx, calls } = setup('macos');
    await install({ url: FAKE_ID.url, token: 'cset.x' }, ctx);
    calls.length = 0;
    expect(await uninstall(ctx)).toEqual([]);
    expect(calls).toEqual([['launchctl', 'bootout', 'system/com.countersign.agent']]);
    for (const p of installedPaths(ctx)) expect(existsSync(p), p).toBe(false);
  });

  it('refuses a second install over an installed agent', async () => {
    const { ctx } = setup('macos');
    await install({ url: FAKE_ID.url, token: 'cset.x' }, ctx);
    await expect(install({ url: FAKE_ID.url, token: 'cset.x' }, ctx)).rejects.toThrow(/already installed .*uninstall first/);
  });
});

describe('Linux', () => {
  it('refuses to install where systemd is not running, before enrolling (no token use is spent)', async () => {
    const { ctx, calls } = setup('linux');
    let enrolled = false;
    await expect(install({ url: FAKE_ID.url, token: 'cset.x' }, { ...ctx, enroll: async () => ((enrolled = true), FAKE_ID) })).rejects.toThrow(/systemd is not running/);
    expect(enrolled).toBe(false);
    expect(calls).toEqual([]);
  });

  it('refuses without root', async () => {
    const { ctx } = setup('linux');
    await expect(install({ url: FAKE_ID.url, token: 'cset.x' }, { ...ctx, isRoot: () => false })).rejects.toThrow(/needs root/);
  });

  it('the unit quotes a path with spaces', () => {
    const unit = systemdUnit({ ...layoutFor('linux', {}), exe: '/opt/my agent/countersign-agent' });
    expect(unit).toMatch(/^ExecStart="\/opt\/my agent\/countersign-agent" run --state-dir \/var\/lib\/countersign-agent$/m);
  });
});
