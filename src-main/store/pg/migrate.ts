// Schema migrations on PostgreSQL: each in one transaction, under an advisory lock so that two nodes starting at once
// apply them once; a database whose schema is newer than this Countersign is refused, as on SQLite.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DatabaseError } from '../db.ts';
import { PG_MIGRATIONS } from './migrations/index.ts';

/** Advisory lock keys (one 64-bit space per database): migrations, and the audit chain's single writer. */
export const LOCKS = { migrate: 0x436f756e_7301, audit: 0x436f756e_7302 } as const;

const LATEST = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

async function currentVersion(client: pg.ClientBase): Promise<number> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}

function refuseNewer(current: number): void {
  if (current > LATEST) {
    throw new DatabaseError(`database schema version ${current} is newer than this Countersign (${LATEST}); upgrade Countersign`, 'newer-schema');
  }
}

/** Applies pending migrations, each in its own transaction. Returns the versions before and after. */
export async function migratePg(client: pg.ClientBase): Promise<{ from: number; to: number }> {
  await client.query('SELECT pg_advisory_lock($1)', [LOCKS.migrate]);
  try {
    const from = await currentVersion(client);
    refuseNewer(from);
    for (const m of PG_MIGRATIONS) {
      if (m.version <= from) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES ($1, $2, $3, $4)',
          [m.version, m.name, createHash('sha256').update(m.sql).digest('hex'), new Date().toISOString()]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw new DatabaseError(`PostgreSQL migration ${m.version} (${m.name}) failed: ${(e as Error).message}`);
      }
    }
    return { from, to: Math.max(from, LATEST) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCKS.migrate]).catch(() => {});
  }
}

/** For read-only use (verify, export): refuses a newer schema without changing anything. */
export async function assertPgSchema(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!r.rows[0]?.t) throw new DatabaseError('the database holds no Countersign schema; run: countersign init --store URL', 'empty');
  const v = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
  refuseNewer(v);
  return v;
}
