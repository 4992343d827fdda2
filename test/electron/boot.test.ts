// The compiled main process, booted in a child process against a recording `electron` stand-in (a module resolve
// hook maps the specifier; the real package is never imported): the start-up order, start-up during a second launch,
// the lock-down of every webContents, and each start-up failure as a dialog plus a non-zero exit.
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMain, desktopHome, launchDesktop, type Desktop } from './standin/harness.ts';
import { cli, cliEnv, startServe, type ChildServer } from '../helpers/childServer.ts';
import { budget, until } from '../helpers/wait.ts';

const running: Desktop[] = [];
const servers: (Server | ChildServer)[] = [];
const launch = (...a: Parameters<typeof launchDesktop>) => {
  const d = launchDesktop(...a);
  running.push(d);
  return d;
};
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.kill()));
  await Promise.all(servers.splice(0).map((s) => ('stop' in s ? s.stop() : new Promise((r) => s.close(r)))));
});
beforeAll(() => buildMain(), budget(120_000));

/** A first, clean run of the desktop on this home: it makes the data directory, then quits with exit 0. */
async function firstRun(home: ReturnType<typeof desktopHome>, keystore: 'available' | 'none'): Promise<void> {
  const d = launch(home, { keystore });
  await d.waitFor('BrowserWindow.show');
  await d.send({ cmd: 'quit' });
  expect((await d.exited).code).toBe(0);
}

/** Index of the first call with this name; -1 if absent. */
const at = (d: Desktop, name: string) => d.names().indexOf(name);

describe('desktop start-up', () => {
  it('boots in order: identity, scheme, lock, ready, permission handlers, protocol, IPC, window; app.quit() exits 0', async () => {
    const home = desktopHome();
    const d = launch(home, { keystore: 'available' });
    await d.waitFor('BrowserWindow.show');
    const order = ['app.setName', 'protocol.registerSchemesAsPrivileged', 'app.requestSingleInstanceLock', 'app.ready',
      'session.setPermissionRequestHandler', 'session.setPermissionCheckHandler', 'protocol.handle', 'ipcMain.handle', 'BrowserWindow.new'];
    const idx = order.map((n) => at(d, n));
    expect(idx.every((i) => i >= 0), JSON.stringify(d.names())).toBe(true);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    // Name and userData are set before anything reads userData (the lock and the profile live there), also in development.
    expect(d.calls.find((c) => c.name === 'app.setName')!.detail).toBe('Countersign');
    const setPath = d.calls.find((c) => c.name === 'app.setPath')!;
    expect(setPath.detail).toEqual(['userData', join(home.appData, 'Countersign-dev')]);
    expect(at(d, 'app.setPath')).toBeLessThan(at(d, 'app.requestSingleInstanceLock'));
    expect(d.calls.findIndex((c) => c.name === 'app.getPath' && c.detail === 'userData')).toSatisfy((i: number) => i === -1 || i > at(d, 'app.setPath'));
    expect(d.names()).not.toContain('app.setAppUserModelId'); // Windows only

    const win = d.calls.find((c) => c.name === 'BrowserWindow.new')!.detail;
    expect(win.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, devTools: true });
    expect(d.calls.find((c) => c.name === 'BrowserWindow.loadURL')!.detail).toBe('app://console/index.html');
    // The data directory made here is sealed by the keystore, and the server announced its record.
    expect(JSON.parse(readFileSync(join(home.dataDir, 'secrets.json'), 'utf8')).protector).toBe('electron-safestorage');
    expect(existsSync(join(home.dataDir, 'serving.json'))).toBe(true);

    // No update feed configured: electron-updater is never loaded, nothing is fetched.
    expect(d.names()).not.toContain('net.request');

    await d.send({ cmd: 'quit' });
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(d.names().slice(-1)).toEqual(['app.exit']);
    expect(existsSync(join(home.dataDir, 'serving.json'))).toBe(false);
  }, budget(60_000));

  it('a second launch or a Dock click during start-up builds no window; the one window is focused once start-up is done', async () => {
    const d = launch(desktopHome(), { keystore: 'none', emitDuring: { call: 'protocol.handle', events: ['second-instance', 'activate'] } });
    await d.waitFor('BrowserWindow.focus');
    const windows = d.names().filter((n) => n === 'BrowserWindow.new');
    expect(windows).toHaveLength(1);
    // Nothing window-related happened between the early launch and the boot's own window.
    const early = at(d, 'protocol.handle');
    expect(d.names().slice(early, at(d, 'BrowserWindow.new')).filter((n) => n.startsWith('BrowserWindow'))).toEqual([]);
    expect(at(d, 'BrowserWindow.focus')).toBeGreaterThan(at(d, 'BrowserWindow.new'));
    // And after start-up, a second launch focuses the same window again instead of making another.
    await d.send({ cmd: 'emit', event: 'second-instance' });
    await d.waitFor('BrowserWindow.focus', (c) => d.calls.filter((x) => x.name === 'BrowserWindow.focus').indexOf(c) === 1);
    expect(d.names().filter((n) => n === 'BrowserWindow.new')).toHaveLength(1);
  }, budget(60_000));

  it('a launch that loses the single-instance lock quits with exit 0 before ready', async () => {
    const d = launch(desktopHome(), { keystore: 'none', lock: false });
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(d.names()).not.toContain('app.ready');
    expect(d.names()).not.toContain('BrowserWindow.new');
  }, budget(30_000));

  it('packaged: no default menu, no DevTools; every webContents keeps to app://console; no permission is granted', async () => {
    const d = launch(desktopHome(), { keystore: 'none', isPackaged: true });
    await d.waitFor('BrowserWindow.show');
    expect(d.calls.find((c) => c.name === 'Menu.setApplicationMenu')!.detail).toBeNull();
    expect(d.calls.find((c) => c.name === 'BrowserWindow.new')!.detail.webPreferences.devTools).toBe(false);
    expect(d.calls.find((c) => c.name === 'app.setPath')!.detail[1]).toMatch(/[/\\]Countersign$/);

    const nav = (how: string, url: string) => d.send({ cmd: 'navigate', how, url });
    expect(await nav('will-navigate', 'app://console/index.html#/keys')).toEqual({ prevented: false });
    for (const url of ['app://console.evil/', 'app://console@evil.example/', 'app://consolex/', 'file:///etc/passwd', 'https://evil.example/']) {
      expect(await nav('will-navigate', url), url).toEqual({ prevented: true });
      expect(await nav('will-redirect', url), url).toEqual({ prevented: true });
      expect(await nav('will-frame-navigate', url), url).toEqual({ prevented: true });
      expect(await nav('window-open', url), url).toEqual({ action: 'deny' });
    }
    // Web links leave for the system browser; nothing else is ever handed to the OS.
    const opened = d.calls.filter((c) => c.name === 'shell.openExternal').map((c) => c.detail);
    expect(opened).toEqual(['https://evil.example/', 'https://evil.example/']);

    for (const permission of ['notifications', 'media', 'clipboard-read', 'geolocation']) {
      expect(await d.send({ cmd: 'permission', permission }), permission).toEqual({ check: false, granted: false });
    }
    expect(await d.send({ cmd: 'protocol', url: 'app://console/%2e%2e/%2e%2e/package.json' })).toMatchObject({ status: 404, csp: expect.stringContaining("default-src 'self'") });
  }, budget(60_000));
});

describe('updates', () => {
  it('with a feed configured, electron-updater checks it and the console is told "update available"', async () => {
    const feed = createHttpServer((req, res) => {
      if (req.url?.startsWith('/latest-linux.yml')) {
        res.writeHead(200, { 'content-type': 'text/yaml' });
        res.end(`version: 9.9.9\nfiles:\n  - url: Countersign-9.9.9.AppImage\n    sha512: ${'A'.repeat(86)}==\n    size: 1\npath: Countersign-9.9.9.AppImage\nsha512: ${'A'.repeat(86)}==\nreleaseDate: '2026-12-01T00:00:00.000Z'\n`);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => feed.listen(0, '127.0.0.1', r));
    servers.push(feed);
    const url = `http://127.0.0.1:${(feed.address() as { port: number }).port}/`;
    const d = launch(desktopHome(), { keystore: 'none' }, { COUNTERSIGN_UPDATE_URL: url });
    const sent = await d.waitFor('webContents.send', (c) => c.detail.payload?.type === 'update.available');
    expect(sent.detail).toEqual({ channel: 'countersign:event', payload: { type: 'update.available', version: '9.9.9' } });
    expect(d.calls.find((c) => c.name === 'net.request')!.detail.replace(/\?.*$/, '')).toBe(`${url}latest-linux.yml`);
    // A console that loads later reads it from the session.
    expect(await d.send({ cmd: 'ipc', channel: 'countersign:session', input: {} })).toMatchObject({ ok: true, value: { update: { version: '9.9.9' } } });
    // Reported, not downloaded: nothing but the feed file was fetched.
    expect(d.calls.filter((c) => c.name === 'net.request')).toHaveLength(1);
  }, budget(60_000));
});

describe('audit export', () => {
  it('is written by the main process where the save dialog says, as a file that verifies', async () => {
    const home = desktopHome();
    const savePath = join(home.appData, 'chosen-export.jsonl');
    const d = launch(home, { keystore: 'none', savePath });
    await d.waitFor('BrowserWindow.show');
    const saved = await d.send({ cmd: 'ipc', channel: 'countersign:exportAudit', input: { format: 'jsonl' } });
    expect(saved).toMatchObject({ ok: true, value: { savedTo: savePath, checkpoint: { count: expect.any(Number) } } });
    const dialogCall = d.calls.find((c) => c.name === 'dialog.showSaveDialog')!;
    expect(dialogCall.detail.defaultPath.endsWith(saved.value.fileName)).toBe(true);
    const lines = readFileSync(savePath, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(saved.value.checkpoint.count + 1);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'checkpoint', headHash: saved.value.checkpoint.headHash });
    // Nothing but the export beside it: the partial file it was written as became it.
    expect(readdirSync(home.appData).filter((f) => f.includes('countersign-audit'))).toEqual([]);
  }, budget(60_000));
});

describe('updates misconfigured', () => {
  it('a feed URL that is not https is logged; the app keeps running (it was an unhandled rejection, which ends the process)', async () => {
    const d = launch(desktopHome(), { keystore: 'none' }, { COUNTERSIGN_UPDATE_URL: 'http://updates.example/' });
    await d.waitFor('BrowserWindow.new');
    await until('the update check\'s failure in the log', () => /the update check could not start[\s\S]*must be https/.test(d.stderr()), 20_000);
    expect(await d.send({ cmd: 'ipc', channel: 'countersign:session', input: {} })).toMatchObject({ ok: true });
  }, budget(60_000));
});

function occupiedPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('start-up failures: a dialog a person can act on, then a non-zero exit', () => {
  it('port in use by another program: Quit exits 1 with no window', async () => {
    const { server, port } = await occupiedPort();
    servers.push(server);
    const d = launch(desktopHome(), { keystore: 'none', dialogResponses: [1] }, { COUNTERSIGN_PORT: String(port) });
    expect((await d.exited).code).toBe(1);
    const box = d.calls.find((c) => c.name === 'dialog.showMessageBox')!.detail;
    expect(box).toMatchObject({ title: 'Port in use', buttons: ['Use another port', 'Quit'] });
    expect(box.message).toContain(String(port));
    expect(d.names()).not.toContain('BrowserWindow.new');
  }, budget(60_000));

  it('port in use by another program: "Use another port" starts on a free one', async () => {
    const { server, port } = await occupiedPort();
    servers.push(server);
    const d = launch(desktopHome(), { keystore: 'none', dialogResponses: [0] }, { COUNTERSIGN_PORT: String(port) });
    await d.waitFor('BrowserWindow.show');
    expect(new URL(await d.serverUrl()).port).not.toBe(String(port));
  }, budget(60_000));

  it('port held by countersign serve on the same data directory: offers that server\'s console, opens it, exits 0', async () => {
    const env = cliEnv('cross-door passphrase');
    const home = desktopHome();
    expect(cli(env, 'init', '--data-dir', home.dataDir).status).toBe(0);
    const serve = await startServe(env, home.dataDir);
    servers.push(serve);
    const d = launch(home, { keystore: 'available', dialogResponses: [0] }, { COUNTERSIGN_PORT: String(serve.port) });
    expect((await d.exited).code).toBe(0);
    expect(d.calls.find((c) => c.name === 'dialog.showMessageBox')!.detail).toMatchObject({ title: 'Countersign is already running', buttons: ['Open its console', 'Use another port', 'Quit'] });
    expect(d.calls.find((c) => c.name === 'shell.openExternal')!.detail).toBe(`http://127.0.0.1:${serve.port}/`);
    expect(d.names()).not.toContain('BrowserWindow.new');
    expect(serve.alive()).toBe(true);
  }, budget(60_000));

  it('secrets sealed by a keystore this session cannot use: error dialog, exit 1', async () => {
    const home = desktopHome();
    await firstRun(home, 'available');

    const d = launch(home, { keystore: 'none' });
    expect((await d.exited).code).toBe(1);
    const box = d.calls.find((c) => c.name === 'dialog.showErrorBox')!.detail;
    expect(box.title).toBe('Countersign cannot unlock its data');
    expect(box.content).toMatch(/sealed by the OS keystore/);
    expect(d.names()).not.toContain('BrowserWindow.new');
  }, budget(60_000));

  it('a database from a newer Countersign: error dialog, exit 1, the data untouched', async () => {
    const home = desktopHome();
    await firstRun(home, 'none');
    const db = new Database(join(home.dataDir, 'countersign.db'));
    db.pragma('user_version = 999');
    db.close();

    const d = launch(home, { keystore: 'none' });
    expect((await d.exited).code).toBe(1);
    expect(d.calls.find((c) => c.name === 'dialog.showErrorBox')!.detail).toMatchObject({ title: 'Countersign is older than its data', content: expect.stringContaining('newer version') });
    const after = new Database(join(home.dataDir, 'countersign.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(999);
    after.close();
  }, budget(60_000));
});
