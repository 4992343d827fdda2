// Where a test run writes its temporary files. The suites write gigabytes that they delete again (databases made for one
// test, demo installs, agent executables of 120 MB built to run once): on a disk, each such file costs journalling,
// write-back and, on delete, discards; on a tmpfs it costs a memory copy. Measured on this 2-core machine, one run
// each: 5 GB written to the disk per run become 0.15 GB; quiet, npm test took 562 s against 618 s with /tmp (ext4), but
// runs vary by that much (CI: 578 s before, 576 s after), so the time saved is small. The run's folder peaks at 1 GB.
//
// Nothing a test checks depends on the disk: the durability tests kill processes, not the machine, and the disk-full
// test makes its own small tmpfs. TMPDIR set by the caller, or COUNTERSIGN_TEST_TMPFS=0, keeps the usual folder.
import { accessSync, constants, mkdirSync, mkdtempSync, chmodSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerState, recordOwner } from '../test/helpers/processIdentity.ts';

export const TMPFS_ENV = 'COUNTERSIGN_TEST_TMPFS';
const TMPFS_MAGIC = 0x01021994;
/** Four times the run's measured peak: a tmpfs is memory, and one nearly full fails every test that writes. */
export const MIN_FREE_BYTES = 4 * 1024 ** 3;
const PARENT = 'countersign-tests';
/** A run folder with no owner file is one whose run died between making it and writing the file: gone after this long. */
const UNOWNED_GRACE_MS = 3_600_000;

export interface RunTmp {
  /** The folder to give the runners as TMPDIR, or undefined to keep the usual one. */
  dir: string | undefined;
  /** One line for the run's output: where its files go, and why. */
  line: string;
  /** Removes the folder (a run killed before it does leaves it for the next run to remove). */
  remove(): void;
}

export function isTmpfs(path: string): boolean {
  try {
    return statfsSync(path).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/** The run's temporary folder on the tmpfs at `base` when there is one with room; else the usual folder, and why. */
export function runTmpFolder(env: NodeJS.ProcessEnv = process.env, opts: { base?: string; minFreeBytes?: number } = {}): RunTmp {
  const base = opts.base ?? '/dev/shm';
  const keep = (why: string): RunTmp => ({ dir: undefined, line: `npm test: temporary files in ${env.TMPDIR || tmpdir()} (${why})`, remove: () => {} });
  if (env[TMPFS_ENV] === '0') return keep(`${TMPFS_ENV}=0`);
  if (env.TMPDIR) return keep('TMPDIR is set');
  if (process.platform !== 'linux' || !isTmpfs(base)) return keep(`${base} is not a tmpfs`);
  const { bavail, bsize } = statfsSync(base);
  const free = bavail * bsize;
  const need = opts.minFreeBytes ?? MIN_FREE_BYTES;
  if (free < need) return keep(`${base} has ${gib(free)} free, under the ${gib(need)} a run may need`);
  try {
    accessSync(base, constants.W_OK);
  } catch {
    return keep(`${base} is not writable`);
  }
  const parent = join(base, PARENT);
  mkdirSync(parent, { recursive: true, mode: 0o711 });
  // A folder in a place every user can write is used only when this user made it.
  if (statSync(parent).uid !== process.getuid!()) return keep(`${parent} belongs to another user`);
  const removed = reapRunFolders(parent);
  const dir = mkdtempSync(join(parent, 'run-'));
  // Traversable by other users, not listable: the run's PostgreSQL cluster runs as user postgres under it.
  chmodSync(dir, 0o711);
  recordOwner(dir);
  const reaped = removed.length ? `; removed ${removed.length} left by killed runs` : '';
  return {
    dir,
    line: `npm test: temporary files in ${dir} (a tmpfs, ${gib(free)} free: no disk writes; ${TMPFS_ENV}=0 keeps them in ${tmpdir()})${reaped}`,
    remove: () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }),
  };
}

/** Removes the run folders whose run is gone (its owner file names a process that no longer runs). */
export function reapRunFolders(parent: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    if (!name.startsWith('run-')) continue;
    const dir = join(parent, name);
    const owner = ownerState(dir);
    const gone = owner === 'gone' || (owner === 'unknown' && Date.now() - statSync(dir).mtimeMs > UNOWNED_GRACE_MS);
    if (!gone) continue;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    removed.push(dir);
  }
  return removed;
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
