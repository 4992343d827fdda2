import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAsset, serveAsset, RENDERER_CSP } from '../../src-main/electron/appProtocol.ts';
import { safeStorageProtector, type SafeStorageLike } from '../../src-main/electron/safeStorageProtector.ts';
import { locateElectron } from '../../src-main/electron/locate.ts';
import { createSecrets, loadSecrets, plainFileProtector, ProtectorMismatchError, recordedProtector, resealSecrets } from '../../src-main/store/secrets.ts';

describe('app:// protocol containment', () => {
  const root = mkdtempSync(join(tmpdir(), 'cs-renderer-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, '..', 'secret.json'), '{}');

  it('serves files under the renderer root', async () => {
    expect(resolveAsset(root, 'app://console/')).toBe(join(root, 'index.html'));
    expect(resolveAsset(root, 'app://console/assets/app.js')).toBe(join(root, 'assets', 'app.js'));
    const res = await serveAsset(root, 'app://console/assets/app.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('content-security-policy')).toBe(RENDERER_CSP);
  });

  it('refuses traversal, encoded traversal, other hosts, other schemes and unknown types', async () => {
    // URL parsing normalises plain ../ to the root; encoded forms are decoded after parsing and must not escape.
    for (const url of ['app://console/../secret.json', 'app://console/%2e%2e/secret.json', 'app://console/assets/..%2f..%2fsecret.json', 'app://console/..%5csecret.json']) {
      const r = resolveAsset(root, url);
      expect(r === undefined || r.startsWith(`${root}/`), `${url} -> ${r}`).toBe(true);
      expect((await serveAsset(root, url)).status, url).toBe(404);
    }
    for (const url of ['app://other/index.html', 'file:///etc/passwd', 'app://console/%00index.html', 'app://console/assets/app.exe', 'not a url']) {
      expect(resolveAsset(root, url), url).toBeUndefined();
    }
    expect((await serveAsset(root, 'app://console/missing.js')).status).toBe(404);
  });

  it('holds under Windows path rules: backslashes, drive letters, UNC paths and alternate data streams', () => {
    const winRoot = 'C:\\Program Files\\Countersign\\resources\\app.asar\\out\\renderer';
    expect(resolveAsset(winRoot, 'app://console/assets/app.js', win32)).toBe(`${winRoot}\\assets\\app.js`);
    for (const url of ['app://console/..%5c..%5csecret.js', 'app://console/assets/..%5c..%5c..%5capp.js', 'app://console/%2e%2e%5c%2e%2e%5cx.js',
      'app://console/C:%5cWindows%5cwin.js', 'app://console/C:/Windows/x.js', 'app://console/index.html::$DATA', 'app://console/assets%5capp.js:stream.js']) {
      const r = resolveAsset(winRoot, url, win32);
      expect(r === undefined || r.startsWith(`${winRoot}\\`), `${url} -> ${r}`).toBe(true);
    }
    expect(resolveAsset(winRoot, 'app://console/..%5c..%5csecret.js', win32)).toBeUndefined();
    expect(resolveAsset(winRoot, 'app://console/C:%5cWindows%5cwin.js', win32)).toBeUndefined();
    // A UNC-looking path stays a relative path under the root.
    expect(resolveAsset(winRoot, 'app://console/%5c%5cserver%5cshare%5cx.js', win32)).toBe(`${winRoot}\\server\\share\\x.js`);
  });
});

describe('safeStorage protector', () => {
  const fakeSafe = (available: boolean, backend = 'gnome_libsecret'): SafeStorageLike => ({
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (s) => Buffer.from(`sealed:${Buffer.from(s).toString('hex')}`),
    decryptString: (b) => Buffer.from(b.toString().replace('sealed:', ''), 'hex').toString(),
  });

  it('seals the install secrets so the file holds no plain key, and reads them back', () => {
    const p = safeStorageProtector(fakeSafe(true), 'linux')!;
    const dir = mkdtempSync(join(tmpdir(), 'cs-sealed-'));
    const made = createSecrets(dir, p);
    const file = readFileSync(join(dir, 'secrets.json'), 'utf8');
    expect(JSON.parse(file).protector).toBe('electron-safestorage');
    expect(file).not.toContain(made.hmacKey.toString('base64'));
    expect(loadSecrets(dir, p).hmacKey.equals(made.hmacKey)).toBe(true);
    expect(() => loadSecrets(dir, plainFileProtector)).toThrow(/sealed by 'electron-safestorage'.*Allow command-line access/);
    expect(() => loadSecrets(dir, plainFileProtector)).toThrow(ProtectorMismatchError);
    // The desktop carries both protectors and opens either seal with the recorded one.
    expect(loadSecrets(dir, [p, plainFileProtector]).hmacKey.equals(made.hmacKey)).toBe(true);
  });

  it('re-seals the same secrets with another protector, 0600, and refuses a protector that does not give them back', () => {
    const p = safeStorageProtector(fakeSafe(true), 'linux')!;
    const dir = mkdtempSync(join(tmpdir(), 'cs-reseal-'));
    const made = createSecrets(dir, plainFileProtector);
    resealSecrets(dir, [p, plainFileProtector], p);
    expect(recordedProtector(dir)).toBe('electron-safestorage');
    expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    const back = loadSecrets(dir, p);
    expect(back.hmacKey.equals(made.hmacKey)).toBe(true);
    expect(back.verifyKey.export({ format: 'der', type: 'spki' }).equals(made.verifyKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    const broken = { kind: 'broken', protect: (b: Buffer) => b, unprotect: () => Buffer.from('nope') };
    expect(() => resealSecrets(dir, [p], broken)).toThrow(/did not give the secrets back/);
    expect(recordedProtector(dir)).toBe('electron-safestorage');
    resealSecrets(dir, [p, plainFileProtector], plainFileProtector);
    expect(loadSecrets(dir).hmacKey.equals(made.hmacKey)).toBe(true);
  });

  it('a keystore that cannot open its own kind of seal (another account) is reported as such', () => {
    const p = safeStorageProtector(fakeSafe(true), 'linux')!;
    const dir = mkdtempSync(join(tmpdir(), 'cs-other-account-'));
    createSecrets(dir, p);
    const other = { ...p, unprotect: () => { throw new Error('Error while decrypting the ciphertext'); } };
    expect(() => loadSecrets(dir, [other])).toThrow(/cannot open them here \(Error while decrypting/);
  });

  it('declines where the OS offers no real keystore', () => {
    expect(safeStorageProtector(fakeSafe(false))).toBeUndefined();
    expect(safeStorageProtector(fakeSafe(true, 'basic_text'), 'linux')).toBeUndefined();
    expect(safeStorageProtector(fakeSafe(true, 'basic_text'), 'darwin')).toBeDefined();
  });
});

describe('locating Electron without downloading it', () => {
  it('reports a missing binary or display in one line', () => {
    const root = mkdtempSync(join(tmpdir(), 'cs-root-'));
    expect(locateElectron(root)).toEqual({ reason: 'the electron package is not installed' });
    mkdirSync(join(root, 'node_modules', 'electron', 'dist'), { recursive: true });
    writeFileSync(join(root, 'node_modules', 'electron', 'path.txt'), 'electron');
    expect(locateElectron(root, {}, 'linux')).toMatchObject({ reason: expect.stringMatching(/no Electron binary/) });
    writeFileSync(join(root, 'node_modules', 'electron', 'dist', 'electron'), '');
    expect(locateElectron(root, {}, 'linux')).toMatchObject({ reason: expect.stringMatching(/no display/) });
    expect(locateElectron(root, { DISPLAY: ':99' }, 'linux')).toEqual({ path: join(root, 'node_modules', 'electron', 'dist', 'electron') });
  });
});
