import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../../src-main/app.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';
import { ReadOnlyViolation, sqliteSql } from '../../src-main/store/sql.ts';
import type { Db } from '../../src-main/store/db.ts';

// A read-only tool gets a read-only handle: a statement that writes is refused before it runs, whichever method
// carries it, and nothing changes.
let db: Db;
beforeAll(() => {
  ({ db } = initDataDir(join(mkdtempSync(join(tmpdir(), 'cs-sql-')), 'data')));
  seedDemoFleet(db);
});
afterAll(() => db.close());

describe('the read-only handle', () => {
  const count = () => (db.prepare('SELECT count(*) AS n FROM devices').get() as { n: number }).n;

  it('reads', async () => {
    const ro = sqliteSql(db, { readOnly: true });
    expect((await ro.get<{ n: number }>('SELECT count(*) AS n FROM devices'))!.n).toBe(count());
    expect((await ro.all('SELECT id FROM devices LIMIT 2')).length).toBe(2);
  });

  it('refuses writes through run, get and all, and the rows stay', async () => {
    const ro = sqliteSql(db, { readOnly: true });
    const before = count();
    await expect(ro.run('DELETE FROM devices')).rejects.toBeInstanceOf(ReadOnlyViolation);
    expect(() => ro.get('DELETE FROM devices RETURNING id')).toThrow(ReadOnlyViolation);
    expect(() => ro.all("UPDATE devices SET hostname = 'x' RETURNING id")).toThrow(ReadOnlyViolation);
    expect(count()).toBe(before);
    expect(db.prepare("SELECT count(*) AS n FROM devices WHERE hostname = 'x'").pluck().get()).toBe(0);
  });

  it('a writing handle writes (the control)', async () => {
    const rw = sqliteSql(db);
    const id = (db.prepare('SELECT id FROM devices LIMIT 1').pluck().get()) as string;
    expect((await rw.run('UPDATE devices SET os_version = os_version WHERE id = ?', [id])).changes).toBe(1);
  });
});
