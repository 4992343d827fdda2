// An install's database through the store's own driver seam (Sql), on either store: the SQLite file in the data
// directory, or the PostgreSQL database at `url`. Suites that check rows after a crash or a flood write each statement
// once (`?` placeholders, standard SQL) and run it on both stores.
import { join } from 'node:path';
import pg from 'pg';
import { DB_FILE } from '../../src-main/app.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { sqliteSql, type Row, type Sql } from '../../src-main/store/sql.ts';
import { pgSql, pgTypes } from '../../src-main/store/pg/sql.ts';

export interface InstallSql {
  sql: Sql;
  /** The first row's first column as a number (a count or a max): the same on both stores. */
  num(text: string, params?: readonly unknown[]): Promise<number>;
  close(): Promise<void>;
}

/** `readOnly`: SQLite opens the file read-only; PostgreSQL refuses writes on the connection. */
export async function openInstallSql(dir: string, url: string | undefined, opts: { readOnly?: boolean } = {}): Promise<InstallSql> {
  let sql: Sql;
  let close: () => Promise<void>;
  if (url) {
    const client = new pg.Client({ connectionString: url, types: pgTypes, ...(opts.readOnly ? { options: '-c default_transaction_read_only=on' } : {}) });
    await client.connect();
    sql = pgSql(client);
    close = () => client.end();
  } else {
    const db = openDatabase(join(dir, DB_FILE), { readonly: opts.readOnly });
    sql = sqliteSql(db);
    close = async () => void db.close();
  }
  const num = async (text: string, params: readonly unknown[] = []) => Number(Object.values((await sql.get<Row>(text, params)) ?? {})[0] ?? NaN);
  return { sql, num, close };
}

/** Opens, runs `fn`, closes. */
export async function withInstallSql<T>(dir: string, url: string | undefined, fn: (db: InstallSql) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  const db = await openInstallSql(dir, url, opts);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
