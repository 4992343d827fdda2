// Which package managers an agent uses, by OS and by the tool's presence, and how approved updates reach each one's install
// command. The real code path runs with the command table overridden (the scan commands print recorded outputs with `cat`,
// installs are `echo`); nothing in production code is stubbed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanPatches } from '../../src-main/agent/patches.ts';
import { collectSoftware } from '../../src-main/agent/software.ts';
import { AgentConfig, commandTable, expand } from '../../src-main/agent/config.ts';
import { DEFAULT_PATCH_COMMANDS, localCommand, managerFor, wingetPath } from '../../src-main/agent/patchManagers.ts';
import { prepare } from '../../src-main/agent/execute.ts';
import type { CommandEnvelope, Facts } from '../../src-main/agent/protocol.ts';
import { storeInventory } from '../../src-main/agentServer/inventory.ts';
import { openApp } from '../../src-main/app.ts';
import { initTestDir } from '../helpers/server.ts';

const fx = (name: string) => join(import.meta.dirname, 'fixtures', name);
const cat = (name: string) => ({ scan: ['cat', fx(name)] });
const ABSENT = { scan: ['/nonexistent/countersign-test-tool'] };
const FAILS = { scan: ['sh', '-c', 'echo "Windows Update service is disabled (0x80070422)" >&2; exit 1'] };
const config = (c: object) => AgentConfig.parse(c);

describe('patch scanning: managers by OS, then by presence', () => {
  it('Windows scans Windows Update and winget, in that order, into one report', async () => {
    const r = (await scanPatches('windows', config({ patchManagers: { windows_update: cat('windows-update-scan.json'), winget: cat('winget-upgrade.txt') } })))!;
    expect(r.manager).toBe('windows_update');
    expect(r.managers).toEqual(['windows_update', 'winget']);
    expect(r.updates).toHaveLength(6 + 8);
    expect(r.updates[0]!.externalId).toBe('KB5041585=1');
    expect(r.updates.at(-1)!.externalId).toBe('Discord.Discord=1.0.9162');
  });

  it('a manager that is not installed, or whose scan fails, is left out (and logged); none at all is null', async () => {
    const logs: string[] = [];
    const noWinget = (await scanPatches('windows', config({ patchManagers: { windows_update: cat('windows-update-scan.json'), winget: ABSENT } }), (l) => logs.push(l)))!;
    expect(noWinget.managers).toEqual(['windows_update']);
    expect(logs).toEqual([]); // absent is not a failure
    const wuDown = (await scanPatches('windows', config({ patchManagers: { windows_update: FAILS, winget: cat('winget-upgrade-none.txt') } }), (l) => logs.push(l)))!;
    expect(wuDown).toMatchObject({ manager: 'winget', managers: ['winget'], updates: [] });
    expect(logs).toEqual([expect.stringMatching(/^windows_update scan failed \(failed, exit 1\): Windows Update service is disabled/)]);
    expect(await scanPatches('windows', config({ patchManagers: { windows_update: ABSENT, winget: ABSENT } }))).toBeNull();
  });

  it('macOS scans softwareupdate (its "nothing available" goes to stderr); Linux scans apt; neither runs the other\'s tools', async () => {
    const mac = (await scanPatches('macos', config({ patchManagers: { softwareupdate: cat('softwareupdate-list.txt'), apt: FAILS, winget: FAILS } })))!;
    expect(mac).toMatchObject({ manager: 'softwareupdate', managers: ['softwareupdate'] });
    expect(mac.updates.map((u) => u.severity)).toEqual(['important', 'moderate', 'moderate', 'important', 'low']);
    const none = { scan: ['sh', '-c', 'printf "Software Update Tool\\n\\nFinding available software\\n"; echo "No new software available." >&2'] };
    expect(await scanPatches('macos', config({ patchManagers: { softwareupdate: none } }))).toMatchObject({ managers: ['softwareupdate'], updates: [] });
    const linux = (await scanPatches('linux', config({ patchManagers: { apt: cat('apt-upgradable.txt'), windows_update: FAILS } })))!;
    expect(linux).toMatchObject({ manager: 'apt', managers: ['apt'] });
    expect(linux.updates.map((u) => [u.externalId, u.severity])).toEqual([['openssl=3.0.17-1~deb12u3', 'critical'], ['bash=5.2.15-2+b13', 'low']]);
  });

  it('the default table: the real tools, by OS', () => {
    const names = (os: Facts['os']) => commandTable(os, config({})).patchManagers.map((m) => [m.name, m.scan[0]]);
    expect(names('linux')).toEqual([['apt', 'apt']]);
    expect(names('windows')).toEqual([['windows_update', 'powershell'], ['winget', 'winget']]);
    expect(names('macos')).toEqual([['softwareupdate', 'softwareupdate']]);
    expect(DEFAULT_PATCH_COMMANDS.windows_update.scan.at(-1)).toContain("CreateUpdateSearcher().Search(\"IsInstalled=0 and IsHidden=0 and Type='Software'\")");
  });
});

describe('patch installs: each update to its own manager', () => {
  it('routes by the externalId\'s syntax', () => {
    expect(managerFor('windows', 'KB5041585=1')).toBe('windows_update');
    expect(managerFor('windows', '5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e8f=1')).toBe('windows_update');
    expect(managerFor('windows', 'Mozilla.Firefox=130.0.1')).toBe('winget');
    expect(managerFor('macos', 'macOS Sonoma 14.6.1-23G93=14.6.1')).toBe('softwareupdate');
    expect(managerFor('linux', 'openssl=3.0.17-1~deb12u3')).toBe('apt');
  });

  it('the default install commands take exactly the approved version, each value one argument', () => {
    expect(expand(DEFAULT_PATCH_COMMANDS.winget.install, { consoleHost: 'h', package: 'Mozilla.Firefox=130.0.1' })).toEqual([
      'winget', 'upgrade', '--id', 'Mozilla.Firefox', '--version', '130.0.1', '--exact', '--silent', '--accept-package-agreements', '--accept-source-agreements', '--disable-interactivity']);
    expect(expand(DEFAULT_PATCH_COMMANDS.softwareupdate.install, { consoleHost: 'h', package: 'macOS Sonoma 14.6.1 (a)-23G93a=14.6.1a' }))
      .toEqual(['softwareupdate', '--install', 'macOS Sonoma 14.6.1 (a)-23G93a', '--agree-to-license']);
    expect(() => expand(DEFAULT_PATCH_COMMANDS.winget.install, { consoleHost: 'h', package: 'Evil.App=--source' })).toThrow(/option/);
  });

  it('a mixed Windows deployment runs Windows Update once for its updates and winget once per package, under one result', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'cs-patch-'));
    const cfg = config({ patchManagers: {
      windows_update: { install: ['sh', '-c', 'printf "wu got: %s\\n" "$(echo $COUNTERSIGN_PATCHES)"'] },
      winget: { install: ['echo', 'winget', 'upgrade', '--id', '{id}', '--version', '{version}'] },
    } });
    const command: CommandEnvelope = {
      commandId: 'c1', deviceId: 'd1', approvalId: null, kind: 'patch_install', issuedAt: new Date().toISOString(), nonce: 'n'.repeat(16), notBefore: null, signature: null,
      payload: { patches: ['KB5041585=1', 'Mozilla.Firefox=130.0.1', 'KB890830=1', '7zip.7zip=24.08'], requiresReboot: true },
    };
    const p = prepare(command, { stateDir, os: 'windows', config: cfg, consoleHost: '127.0.0.1', onSpawn: () => {}, signal: new AbortController().signal });
    if (!p.ok) throw new Error(p.message);
    const r = await p.run();
    expect(r).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(r.stdout).toBe('$ sh -c printf "wu got: %s\\n" "$(echo $COUNTERSIGN_PATCHES)"\nwu got: KB5041585=1 KB890830=1\n\n'
      + '$ echo winget upgrade --id Mozilla.Firefox --version\nwinget upgrade --id Mozilla.Firefox --version 130.0.1\n\n'
      + '$ echo winget upgrade --id 7zip.7zip --version\nwinget upgrade --id 7zip.7zip --version 24.08\n');

    // One failing install fails the command, and the rest still ran.
    const failing = config({ patchManagers: { windows_update: { install: ['false'] }, winget: { install: ['echo', '{id}'] } } });
    const q = prepare(command, { stateDir, os: 'windows', config: failing, consoleHost: '127.0.0.1', onSpawn: () => {}, signal: new AbortController().signal });
    if (!q.ok) throw new Error(q.message);
    expect(await q.run()).toMatchObject({ status: 'failed', exitCode: 1, stdout: expect.stringContaining('Mozilla.Firefox\n') });
  });
});

describe('the console keeps the findings of a manager that was not scanned', () => {
  it('a report without winget leaves winget patches missing; the managers it scanned close what they no longer list', async () => {
    const app = await openApp(await initTestDir(), { log: () => {} });
    try {
      const device = app.db.prepare(`SELECT id, hostname, os_version FROM devices WHERE os = 'windows' LIMIT 1`).get() as { id: string; hostname: string; os_version: string };
      const facts = { hostname: device.hostname, os: 'windows' as const, osVersion: device.os_version, ip: null };
      const hardware = { manufacturer: 'x', model: 'y', serial: '', cpu: { model: 'c', cores: 4 }, memoryGb: 8, disks: [], network: [],
        os: { platform: 'win32', distro: 'Windows 11', release: '23H2', codename: '', kernel: '10.0', arch: 'x64' }, agentVersion: 't', collectedAt: new Date().toISOString() };
      const u = (externalId: string) => ({ externalId, title: externalId, severity: 'important' as const, requiresReboot: false });
      const state = () => Object.fromEntries((app.db.prepare(`SELECT p.external_id, dp.state FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
        WHERE dp.device_id = ? AND dp.patch_id LIKE 'apt-%'`).all(device.id) as { external_id: string; state: string }[]).map((r) => [r.external_id, r.state]));
      const report = (managers: ('windows_update' | 'winget')[], ids: string[]) => ({ manager: managers[0]!, managers, scannedAt: new Date().toISOString(), updates: ids.map(u) });
      await storeInventory(app.store, device.id, { facts, hardware, software: [], patches: report(['windows_update', 'winget'], ['KB5041585=1', 'Mozilla.Firefox=130.0.1']) });
      expect(state()).toEqual({ 'KB5041585=1': 'missing', 'Mozilla.Firefox=130.0.1': 'missing' });
      await storeInventory(app.store, device.id, { facts, hardware, software: [], patches: report(['windows_update'], []) });
      expect(state()).toEqual({ 'KB5041585=1': 'installed', 'Mozilla.Firefox=130.0.1': 'missing' });
      await storeInventory(app.store, device.id, { facts, hardware, software: [], patches: report(['winget'], []) });
      expect(state()).toEqual({ 'KB5041585=1': 'installed', 'Mozilla.Firefox=130.0.1': 'installed' });
    } finally {
      app.close();
    }
  });
});

describe('installed software by OS', () => {
  it('Windows reads the registry list, macOS system_profiler, Linux dpkg then rpm; one entry per name', async () => {
    const win = await collectSoftware('windows', { softwareList: { windows_registry: ['cat', fx('windows-software.json')], dpkg: ['false'] } });
    expect(win).toHaveLength(6); // Firefox was listed twice (64- and 32-bit keys)
    expect(win.find((s) => s.name === 'Zoom Workplace (64-bit)')).toEqual({ name: 'Zoom Workplace (64-bit)', version: '6.1.1 (44331)', publisher: 'Zoom Video Communications, Inc.' });
    const mac = await collectSoftware('macos', { softwareList: { system_profiler: ['cat', fx('system-profiler-apps.json')] } });
    expect(mac.map((s) => s.name)).toEqual(['Safari', 'Firefox', 'Microsoft Teams', 'Slack', 'legacy-backup-helper']);
    const rpm = await collectSoftware('linux', { softwareList: { dpkg: ['/nonexistent/dpkg-query'], rpm: ['printf', 'bash\\t5.2.26-3.fc40\\tFedora Project\\nzsh\\t5.9-14.fc40\\t(none)\\n'] } });
    expect(rpm).toEqual([{ name: 'bash', version: '5.2.26-3.fc40', publisher: 'Fedora Project' }, { name: 'zsh', version: '5.9-14.fc40', publisher: null }]);
    expect(await collectSoftware('macos', { softwareList: { system_profiler: ['sh', '-c', 'echo "not json"'] } })).toEqual([]);
  });

  it('this Debian machine: the real dpkg list', async () => {
    const real = await collectSoftware('linux');
    expect(real.find((s) => s.name === 'bash')).toMatchObject({ name: 'bash', version: expect.any(String) });
  });
});

describe('winget for the SYSTEM account', () => {
  it('finds the newest App Installer under Program Files\\WindowsApps, and only on Windows', () => {
    const dirs = ['Microsoft.DesktopAppInstaller_1.22.10861.0_x64__8wekyb3d8bbwe', 'Microsoft.DesktopAppInstaller_1.23.1911.0_x64__8wekyb3d8bbwe',
      'Microsoft.DesktopAppInstaller_1.9.25200.0_x64__8wekyb3d8bbwe', 'Microsoft.WindowsTerminal_1.20.11781.0_x64__8wekyb3d8bbwe'];
    expect(wingetPath('C:\\Program Files', () => dirs)).toBe('C:\\Program Files\\WindowsApps\\Microsoft.DesktopAppInstaller_1.23.1911.0_x64__8wekyb3d8bbwe\\winget.exe');
    expect(wingetPath('C:\\Program Files', () => [])).toBeNull();
    expect(wingetPath('C:\\Program Files', () => { throw new Error('EACCES'); })).toBeNull();
    expect(localCommand(['winget', 'upgrade'], 'linux')).toEqual(['winget', 'upgrade']);
    expect(localCommand(['softwareupdate', '--list'], 'win32')).toEqual(['softwareupdate', '--list']);
  });
});
