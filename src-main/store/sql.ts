// The driver seam: everything above the store speaks to a database through Sql, never through better-sqlite3.
// Every method returns a promise so that an asynchronous driver (PostgreSQL) fits behind the same interface.
import type { Db } from './db.ts';

export type Params = readonly unknown[];
export type Row = Record<string, unknown>;

export interface Sql {
  readonly dialect: 'sqlite' | 'postgres';
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  run(sql: string, params?: Params): Promise<{ changes: number }>;
}

/** Thrown when a read-only handle is asked to run a statement that writes: a defect, never a client mistake. */
export class ReadOnlyViolation extends Error {}

const NO_PARAMS: Params = [];

/**
 * SQLite through better-sqlite3. `readOnly` handles refuse, before running it, any statement SQLite itself
 * reports as writing (Statement.readonly), so a tool declared read-only cannot change the database even by mistake.
 */
export function sqliteSql(db: Db, opts: { readOnly?: boolean } = {}): Sql {
  const readOnly = opts.readOnly === true;
  const prepare = (sql: string) => {
    const stmt = db.prepare(sql);
    if (readOnly && !stmt.readonly) throw new ReadOnlyViolation(`a read-only handle refused a writing statement: ${sql.slice(0, 80)}`);
    // Statements are cached by text (db.ts): one a direct caller switched to pluck mode comes back as rows here.
    if (stmt.reader) stmt.pluck(false);
    return stmt;
  };
  return {
    dialect: 'sqlite',
    get: <T>(sql: string, params: Params = NO_PARAMS) => Promise.resolve(prepare(sql).get(...params) as T | undefined),
    all: <T>(sql: string, params: Params = NO_PARAMS) => Promise.resolve(prepare(sql).all(...params) as T[]),
    run: (sql: string, params: Params = NO_PARAMS) => {
      if (readOnly) return Promise.reject(new ReadOnlyViolation(`a read-only handle refused to run: ${sql.slice(0, 80)}`));
      return Promise.resolve({ changes: db.prepare(sql).run(...params).changes });
    },
  };
}

/** `?, ?, ?` for an IN list of n values (n ≥ 1). */
export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
