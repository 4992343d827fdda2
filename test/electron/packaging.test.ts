// electron-builder against a stand-in Electron dist: no Electron binary can be downloaded here, so this proves the
// config (files, asar, unpacked native module, metadata) with a fake dist; a real release build needs the real one.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('electron-builder config', () => {
  it('packs a linux dir build from the compiled main process and the renderer', () => {
    const tsc = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.main.json'], { cwd: ROOT, encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    if (!existsSync(join(ROOT, 'out/renderer/index.html'))) {
      const vite = spawnSync(join(ROOT, 'node_modules/.bin/vite'), ['build', '--logLevel', 'error'], { cwd: ROOT, encoding: 'utf8' });
      expect(vite.status, vite.stderr).toBe(0);
    }
    const fake = mkdtempSync(join(tmpdir(), 'cs-fake-electron-'));
    writeFileSync(join(fake, 'electron'), '#!/bin/sh\necho stand-in\n');
    chmodSync(join(fake, 'electron'), 0o755);
    for (const f of ['LICENSE', 'LICENSES.chromium.html', 'version']) writeFileSync(join(fake, f), '45.4.1');
    mkdirSync(join(fake, 'resources'));
    const out = mkdtempSync(join(tmpdir(), 'cs-pack-'));
    const r = spawnSync(join(ROOT, 'node_modules/.bin/electron-builder'),
      ['--linux', 'dir', '--publish', 'never', `-c.electronDist=${fake}`, '-c.electronVersion=45.4.1', `-c.directories.output=${out}`, '-c.npmRebuild=false'],
      { cwd: ROOT, encoding: 'utf8', timeout: budget(120_000), env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
    expect(r.status, (r.stdout + r.stderr).slice(-3000)).toBe(0);
    const app = join(out, 'linux-unpacked');
    expect(existsSync(join(app, 'resources', 'app.asar'))).toBe(true);
    expect(existsSync(join(app, 'resources', 'app.asar.unpacked', 'node_modules', 'better-sqlite3'))).toBe(true);
    const list = spawnSync(join(ROOT, 'node_modules/.bin/asar'), ['list', join(app, 'resources', 'app.asar')], { encoding: 'utf8' }).stdout;
    expect(list).toContain('/out/main/electron/main.js');
    expect(list).toContain('/out/main/electron/preload.cjs');
    expect(list).toContain('/out/renderer/index.html');
    expect(list).toContain('/assets/tray.png');
    // renderer-only libraries stay out of the packaged dependencies
    expect(list).not.toMatch(/node_modules\/(react|react-dom|recharts|zustand|vite)\//);
    expect(list).toMatch(/node_modules\/@modelcontextprotocol\/sdk\//);
  }, budget(180_000));
});
