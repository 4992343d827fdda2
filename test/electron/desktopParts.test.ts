// The desktop shell's pure parts: identity, the URL rules of the lock-down, the update feed rules and checks,
// held notifications, the desktop's protector choice, and the start-up failure texts for real failures.
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { APP_ID, applyIdentity, type IdentityApp } from '../../src-main/electron/identity.ts';
import { isAppUrl, isWebUrl, packagedMenu } from '../../src-main/electron/lockdown.ts';
import { startUpdateChecks, updateFeed, type UpdaterLike } from '../../src-main/electron/updates.ts';
import { HeldNotifications, MAX_HELD } from '../../src-main/electron/notifications.ts';
import { desktopSecrets, resealOffer } from '../../src-main/electron/secretsDoor.ts';
import { describeFailure, portConflictQuestion } from '../../src-main/electron/startupFailure.ts';
import { initDataDir } from '../../src-main/app.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { PortInUseError } from '../../src-main/serving.ts';

describe('identity', () => {
  const fakeApp = (isPackaged: boolean) => {
    const calls: unknown[][] = [];
    const app: IdentityApp = {
      isPackaged,
      setName: (n) => calls.push(['setName', n]),
      getPath: () => '/home/u/.config',
      setPath: (n, p) => calls.push(['setPath', n, p]),
      setAppUserModelId: (id) => calls.push(['setAppUserModelId', id]),
    };
    return { app, calls };
  };

  it('sets the installer\'s AppUserModelId on Windows, and a dev userData apart from the installed app', () => {
    const win = fakeApp(true);
    applyIdentity(win.app, {}, 'win32');
    expect(win.calls).toEqual([['setName', 'Countersign'], ['setPath', 'userData', join('/home/u/.config', 'Countersign')], ['setAppUserModelId', APP_ID]]);
    const dev = fakeApp(false);
    expect(applyIdentity(dev.app, {}, 'linux')).toBe(join('/home/u/.config', 'Countersign-dev'));
    expect(dev.calls.map((c) => c[0])).toEqual(['setName', 'setPath']);
  });
});

describe('lock-down URL rules', () => {
  it('compares parsed origins, never prefixes', () => {
    for (const url of ['app://console/', 'app://console/index.html#/keys', 'app://console/assets/x.js?v=1']) expect(isAppUrl(url), url).toBe(true);
    for (const url of ['app://console.evil/', 'app://console@evil/', 'app://user:pw@console/', 'app://consolex/', 'app://console:8080/', 'https://console/', 'app:console', 'not a url']) {
      expect(isAppUrl(url), url).toBe(false);
    }
    expect(isWebUrl('https://example.com/x')).toBe(true);
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'https://user:pw@example.com/', 'app://console/']) expect(isWebUrl(url), url).toBe(false);
  });

  it('packaged builds get no View menu (macOS keeps the app and Edit menus); development keeps the default', () => {
    expect(packagedMenu(false, 'linux')).toBeUndefined();
    expect(packagedMenu(true, 'win32')).toBeNull();
    expect(packagedMenu(true, 'darwin')!.map((m) => m.role)).toEqual(['appMenu', 'editMenu', 'windowMenu']);
  });
});

describe('update checks', () => {
  it('run only where a feed is configured, and only over TLS or on loopback', () => {
    const res = mkdtempSync(join(tmpdir(), 'cs-res-'));
    expect(updateFeed({}, res, true)).toBeNull();
    expect(updateFeed({}, undefined, false)).toBeNull();
    writeFileSync(join(res, 'app-update.yml'), 'provider: generic\nurl: https://updates.example/\n');
    expect(updateFeed({}, res, true)).toEqual({ source: 'build' });
    expect(updateFeed({}, res, false)).toBeNull();
    expect(updateFeed({ COUNTERSIGN_UPDATE_URL: 'https://updates.example/countersign/' }, undefined, false)).toEqual({ source: 'env', url: 'https://updates.example/countersign/' });
    expect(updateFeed({ COUNTERSIGN_UPDATE_URL: 'http://127.0.0.1:9/' }, undefined, false)).toMatchObject({ source: 'env' });
    expect(() => updateFeed({ COUNTERSIGN_UPDATE_URL: 'http://updates.example/' }, undefined, false)).toThrow(/https/);
  });

  it('announce each newer version once, and only report (no download) for a feed given at run time', async () => {
    class FakeUpdater extends EventEmitter implements UpdaterLike {
      autoDownload = true;
      forceDevUpdateConfig = false;
      logger: unknown = console;
      feeds: unknown[] = [];
      checks = 0;
      setFeedURL(o: unknown) {
        this.feeds.push(o);
      }
      checkForUpdates() {
        this.checks++;
        this.emit('update-available', { version: '9.9.9' });
        return Promise.resolve(null);
      }
    }
    const u = new FakeUpdater();
    const seen: string[] = [];
    const stop = startUpdateChecks(u, { source: 'env', url: 'https://updates.example/' }, (v) => seen.push(v), () => {}, 60_000);
    u.emit('update-available', { version: '9.9.9' });
    stop();
    expect(u.feeds).toEqual([{ provider: 'generic', url: 'https://updates.example/' }]);
    expect([u.forceDevUpdateConfig, u.autoDownload, u.checks]).toEqual([true, false, 1]);
    expect(seen).toEqual(['9.9.9']);
    const packaged = new FakeUpdater();
    startUpdateChecks(packaged, { source: 'build' }, () => {}, () => {}, 60_000)();
    expect([packaged.feeds, packaged.autoDownload]).toEqual([[], true]);
  });
});

describe('notifications', () => {
  it('are held until clicked, closed or failed, so their click handler survives garbage collection', () => {
    const held = new HeldNotifications();
    const make = () => Object.assign(new EventEmitter(), { show() {} });
    const [a, b, c] = [make(), make(), make()];
    let clicks = 0;
    for (const n of [a, b, c]) held.show(n, () => clicks++);
    expect(held.size).toBe(3);
    a.emit('click');
    b.emit('close');
    expect([held.size, clicks]).toEqual([1, 1]);
    c.emit('failed');
    expect(held.size).toBe(0);
  });

  it('a request notifies once, however often its card comes again; at most MAX_HELD are held, the oldest let go first', () => {
    const held = new HeldNotifications();
    expect([held.firstTime('a'), held.firstTime('b'), held.firstTime('a')]).toEqual([true, true, false]);
    const made = Array.from({ length: MAX_HELD + 5 }, () => Object.assign(new EventEmitter(), { show() {} }));
    for (const n of made) held.show(n, () => {});
    expect(held.size).toBe(MAX_HELD);
    // The newest are the ones held: closing one of them releases it.
    made.at(-1)!.emit('close');
    expect(held.size).toBe(MAX_HELD - 1);
    made[0]!.emit('close');
    expect(held.size).toBe(MAX_HELD - 1);
  });
});

describe('the desktop\'s protectors', () => {
  const safe = { isEncryptionAvailable: () => true, getSelectedStorageBackend: () => 'kwallet5', encryptString: (s: string) => Buffer.from(s), decryptString: (b: Buffer) => b.toString() };

  it('opens both seals where a keystore exists, seals new directories with it, and COUNTERSIGN_PROTECTOR forces the file', () => {
    const both = desktopSecrets(safe, {}, 'linux');
    expect([both.protectors.map((p) => p.kind), both.forNew.kind]).toEqual([['electron-safestorage', 'file-0600'], 'electron-safestorage']);
    const forced = desktopSecrets(safe, { COUNTERSIGN_PROTECTOR: 'file-0600' }, 'linux');
    expect([forced.protectors.map((p) => p.kind), forced.forNew.kind, forced.keystore]).toEqual([['file-0600'], 'file-0600', undefined]);
    expect(() => desktopSecrets(safe, { COUNTERSIGN_PROTECTOR: 'keychain' }, 'linux')).toThrow(/may only be 'file-0600'/);
  });

  it('offers the other seal with a warning about what it shuts, and nothing without a keystore', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cs-offer-')), 'data');
    await (await initDataDir(dir)).store.close();
    const both = desktopSecrets(safe, {}, 'linux');
    expect(resealOffer(dir, both)).toMatchObject({ menuLabel: 'Protect secrets with the OS keystore…', to: { kind: 'electron-safestorage' }, detail: expect.stringMatching(/command line cannot open/) });
    expect(resealOffer(dir, desktopSecrets(safe, { COUNTERSIGN_PROTECTOR: 'file-0600' }, 'linux'))).toBeNull();
  });
});

describe('start-up failure texts, from real failures', () => {
  const fresh = async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cs-fail-')), 'data');
    await (await initDataDir(dir)).store.close();
    return dir;
  };
  const failure = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    throw new Error('expected a failure');
  };

  it('a corrupt database and a newer schema say what to do', async () => {
    const dir = await fresh();
    writeFileSync(join(dir, 'countersign.db'), Buffer.alloc(8192, 7));
    const corrupt = describeFailure(failure(() => openDatabase(join(dir, 'countersign.db'))), dir);
    expect(corrupt.title).toBe('Countersign\'s database is damaged');
    expect(corrupt.detail).toMatch(/Restore .* from a backup/);

    const dir2 = await fresh();
    const db = new Database(join(dir2, 'countersign.db'));
    db.pragma('user_version = 999');
    db.close();
    expect(describeFailure(failure(() => openDatabase(join(dir2, 'countersign.db'))), dir2).title).toBe('Countersign is older than its data');
  });

  it('a database another program holds locked is "busy", not corrupt', async () => {
    const dir = await fresh();
    const holder = new Database(join(dir, 'countersign.db'));
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('BEGIN EXCLUSIVE; CREATE TABLE hold (x); COMMIT');
    try {
      const f = describeFailure(failure(() => openDatabase(join(dir, 'countersign.db'))), dir);
      expect(f.title).toBe('Countersign\'s database is busy');
      expect(f.detail).toMatch(/Close the other program/);
    } finally {
      holder.close();
    }
  });

  it('a port conflict asks; with Countersign on the same data directory it offers that console first', () => {
    const foreign = portConflictQuestion(new PortInUseError('127.0.0.1', 4319, null));
    expect([foreign.buttons, foreign.choices]).toEqual([['Use another port', 'Quit'], ['other-port', 'quit']]);
    const ours = portConflictQuestion(new PortInUseError('127.0.0.1', 4319, { pid: 42, port: 4319, by: 'cli', startedAt: '' }));
    expect(ours.choices).toEqual(['open-console', 'other-port', 'quit']);
    expect(ours.detail).toContain('countersign serve');
  });
});
