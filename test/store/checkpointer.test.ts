import { mkdtempSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.ts';
import { openDatabase, type Db } from '../../src-main/store/db.ts';
import { BACKSTOP_PAGES, startCheckpointer } from '../../src-main/store/checkpointer.ts';

const fresh = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cs-ckpt-')), 'countersign.db');
  const db = openDatabase(file, { create: true });
  db.exec('CREATE TABLE filler (n INTEGER PRIMARY KEY, blob BLOB NOT NULL) STRICT');
  return { file, db };
};
const fill = (db: Db, pages: number) => {
  const insert = db.prepare('INSERT INTO filler (blob) VALUES (randomblob(3000))');
  for (let i = 0; i < pages; i += 50) db.transaction(() => { for (let j = 0; j < 50; j++) insert.run(); })();
};

describe('background checkpoints', () => {
  it('copy committed WAL pages into the database file from a worker thread, not inside the main thread\'s commits', async () => {
    const { file, db } = fresh();
    const ckpt = startCheckpointer(db, { everyMs: 20 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_PAGES);
    const before = statSync(file).size;
    fill(db, 2000);
    // 2,000 pages stay under the main connection's backstop: only the worker can have moved them.
    await until('the worker to copy the WAL into the database file', () => statSync(file).size > before + 4_000_000, 10_000, 20);
    const stats = await ckpt.stop();
    expect(stats.runs).toBeGreaterThan(0);
    expect(stats.frames).toBeGreaterThanOrEqual(2000);
    expect((db.prepare('SELECT count(*) FROM filler').pluck().get())).toBe(2000);
    db.close();
  });

  it('control: without the worker, the same writes stay in the WAL', async () => {
    const { file, db } = fresh();
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    const before = statSync(file).size;
    fill(db, 2000);
    // No worker exists to move the pages later: what the commits left is what stays.
    expect(statSync(file).size).toBe(before);
    db.close();
  });

  it('a worker that cannot run hands checkpoints back to the commits, and says so', async () => {
    const { file, db } = fresh();
    renameSync(file, `${file}.moved`);
    const logged: string[] = [];
    startCheckpointer(db, { log: (m) => logged.push(m) });
    await until('the fallback to be logged', () => logged.length > 0, 10_000, 20);
    expect(logged[0]).toMatch(/background checkpoints stopped/);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });
});
