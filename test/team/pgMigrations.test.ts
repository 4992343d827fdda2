// PostgreSQL's migrations are SQLite's twins: numbered and named alike, applied once even when two nodes start on an
// empty database at the same moment, each in its own transaction (a failing one leaves the schema where it was), a
// newer schema refused; and the tables and columns they make are the same on both dialects (what a row copy, the data
// layer and migrate --from-sqlite rely on).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db.ts';
import { MIGRATIONS } from '../../src-main/store/migrations/index.ts';
import { PG_MIGRATIONS } from '../../src-main/store/pg/migrations/index.ts';
import { migratePg } from '../../src-main/store/pg/migrate.ts';
import { openPgStore } from '../../src-main/store/pg/store.ts';
import { newDatabase, postgresAvailable } from '../helpers/stores.ts';

const signingKey = generateKeyPairSync('ed25519').privateKey;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe.skipIf(!postgresAvailable())(`PostgreSQL migrations${postgresAvailable() ? '' : ' [skipped: no PostgreSQL for this run]'}`, () => {
  it('are numbered and named as SQLite\'s, and two nodes starting at once on an empty database apply each once', async () => {
    expect(PG_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    const url = await newDatabase('migrations');
    const stores = await Promise.all([openPgStore({ url, signingKey }), openPgStore({ url, signingKey })]);
    await Promise.all(stores.map((s) => s.close()));
    const applied = await withClient(url, async (c) => (await c.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version')).rows);
    expect(applied.map((r) => [r.version, r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
  });

  it('make the same tables and columns as SQLite\'s (search indexes and the shared budgets aside)', async () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'cs-twins-')), 'countersign.db'), { create: true });
    const virtual = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'`).all() as { name: string }[]).map((r) => r.name);
    const lite = new Map<string, string[]>();
    for (const { name } of db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]) {
      if (virtual.some((v) => name === v || name.startsWith(`${v}_`))) continue;
      lite.set(name, (db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[]).map((r) => r.name).sort());
    }
    db.close();
    const url = await newDatabase('twins');
    await (await openPgStore({ url, signingKey })).close();
    const pgTables = await withClient(url, async (c) => {
      const rows = (await c.query<{ table_name: string; column_name: string }>(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`)).rows;
      const out = new Map<string, string[]>();
      for (const r of rows) out.set(r.table_name, [...(out.get(r.table_name) ?? []), r.column_name]);
      return out;
    });
    pgTables.delete('rate_buckets'); // team mode only: the key budgets several nodes share
    expect(Object.fromEntries([...pgTables].map(([t, cols]) => [t, [...cols].sort()]))).toEqual(Object.fromEntries(lite));
  });

  it('a failing migration leaves the schema where it was; a newer schema is refused', async () => {
    const url = await newDatabase('refusals');
    await (await openPgStore({ url, signingKey })).close();
    const latest = MIGRATIONS.at(-1)!.version;
    // The newest migration that cannot be applied twice (it creates a table; later ones may be idempotent, as 20 is).
    const failing = [...PG_MIGRATIONS].reverse().find((m) => /CREATE TABLE (?!IF NOT EXISTS)/i.test(m.sql))!;
    await withClient(url, async (c) => {
      // An edit that makes that migration fail when applied again: drop its record and the later ones, keep its table.
      await c.query('DELETE FROM schema_migrations WHERE version >= $1', [failing.version]);
      await expect(migratePg(c)).rejects.toThrow(new RegExp(`migration ${failing.version} .* failed`));
      expect((await c.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]!.v).toBe(failing.version - 1);
      await c.query(`INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES ($1, 'from the future', '0', '2099-01-01')`, [latest + 1]);
    });
    await expect(openPgStore({ url, signingKey })).rejects.toThrow(/newer than this Countersign/);
  });
});
