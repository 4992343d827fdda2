import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveAsset, serveAsset, RENDERER_CSP } from '../../src-main/electron/appProtocol.ts';
import { safeStorageProtector, type SafeStorageLike } from '../../src-main/electron/safeStorageProtector.ts';
import { locateElectron } from '../../src-main/electron/locate.ts';
import { createSecrets, loadSecrets, plainFileProtector } from '../../src-main/store/secrets.ts';
import { readFileSync } from 'node:fs';

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
    expect(() => loadSecrets(dir, plainFileProtector)).toThrow(/sealed by 'electron-safestorage'/);
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
