// Copying an embedded (SQLite) install into an empty PostgreSQL database, table by table in foreign-key order, in one
// transaction: the copy is whole or absent. Rows are copied as stored (the audit chain with its hashes, the checkpoint
// records), so the chain and the checkpoint files verify against the copy exactly as against the original.
import type pg from 'pg';
import type { Db } from '../db.ts';
import { toPgPlaceholders } from './sql.ts';

const ROWS_PER_INSERT = 500;

export interface CopyReport {
  tables: { name: string; rows: number }[];
  ms: number;
}

/** Tables of the SQLite file, parents before children (so every foreign key finds its row). */
function tablesInOrder(db: Db): string[] {
  // Search indexes (FTS5 virtual tables and their shadow tables) and counts are derived data: PostgreSQL builds its own.
  const virtual = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'`).all() as { name: string }[]).map((r) => r.name);
  // device_counts is kept by triggers on devices: PostgreSQL's own count the copied devices.
  const derived = (name: string) => name === 'device_counts' || virtual.some((v) => name === v || name.startsWith(`${v}_`));
  const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name`)
    .all() as { name: string }[]).map((r) => r.name).filter((n) => !derived(n));
  const parents = new Map(names.map((n) => [n, new Set((db.prepare(`SELECT "table" AS t FROM pragma_foreign_key_list(?)`).all(n) as { t: string }[])
    .map((r) => r.t).filter((t) => t !== n))]));
  const out: string[] = [];
  const placed = new Set<string>();
  while (out.length < names.length) {
    const next = names.find((n) => !placed.has(n) && [...parents.get(n)!].every((p) => placed.has(p) || !parents.has(p)));
    if (!next) throw new Error('the SQLite schema has a foreign-key cycle; it cannot be copied table by table');
    out.push(next);
    placed.add(next);
  }
  return out;
}

/**
 * Copies every row of `db` into the PostgreSQL database behind `client` (already migrated to the same schema version,
 * and empty). Refuses a target that already holds data.
 */
export async function copySqliteToPg(db: Db, client: pg.ClientBase, progress: (table: string, rows: number) => void = () => {}): Promise<CopyReport> {
  const started = performance.now();
  const tables = tablesInOrder(db);
  const report: CopyReport = { tables: [], ms: 0 };
  await client.query('BEGIN');
  try {
    for (const table of tables) {
      const target = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, [table]);
      if (target.rows.length === 0) throw new Error(`table ${table} exists in the SQLite file but not in PostgreSQL: the schemas differ`);
      const existing = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
      if (existing.rows[0]!.n > 0) throw new Error(`the PostgreSQL database already holds rows in ${table}; migrate into an empty database`);
      const pgColumns = new Set(target.rows.map((r) => r.column_name));
      const columns = (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).all(table) as { name: string }[]).map((r) => r.name);
      const missing = columns.filter((c) => !pgColumns.has(c));
      if (missing.length) throw new Error(`columns ${missing.join(', ')} of ${table} are missing in PostgreSQL: the schemas differ`);
      const list = columns.map((c) => `"${c}"`).join(', ');
      const row = `(${columns.map(() => '?').join(', ')})`;
      let n = 0;
      let batch: unknown[][] = [];
      const flush = async () => {
        if (!batch.length) return;
        await client.query(toPgPlaceholders(`INSERT INTO "${table}" (${list}) VALUES ${batch.map(() => row).join(', ')}`), batch.flat());
        n += batch.length;
        batch = [];
      };
      const order = columns.includes('seq') ? ' ORDER BY seq' : columns.includes('n') ? ' ORDER BY n' : '';
      for (const r of db.prepare(`SELECT ${list} FROM "${table}"${order}`).raw().iterate() as Iterable<unknown[]>) {
        batch.push(r);
        if (batch.length >= ROWS_PER_INSERT) await flush();
      }
      await flush();
      report.tables.push({ name: table, rows: n });
      progress(table, n);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
  report.ms = performance.now() - started;
  return report;
}
