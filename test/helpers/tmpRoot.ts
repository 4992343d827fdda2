// Everything the suites write to the temporary directory lands under one folder per run (made by the global setup of
// each runner, removed at its end whatever happened), and in Vitest under one folder per test file inside it (removed
// after the file): servers, agents, CLI runs and builds all use os.tmpdir(), which reads TMPDIR, so nothing a test or
// the processes it starts leave behind piles up in /tmp. Each folder can be traversed by other users (0711, not
// listed): the throwaway PostgreSQL cluster runs as user postgres under it.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the current temporary directory, made the temporary directory of this process and its children. */
export function enterTmpFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  process.env.TMPDIR = dir;
  return dir;
}

export function removeTmpFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
