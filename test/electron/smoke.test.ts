// The desktop window itself, driven by Playwright's Electron support. It runs wherever an Electron binary and a
// display exist; on machines without them (this CI: the binary cannot be downloaded) it is reported as skipped
// with the reason in its name. It launches the app the way `electron .` does (package.json main), with
// --no-sandbox only as root, and the file protector forced so no keystore prompt can block it.
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { _electron, type ElectronApplication, type Page } from 'playwright';
import { locateElectron } from '../../src-main/electron/locate.ts';
import { toolCommand } from '../../scripts/startParts.ts';
import { budget } from '../helpers/wait.ts';

const ROOT = join(import.meta.dirname, '../..');
const found = locateElectron(ROOT);
const reason = 'reason' in found ? found.reason : '';
/** How long a check of the running app may take to come true (Vitest's own default for expect.poll is a fixed 1 s). */
const POLL = { timeout: budget(5_000) };

/** The little of the page's DOM the checks touch (this suite compiles without the DOM library). */
interface PageGlobals {
  document: { createElement(tag: 'a'): { href: string; target: string; textContent: string; click(): void; remove(): void }; body: { append(n: unknown): void } };
  location: { href: string };
  open(url: string): unknown;
}

/** The window must still show the console, and be the only window. */
async function stillTheConsole(app: ElectronApplication, win: Page): Promise<void> {
  expect(app.windows()).toHaveLength(1);
  expect(win.url()).toMatch(/^app:\/\/console\//);
  await expect.poll(() => win.evaluate(() => typeof (globalThis as unknown as { countersign?: object }).countersign), POLL).toBe('object');
}

describe(reason ? `Electron smoke test — SKIPPED: ${reason}` : 'Electron smoke test', () => {
  it.skipIf(!!reason)('opens app://console locked down; target=_blank, external links and redirects cannot replace it', async () => {
    const tsc = toolCommand(ROOT, 'typescript', 'tsc');
    expect(spawnSync(tsc.command, [...tsc.args, '-p', 'tsconfig.main.json'], { cwd: ROOT }).status).toBe(0);
    const home = mkdtempSync(join(tmpdir(), 'cs-electron-'));
    const hits: string[] = [];
    const web = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(302, { location: 'https://example.com/' }).end();
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const webUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}`;
    const app = await _electron.launch({
      executablePath: (found as { path: string }).path,
      // Chromium refuses to run as root with its sandbox; anyone else keeps it.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '.'],
      cwd: ROOT,
      env: { ...process.env, COUNTERSIGN_DATA_DIR: join(home, 'data'), COUNTERSIGN_USER_DATA: join(home, 'profile'), COUNTERSIGN_PORT: '0', COUNTERSIGN_PROTECTOR: 'file-0600' },
    });
    try {
      const win = await app.firstWindow();
      await stillTheConsole(app, win);
      expect(await win.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require)).toBe('undefined');
      const prefs = await app.evaluate(({ BrowserWindow }) => (BrowserWindow.getAllWindows()[0]!.webContents as unknown as { getLastWebPreferences(): unknown }).getLastWebPreferences());
      expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
      // Record what would go to the system browser instead of opening it.
      await app.evaluate(({ shell }) => {
        const opened: string[] = [];
        (globalThis as unknown as { opened: string[] }).opened = opened;
        shell.openExternal = async (url: string) => void opened.push(url);
      });
      const opened = () => app.evaluate(() => (globalThis as unknown as { opened: string[] }).opened);

      const click = (href: string, target?: string) => win.evaluate(([h, t]) => {
        const { document } = globalThis as unknown as PageGlobals;
        const a = document.createElement('a');
        a.href = h!;
        if (t) a.target = t;
        a.textContent = 'link';
        document.body.append(a);
        a.click();
        a.remove();
      }, [href, target]);
      await click('https://example.com/blank', '_blank');
      await expect.poll(opened, POLL).toContain('https://example.com/blank');
      await stillTheConsole(app, win);
      await click('https://example.com/same-window');
      await expect.poll(opened, POLL).toContain('https://example.com/same-window');
      await stillTheConsole(app, win);
      // A navigation to a server that would redirect never leaves the app, and never reaches the server.
      await win.evaluate((u) => { (globalThis as unknown as PageGlobals).location.href = u; }, `${webUrl}/redirect`);
      await win.evaluate(() => (globalThis as unknown as PageGlobals).open('app://console.evil/'));
      await stillTheConsole(app, win);
      expect(hits).toEqual([]);
    } finally {
      await app.close();
      await new Promise((r) => web.close(r));
    }
  }, budget(90_000));
});
