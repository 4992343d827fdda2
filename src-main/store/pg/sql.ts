// The driver seam over PostgreSQL (node-postgres): the same Sql the rest of the product speaks. Statements are written
// once, with `?` placeholders; they become `$1, $2, …` here. Bigints and numerics come back as numbers, as SQLite's do.
import pg from 'pg';
import { ReadOnlyViolation, type Params, type Sql } from '../sql.ts';

/** Anything that runs a query: the pool, or one client (the write connection inside its transaction). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

const INT8 = 20;
const NUMERIC = 1700;
/** Counts and sums are int8 or numeric in PostgreSQL; every value we store fits a double, as in SQLite. */
export const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    (oid === INT8 || oid === NUMERIC) && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

const converted = new Map<string, string>();
const CACHE_MAX = 1000;

/** `?` → `$n`, outside string literals, quoted identifiers and comments. */
export function toPgPlaceholders(text: string): string {
  const hit = converted.get(text);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i, stop + 1);
      i = stop;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += text.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else out += c;
  }
  if (converted.size >= CACHE_MAX) converted.clear();
  converted.set(text, out);
  return out;
}

/**
 * PostgreSQL's text cannot hold NUL (SQLite's can; a client, a console form or an agent's script output may send one):
 * it becomes U+FFFD, as the audit log stores it on both stores, in what is stored and in what is looked up alike, so
 * that such text is stored or simply not found instead of failing the statement.
 */
function storable(params: Params): unknown[] {
  if (!params.some((p) => typeof p === 'string' && p.includes('\u0000'))) return params as unknown[];
  return params.map((p) => (typeof p === 'string' ? p.replaceAll('\u0000', '\uFFFD') : p));
}

/** SQLSTATE 25006: a write on a connection the server holds read-only. */
const READ_ONLY_TRANSACTION = '25006';

export function pgSql(q: Queryable, opts: { readOnly?: boolean } = {}): Sql {
  const run = async (text: string, params: Params = []) => {
    try {
      return await q.query(toPgPlaceholders(text), storable(params));
    } catch (e) {
      if (opts.readOnly && (e as { code?: string }).code === READ_ONLY_TRANSACTION) {
        throw new ReadOnlyViolation(`a read-only handle refused a writing statement: ${text.slice(0, 80)}`);
      }
      throw e;
    }
  };
  return {
    dialect: 'postgres',
    get: async <T>(text: string, params?: Params) => (await run(text, params)).rows[0] as T | undefined,
    all: async <T>(text: string, params?: Params) => (await run(text, params)).rows as T[],
    run: async (text: string, params?: Params) => ({ changes: (await run(text, params)).rowCount ?? 0 }),
  };
}
