import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTmpfs, reapRunFolders, runTmpFolder, TMPFS_ENV } from '../../scripts/testTmp.ts';
import { processIdentity } from '../helpers/processIdentity.ts';

// The real tmpfs of this machine; a private folder under it stands in for /dev/shm, so no other run's folder is touched.
const SHM = '/dev/shm';
const shm = isTmpfs(SHM);
const made: string[] = [];
const freshBase = () => {
  const d = mkdtempSync(join(SHM, 'cs-testtmp-'));
  made.push(d);
  return d;
};
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

// The suite itself runs with TMPDIR set (its global setup): each case passes the environment it means.
const noTmpdir = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH });

describe.skipIf(!shm)(`the run's temporary folder on a tmpfs${shm ? '' : ` (skipped: ${SHM} is not a tmpfs here)`}`, () => {
  it('is made under the tmpfs with its owner recorded, traversable but not listable by others, and removed at the end', () => {
    const t = runTmpFolder(noTmpdir(), { base: freshBase(), minFreeBytes: 1 });
    expect(t.dir).toMatch(/\/countersign-tests\/run-/);
    expect(t.line).toContain(t.dir!);
    expect(statSync(t.dir!).mode & 0o777).toBe(0o711);
    expect(readFileSync(join(t.dir!, 'owner'), 'utf8')).toBe(processIdentity(process.pid));
    t.remove();
    expect(existsSync(t.dir!)).toBe(false);
  });

  it('a folder left by a killed run is removed; a live run\'s, and a fresh one without an owner yet, are kept', () => {
    const base = freshBase();
    const parent = join(base, 'countersign-tests');
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))'], { encoding: 'utf8' });
    const deadStart = child.stdout.slice(child.stdout.lastIndexOf(')') + 2).split(' ')[19];
    const folder = (name: string, owner?: string) => {
      mkdirSync(join(parent, name), { recursive: true });
      if (owner !== undefined) writeFileSync(join(parent, name, 'owner'), owner);
      return join(parent, name);
    };
    const dead = folder('run-dead', `${child.pid} ${deadStart}`);
    const live = folder('run-live', processIdentity(process.pid));
    const fresh = folder('run-fresh');
    const old = folder('run-old');
    utimesSync(old, new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 2 * 3_600_000));
    const other = folder('not-a-run', 'x');
    expect(reapRunFolders(parent).sort()).toEqual([dead, old].sort());
    expect([dead, live, fresh, old, other].map(existsSync)).toEqual([false, true, true, false, true]);
    const t = runTmpFolder(noTmpdir(), { base, minFreeBytes: 1 });
    expect(t.line).not.toContain('removed');
    t.remove();
  });

  it('too little room, TMPDIR set, or COUNTERSIGN_TEST_TMPFS=0: the usual folder, and the line says why', () => {
    const base = freshBase();
    const full = runTmpFolder(noTmpdir(), { base, minFreeBytes: Number.MAX_SAFE_INTEGER });
    expect(full.dir).toBeUndefined();
    expect(full.line).toMatch(/GiB free, under the .* GiB a run may need/);
    expect(runTmpFolder({ ...noTmpdir(), TMPDIR: '/somewhere' }, { base }).line).toBe('npm test: temporary files in /somewhere (TMPDIR is set)');
    expect(runTmpFolder({ ...noTmpdir(), [TMPFS_ENV]: '0' }, { base }).line).toMatch(new RegExp(`\\(${TMPFS_ENV}=0\\)$`));
    expect(existsSync(join(base, 'countersign-tests'))).toBe(false);
  });
});

describe.skipIf(isTmpfs(process.cwd()))(`a base that is not a tmpfs${isTmpfs(process.cwd()) ? ' (skipped: the checkout is on a tmpfs here)' : ''}`, () => {
  it('is not used', () => {
    const t = runTmpFolder(noTmpdir(), { base: process.cwd(), minFreeBytes: 1 });
    expect(t.dir).toBeUndefined();
    expect(t.line).toContain(`${process.cwd()} is not a tmpfs`);
  });
});
