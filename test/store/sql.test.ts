import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../../src-main/app.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';
import { ReadOnlyViolation, sqliteSql } from '../../src-main/store/sql.ts';
import type { Db } from '../../src-main/store/db.ts';
import { postgresAvailable, newDatabase } from '../helpers/stores.ts';

// A read-only tool gets a read-only handle: a statement that writes is refused before it runs, whichever method
// carries it, and nothing changes.
let db: Db;
beforeAll(async () => {
  const { db: made, store } = await initDataDir(join(mkdtempSync(join(tmpdir(), 'cs-sql-')), 'data'));
  await seedDemoFleet(store);
  db = made;
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

describe.skipIf(!postgresAvailable())(`the read-only pool on PostgreSQL${postgresAvailable() ? '' : ' [skipped: no PostgreSQL for this run]'}`, () => {
  it('the server refuses a writing statement through it (default_transaction_read_only), and the rows stay', async () => {
    const { store } = await initDataDir(join(mkdtempSync(join(tmpdir(), 'cs-sql-pg-')), 'data'), undefined, { storeUrl: await newDatabase('readonly') });
    try {
      await seedDemoFleet(store);
      const before = (await store.sql.get<{ n: number }>('SELECT count(*) AS n FROM devices'))!.n;
      await expect(store.readOnly.run('DELETE FROM devices')).rejects.toThrow(/read-only/);
      await expect(store.readOnly.all("UPDATE devices SET hostname = 'x' RETURNING id")).rejects.toThrow(/read-only/);
      expect((await store.sql.get<{ n: number }>('SELECT count(*) AS n FROM devices'))!.n).toBe(before);
    } finally {
      await store.close();
    }
  });
});
