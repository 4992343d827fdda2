// The desktop app connected to a team server (COUNTERSIGN_TEAM_URL) instead of its embedded one: the URL's rules, and
// the compiled main process booted against the recording electron stand-in: no data directory, no server of its own,
// the window on the team server's console without the IPC bridge, only that origin allowed besides app://console.
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTeamUrl, teamServerUrl } from '../../src-main/electron/teamServer.ts';
import { buildMain, desktopHome, launchDesktop, type Desktop } from './standin/harness.ts';
import { budget } from '../helpers/wait.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, structured } from '../helpers/console.ts';

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

  it('the tray counts the signed-in account\'s pending requests and a new one raises a notification, within its tenant rights', async () => {
    const PASS = 'desktop team passphrase';
    const t: TestServer = await startTestServer();
    try {
      await t.app.technicians.create({ name: 'tina', passphrase: PASS, role: 'technician', tenants: ['acme-dental'] }, 'test');
      const login = await fetch(`${t.url}/console/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'tina', passphrase: PASS }) });
      const cookie = /cs_console=([^;]+)/.exec(login.headers.get('set-cookie')!)![1]!;
      const client = await t.connect('http', await t.key({ name: 'desktop-asker', tenants: ['acme-dental', 'globex-logistics', 'northwind-legal'] }));
      let asked = 0;
      const ask = async (tenant: string) => {
        const device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = ? ORDER BY d.hostname LIMIT 1`, [tenant]))!.id;
        const r = await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: `desktop ${tenant} ${++asked}` } });
        if (!structured<{ approvalId?: string }>(r)?.approvalId) throw new Error(JSON.stringify(r).slice(0, 400));
        return structured<{ approvalId: string }>(r).approvalId;
      };
      const globex = await ask('globex-logistics');

      const d = launchDesktop(desktopHome(), { keystore: 'available' }, { COUNTERSIGN_TEAM_URL: t.url });
      running.push(d);
      const tip = (text: string) => (c: { detail?: unknown }) => c.detail === text;
      // Nobody signed in yet: nothing counted.
      await d.waitFor('Tray.setToolTip', tip('Countersign'));
      // Tina signs in in the window (the session cookie appears): her count, which leaves out Globex's request.
      const signedIn = d.calls.length;
      await d.send({ cmd: 'cookie', name: 'cs_console', domain: '127.0.0.1', value: cookie });
      // Followed: the count is reported once the stream is open.
      await d.waitFor('Tray.setToolTip', (c) => c.detail === 'Countersign' && d.calls.indexOf(c) >= signedIn);
      const acme = await ask('acme-dental');
      const note = await d.waitFor('Notification.new');
      expect(note.detail).toMatchObject({ title: 'Approval requested: device_actions', body: expect.stringContaining('acme') });
      await d.waitFor('Notification.show');
      await d.waitFor('Tray.setToolTip', tip('Countersign: 1 approval waiting'));
      expect(d.calls.filter((c) => c.name === 'BrowserWindow.setTitle').map((c) => c.detail)).toContain('Countersign (1 pending)');
      // Another tenant's request is not hers: no notification, no count.
      await ask('northwind-legal');
      // Decided on the server: the count drops at once.
      const tinaConsole = await consoleLogin(t.url, PASS, 'tina');
      expect((await tinaConsole.post(`/approvals/${acme}/deny`, { reason: 'not now' })).status).toBe(200);
      const dropped = d.calls.length;
      await d.waitFor('Tray.setToolTip', (c) => c.detail === 'Countersign' && d.calls.indexOf(c) >= dropped);
      expect(d.calls.filter((c) => c.name === 'Notification.new')).toHaveLength(1);
      expect(d.calls.some((c) => c.name === 'Tray.setToolTip' && /2 approvals/.test(String(c.detail)))).toBe(false);
      expect(await t.app.approvals.pendingCount()).toBe(2);
      const notes = () => d.calls.filter((c) => c.name === 'Notification.new').length;
      const after = (mark: number, text: string) => d.waitFor('Tray.setToolTip', (c) => c.detail === text && d.calls.indexOf(c) >= mark);
      let mark = d.calls.length;
      await ask('acme-dental');
      await after(mark, 'Countersign: 1 approval waiting');
      expect(notes()).toBe(2);
      // Signed out in the window: the stream ends and her count is gone.
      mark = d.calls.length;
      await fetch(`${t.url}/console/api/logout`, { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: `cs_console=${cookie}` }, body: '{}' });
      await d.send({ cmd: 'cookie', name: 'cs_console', domain: '127.0.0.1' });
      await after(mark, 'Countersign');
      // Gus (Globex only) signs in: his count (Globex's one request), and only his tenant's new requests notify.
      await t.app.technicians.create({ name: 'gus', passphrase: PASS, role: 'technician', tenants: ['globex-logistics'] }, 'test');
      const gus = /cs_console=([^;]+)/.exec((await fetch(`${t.url}/console/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'gus', passphrase: PASS }) })).headers.get('set-cookie')!)![1]!;
      mark = d.calls.length;
      await d.send({ cmd: 'cookie', name: 'cs_console', domain: '127.0.0.1', value: gus });
      await after(mark, 'Countersign: 1 approval waiting');
      await ask('acme-dental');
      await ask('globex-logistics');
      await after(mark, 'Countersign: 2 approvals waiting');
      await d.waitFor('Notification.new', () => notes() === 3);
      expect(d.calls.filter((c) => c.name === 'Notification.new').at(-1)!.detail.title).toBe('Approval requested: device_actions');
      // Events arrive in order: the Acme request asked before Globex's raised nothing for him.
      expect(notes()).toBe(3);
      expect(await t.app.approvals.pendingCount()).toBe(5);
      void globex;
      await d.send({ cmd: 'quit' });
      expect((await d.exited).code).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('a team URL that breaks the rules is a start-up failure with a dialog, not a window', async () => {
    const d = launchDesktop(desktopHome(), { keystore: 'available' }, { COUNTERSIGN_TEAM_URL: 'http://team.msp.example/' });
    running.push(d);
    expect((await d.exited).code).toBe(1);
    expect(d.names()).toContain('dialog.showErrorBox');
    expect(d.names()).not.toContain('BrowserWindow.new');
  });
});
