// The database, its WAL and SHM, the install secrets and the checkpoint file are readable by their user only (0600),
// whether init made the data directory or it existed already, and an older install with loose modes is tightened.
import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DB_FILE, initDataDir, openApp } from '../../src-main/app.ts';

const FILES = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, 'secrets.json'];
const CHECKPOINTS = 'audit-checkpoints.jsonl';
const modes = (dir: string) => Object.fromEntries(FILES.map((f) => [f, (statSync(join(dir, f)).mode & 0o777).toString(8)]));
const checkpointMode = (dir: string) => (statSync(join(dir, CHECKPOINTS)).mode & 0o777).toString(8);
const all600 = Object.fromEntries(FILES.map((f) => [f, '600']));

async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

describe('file modes of a data directory', () => {
  it.each([
    ['a directory init creates', (root: string) => join(root, 'new')],
    ['a directory that already existed (mode 0755)', (root: string) => {
      const d = join(root, 'existing');
      mkdirSync(d, { mode: 0o755 });
      chmodSync(d, 0o755);
      return d;
    }],
  ])('%s: database, WAL, SHM, secrets and checkpoints are 0600 under a permissive umask', async (_label, make) => {
    const dir = make(mkdtempSync(join(tmpdir(), 'cs-modes-')));
    await withUmask(0o022, async () => {
      await (await initDataDir(dir)).store.close();
      const app = await openApp(dir, { log: () => {} });
      await app.store.audit.append({ event: 'system', decision: 'info', outcome: 'write something' });
      expect(modes(dir)).toEqual(all600);
      expect(checkpointMode(dir)).toBe('600');
      await app.close();
    });
  });

  it('an install whose files were left readable by others is tightened when it is next opened', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cs-modes-old-')), 'd');
    await withUmask(0o022, async () => {
      await (await initDataDir(dir)).store.close();
      for (const f of [DB_FILE, 'secrets.json']) chmodSync(join(dir, f), 0o644);
      const app = await openApp(dir, { log: () => {} });
      await app.store.audit.append({ event: 'system', decision: 'info', outcome: 'x' });
      expect(modes(dir)).toEqual(all600);
      await app.close();
    });
  });
});
