// `countersign agent build` for the suites that need agent executables (test/agentBuild, test/agent/executable), one
// build at a time per build cache. The cache keeps finished executables by content hash, so the second suite to build
// the same target and version only copies it, but two builds running at once on a cold cache (a fresh clone, or agent
// code changed) both miss and both inject the same ~120 MB executable. The lock makes the later one wait for the
// earlier one's result instead; whichever suite comes first builds.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csAsync } from '../agent/harness.ts';
import { alive, until } from './wait.ts';

/** Takes the cache's build lock (a folder holding its owner's pid), or says why not: held by a live process. */
function tryLock(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      // Being taken right now (its pid file follows), or left by a process killed between the two steps.
      if (Date.now() - statSync(dir).mtimeMs < 10_000) return false;
    }
    if (owner && alive(owner)) return false;
    rmSync(dir, { recursive: true, force: true }); // left by a killed run
    return false;
  }
  writeFileSync(join(dir, 'pid'), String(process.pid));
  return true;
}

/** `agent build ARGS` with COUNTERSIGN_BUILD_CACHE=cache, after any other suite's build on the same cache has ended. */
export async function agentBuild(cache: string, args: string[], baseMs: number): Promise<Awaited<ReturnType<typeof csAsync>>> {
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, '.test-build-lock');
  await until(`the agent build lock ${lock} (another suite's build on this cache)`, () => tryLock(lock), baseMs, 250);
  try {
    return await csAsync(['agent', 'build', ...args], { COUNTERSIGN_BUILD_CACHE: cache }, baseMs);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
