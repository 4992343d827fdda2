// The desktop app connected to a team server (COUNTERSIGN_TEAM_URL) instead of its embedded one: the URL's rules, and
// the compiled main process booted against the recording electron stand-in: no data directory, no server of its own,
// the window on the team server's console without the IPC bridge, only that origin allowed besides app://console.
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTeamUrl, teamServerUrl } from '../../src-main/electron/teamServer.ts';
import { buildMain, desktopHome, launchDesktop, type Desktop } from './standin/harness.ts';
import { budget } from '../helpers/wait.ts';

describe('COUNTERSIGN_TEAM_URL', () => {
  it('https anywhere, http only on loopback; no credentials; the console is the origin\'s root', () => {
    expect(teamServerUrl({})).toBeUndefined();
    expect(teamServerUrl({ COUNTERSIGN_TEAM_URL: '  ' })).toBeUndefined();
    expect(teamServerUrl({ COUNTERSIGN_TEAM_URL: 'https://team.msp.example:8443/console/#/x' })!.toString()).toBe('https://team.msp.example:8443/');
    expect(teamServerUrl({ COUNTERSIGN_TEAM_URL: 'http://127.0.0.1:4319' })!.toString()).toBe('http://127.0.0.1:4319/');
    expect(teamServerUrl({ COUNTERSIGN_TEAM_URL: 'http://[::1]:4319' })!.toString()).toBe('http://[::1]:4319/');
    expect(() => teamServerUrl({ COUNTERSIGN_TEAM_URL: 'http://team.msp.example' })).toThrow(/https/);
    expect(() => teamServerUrl({ COUNTERSIGN_TEAM_URL: 'https://alice:pw@team.msp.example' })).toThrow(/user name or password/);
    expect(() => teamServerUrl({ COUNTERSIGN_TEAM_URL: 'file:///etc/passwd' })).toThrow(/https/);
    expect(() => teamServerUrl({ COUNTERSIGN_TEAM_URL: 'not a url' })).toThrow(/not a URL/);
  });

  it('only the team server\'s own origin counts as it (parsed, not prefix-matched)', () => {
    const team = teamServerUrl({ COUNTERSIGN_TEAM_URL: 'https://team.msp.example' });
    expect(isTeamUrl('https://team.msp.example/#/approvals/1', team)).toBe(true);
    for (const u of ['https://team.msp.example.evil.com/', 'https://team.msp.example@evil.com/', 'http://team.msp.example/', 'https://team.msp.example:444/', 'https://x:y@team.msp.example/', 'nonsense']) {
      expect(isTeamUrl(u, team), u).toBe(false);
    }
    expect(isTeamUrl('https://team.msp.example/', undefined)).toBe(false);
  });
});

describe('the desktop on a team server', () => {
  const running: Desktop[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.kill()));
  });
  beforeAll(() => buildMain(), budget(120_000));

  it('opens no data directory and no server; the window shows the team console, without the bridge; only its origin is allowed', async () => {
    const home = desktopHome();
    const d = launchDesktop(home, { keystore: 'available' }, { COUNTERSIGN_TEAM_URL: 'https://team.msp.example/' });
    running.push(d);
    await d.waitFor('BrowserWindow.loadURL');
    expect(d.calls.find((c) => c.name === 'BrowserWindow.loadURL')!.detail).toBe('https://team.msp.example/');
    expect(d.calls.find((c) => c.name === 'BrowserWindow.new')!.detail.webPreferences.preload).toBeUndefined();
    const menu = await d.waitFor('Tray.setContextMenu');
    expect(menu.detail).toContain('Team server: https://team.msp.example');
    expect(d.names()).not.toContain('ipcMain.handle');
    expect(existsSync(home.dataDir)).toBe(false);
    const nav = (how: string, url: string) => d.send({ cmd: 'navigate', how, url });
    expect(await nav('will-navigate', 'https://team.msp.example/#/keys')).toEqual({ prevented: false });
    for (const url of ['https://team.msp.example.evil.com/', 'https://evil.example/', 'file:///etc/passwd']) {
      expect(await nav('will-navigate', url), url).toEqual({ prevented: true });
    }
    await d.send({ cmd: 'quit' });
    expect((await d.exited).code).toBe(0);
  });

  it('a team URL that breaks the rules is a start-up failure with a dialog, not a window', async () => {
    const d = launchDesktop(desktopHome(), { keystore: 'available' }, { COUNTERSIGN_TEAM_URL: 'http://team.msp.example/' });
    running.push(d);
    expect((await d.exited).code).toBe(1);
    expect(d.names()).toContain('dialog.showErrorBox');
    expect(d.names()).not.toContain('BrowserWindow.new');
  });
});
