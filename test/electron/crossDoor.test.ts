// One data directory, two doors: a directory the CLI made opens in the desktop (with a keystore available) and its
// keys work there; a directory the desktop made opens from the CLI once the person allows command-line access, and
// the desktop's keys work from the CLI's server. The desktop is the compiled main against the electron stand-in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMain, desktopHome, launchDesktop, type Desktop } from './standin/harness.ts';
import { cli, cliEnv, createKey, startServe, type ChildServer } from '../helpers/childServer.ts';
import { initStreamable, mcpHeaders, rawRequest } from '../helpers/raw.ts';
import { budget, until } from '../helpers/wait.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { storeOver } from '../helpers/store.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';

const env = cliEnv('cross-door passphrase');
const stoppers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(stoppers.splice(0).map((s) => s()));
});
beforeAll(() => buildMain(), budget(120_000));

function desktop(home: ReturnType<typeof desktopHome>, dialogResponses: number[] = []): Desktop {
  const d = launchDesktop(home, { keystore: 'available', dialogResponses });
  stoppers.push(() => d.kill());
  return d;
}

const sealedBy = (dir: string) => JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')).protector as string;
const port = (url: string) => Number(new URL(url).port);
const mcpStatus = async (p: number, key: string) =>
  (await rawRequest({ port: p, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) })).status;

describe('one data directory, both doors', () => {
  it('a CLI-made directory opens in the desktop as it is; CLI keys, made before and while it runs, work against it', async () => {
    const home = desktopHome();
    expect(cli(env, 'init', '--data-dir', home.dataDir, '--demo').status).toBe(0);
    const before = createKey(env, home.dataDir, { name: 'made-before' });

    const d = desktop(home, [0]);
    await d.waitFor('BrowserWindow.show');
    const p = port(await d.serverUrl());
    expect(sealedBy(home.dataDir)).toBe('file-0600'); // opened with the recorded protector, not re-sealed
    await initStreamable(p, before.secret);
    // The README's workflow: keys made from the CLI while the console is open.
    const during = createKey(env, home.dataDir, { name: 'made-while-open' });
    await initStreamable(p, during.secret);
    expect(await mcpStatus(p, `${during.secret}x`)).toBe(401);
    // The desktop sees them too.
    // IPC answers Replies: { ok, value } or { ok: false, error }.
    const keys = (await d.send({ cmd: 'ipc', channel: 'countersign:listKeys', input: {} })).value;
    expect(keys.keys.map((k: { name: string }) => k.name).sort()).toEqual(['made-before', 'made-while-open']);

    // The tray offers the keystore; the person says yes; from then on the CLI is refused with what to do.
    await d.waitFor('Tray.setContextMenu', (c) => c.detail.includes('Protect secrets with the OS keystore…'));
    await d.send({ cmd: 'menu', label: 'Protect secrets with the OS keystore…' });
    await until('the keystore seal', () => sealedBy(home.dataDir) === 'electron-safestorage');
    const refused = cli(env, 'keys', 'list', '--data-dir', home.dataDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/sealed by 'electron-safestorage'.*Allow command-line access/s);
    // Same secrets, new seal: the CLI's keys still work in the desktop, now and after a restart.
    await initStreamable(p, before.secret);
    await d.send({ cmd: 'quit' });
    expect((await d.exited).code).toBe(0);
    const again = desktop(home);
    await again.waitFor('BrowserWindow.show');
    await initStreamable(port(await again.serverUrl()), before.secret);
  }, budget(90_000));

  it('a desktop-made directory opens from the CLI after the person allows it, and the desktop\'s keys work from the CLI\'s server', async () => {
    const home = desktopHome();
    const d = desktop(home, [1, 0]);
    await d.waitFor('BrowserWindow.show');
    expect(sealedBy(home.dataDir)).toBe('electron-safestorage');
    const db = openDatabase(join(home.dataDir, 'countersign.db'));
    await seedDemoFleet(storeOver(db));
    db.close();
    const made = (await d.send({ cmd: 'ipc', channel: 'countersign:createKey', input: { name: 'desktop-key', scopes: ['ai:read'], tenants: ['acme-dental'] } })).value;
    expect(typeof made.secret).toBe('string');

    // Sealed by the keystore: the CLI cannot open it and says how to change that.
    const refused = cli(env, 'keys', 'list', '--data-dir', home.dataDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('Allow command-line access');

    // The person cancels once (nothing changes), then allows it.
    await d.send({ cmd: 'menu', label: 'Allow command-line access…' });
    await d.waitFor('dialog.showMessageBox');
    expect(sealedBy(home.dataDir)).toBe('electron-safestorage');
    await d.send({ cmd: 'menu', label: 'Allow command-line access…' });
    await until('the file seal', () => sealedBy(home.dataDir) === 'file-0600');
    expect(d.calls.filter((c) => c.name === 'dialog.showMessageBox').map((c) => c.detail.title)).toEqual([
      'Allow the command line to open this data directory?', 'Allow the command line to open this data directory?']);

    const listed = cli(env, 'keys', 'list', '--data-dir', home.dataDir);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('desktop-key');
    const serve: ChildServer = await startServe(env, home.dataDir);
    stoppers.push(() => serve.stop());
    await initStreamable(serve.port, made.secret);
    // Still the desktop's install: its own server takes the key too.
    await initStreamable(port(await d.serverUrl()), made.secret);
  }, budget(90_000));
});
