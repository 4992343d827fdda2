// The command line keeps its compiled modules in the user's own cache directory, never the shared temporary one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileCacheDir } from '../../src-main/cli/compileCache.ts';
import { budget } from '../helpers/wait.ts';

const MAIN = join(import.meta.dirname, '../../src-main/cli/main.ts');
// A command whose modules are loaded after the entry (the entry's own static imports are compiled before it runs).
const run = (env: NodeJS.ProcessEnv) => {
  const clean = { ...process.env, ...env };
  delete clean.NODE_COMPILE_CACHE;
  return spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'tenants', 'list', '--data-dir', join(tmpdir(), 'cs-ccache-missing')], { env: clean, encoding: 'utf8', timeout: budget(30_000) });
};

describe('compile cache of the command line', () => {
  it('is the platform per-user cache directory', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }, 'linux')).toBe('/x/cache/countersign/compile-cache');
    expect(compileCacheDir({ HOME: '/home/u' }, 'darwin')).toBe('/home/u/.cache/countersign/compile-cache');
    expect(compileCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toContain(join('countersign', 'compile-cache'));
  });

  it('a run fills it, and NODE_DISABLE_COMPILE_CACHE=1 leaves it empty', () => {
    const on = mkdtempSync(join(tmpdir(), 'cs-ccache-'));
    expect(run({ XDG_CACHE_HOME: on }).stderr).toMatch(/countersign:/);
    const dir = join(on, 'countersign', 'compile-cache');
    expect(readdirSync(dir).flatMap((v) => readdirSync(join(dir, v))).length, 'cached modules').toBeGreaterThan(3);

    const off = mkdtempSync(join(tmpdir(), 'cs-ccache-off-'));
    expect(run({ XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' }).stderr).toMatch(/countersign:/);
    expect(existsSync(join(off, 'countersign', 'compile-cache')) && readdirSync(join(off, 'countersign', 'compile-cache')).length).toBeFalsy();
    for (const d of [on, off]) rmSync(d, { recursive: true, force: true });
  });
});
