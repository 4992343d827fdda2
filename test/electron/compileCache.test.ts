// The desktop app's entry turns Node's compile cache on before the main process is loaded, in the same per-user
// directory as the command line, so the app's own modules (not only the ones it loads later) come from the cache.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMain, desktopHome, launchDesktop, type Desktop } from './standin/harness.ts';
import { budget } from '../helpers/wait.ts';

const running: Desktop[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.kill()));
});
beforeAll(() => buildMain(), budget(120_000));

/** Starts the desktop with this cache home and switches, waits for its window, quits it: the cached files. */
async function startAndQuit(env: NodeJS.ProcessEnv): Promise<{ dir: string; files: number }> {
  const home = desktopHome();
  const cacheHome = join(home.appData, '..', 'cache');
  // The directory comes from the per-user rules, not from a NODE_COMPILE_CACHE the test run may have.
  const d = launchDesktop(home, { keystore: 'available' }, { XDG_CACHE_HOME: cacheHome, NODE_COMPILE_CACHE: undefined, ...env });
  running.push(d);
  await d.waitFor('BrowserWindow.show');
  await d.send({ cmd: 'quit' });
  expect(await d.exited).toEqual({ code: 0, signal: null });
  const dir = join(cacheHome, 'countersign', 'compile-cache');
  const files = existsSync(dir) ? readdirSync(dir).flatMap((v) => readdirSync(join(dir, v))).length : 0;
  rmSync(join(home.appData, '..'), { recursive: true, force: true });
  return { dir, files };
}

describe('compile cache of the desktop app', () => {
  it('a start fills the per-user cache with the main process\'s modules', async () => {
    // The main process loads some 300 modules (server, console, SDK, zod); a cache that only caught the ones loaded
    // after start-up would hold a few.
    expect((await startAndQuit({})).files, 'cached modules').toBeGreaterThan(100);
  }, budget(60_000));

  it('NODE_DISABLE_COMPILE_CACHE=1 leaves it empty', async () => {
    expect((await startAndQuit({ NODE_DISABLE_COMPILE_CACHE: '1' })).files).toBe(0);
  }, budget(60_000));
});
