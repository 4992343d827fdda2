// The desktop window itself, driven by Playwright's Electron support. It runs wherever an Electron binary and a
// display exist; on machines without them (this CI: the binary cannot be downloaded) it is reported as skipped
// with the reason in its name.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { _electron } from 'playwright';
import { locateElectron } from '../../src-main/electron/locate.ts';

const ROOT = join(import.meta.dirname, '../..');
const found = locateElectron(ROOT);
const reason = 'reason' in found ? found.reason : '';

describe(reason ? `Electron smoke test — SKIPPED: ${reason}` : 'Electron smoke test', () => {
  it.skipIf(!!reason)('opens the console window from app://console with the preload bridge and a locked-down renderer', async () => {
    expect(spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.main.json'], { cwd: ROOT }).status).toBe(0);
    const dataDir = join(mkdtempSync(join(tmpdir(), 'cs-electron-')), 'data');
    const app = await _electron.launch({
      executablePath: (found as { path: string }).path,
      args: [join(ROOT, 'out/main/electron/main.js')],
      env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_PORT: '0' },
    });
    try {
      const win = await app.firstWindow();
      expect(win.url()).toMatch(/^app:\/\/console\//);
      const bridge = await win.evaluate(() => Object.keys((globalThis as unknown as { countersign: object }).countersign).sort());
      expect(bridge).toContain('listApprovals');
      expect(bridge).toContain('onEvent');
      expect(await win.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require)).toBe('undefined');
      const prefs = await app.evaluate(({ BrowserWindow }) => (BrowserWindow.getAllWindows()[0]!.webContents as unknown as { getLastWebPreferences(): unknown }).getLastWebPreferences());
      expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    } finally {
      await app.close();
    }
  }, 60_000);
});
