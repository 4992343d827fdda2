import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { MIGRATIONS } from './migrations/index.ts';
import { stablePlanSql } from './stablePlans.ts';

/** The install's database file inside its data directory. */
export const DB_FILE = 'countersign.db';

export type Db = Database.Database;

/** Why a database cannot be used, for messages a person can act on (the desktop's start-up dialogs). */
export type DatabaseProblem = 'corrupt' | 'empty' | 'newer-schema' | 'locked' | 'unopenable';

export class DatabaseError extends Error {
  readonly problem: DatabaseProblem;
  constructor(message: string, problem: DatabaseProblem = 'unopenable') {
    super(message);
    this.problem = problem;
  }
}

const isBusy = (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown }).code ?? ''));

/** Opens (or creates) the store, applies pending migrations in one transaction, refuses a newer schema. */
export interface OpenOptions {
  create?: boolean;
  readonly?: boolean;
  /**
   * 'normal' (default): WAL with synchronous=NORMAL — a committed transaction survives a crash or kill -9 of
   * Countersign; a power cut may lose the last moments of work, but an action and its audit entry always go together.
   * 'full': also fsync at every commit, so it survives a power cut too, at a cost in throughput.
   */
  durability?: 'normal' | 'full';
  /** Told which schema versions this open migrated from and to (equal when nothing was pending). */
  onMigrated?: (r: { from: number; to: number }) => void;
}

export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  let db: Db;
  // A zero-length file is a truncated database: refuse it before SQLite would write a fresh header into it.
  if (!opts.create && existsSync(file) && statSync(file).size === 0) {
    throw new DatabaseError(`database ${file} is empty (truncated?); restore it from a backup, or run init in a new data directory`, 'empty');
  }
  try {
    // SQLite creates a database (and later its -wal and -shm, which take the database's mode) with the process umask:
    // made first with 0600, it holds the audit log and key HMACs for this user only.
    if (opts.create && !existsSync(file)) closeSync(openSync(file, 'wx', 0o600));
    db = new Database(file, { fileMustExist: !opts.create, readonly: opts.readonly ?? false });
  } catch (e) {
    throw new DatabaseError(`cannot open database ${file}: ${(e as Error).message}`);
  }
  try {
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      restrictModes(file);
    }
    db.pragma(`synchronous = ${opts.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // The full integrity check reads every page, so it grows with the database: it runs after start, on its own
    // thread (store/integrity.ts). What can be told cheaply is told here: a file cut short of the size its header
    // records, and (below) a schema that cannot be read.
    if (!opts.create) assertWholeFile(file);
    // An existing file with no schema is a truncated or emptied database, never a fresh install to rebuild silently.
    if (!opts.create && (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0) {
      throw new DatabaseError(`database ${file} is empty (truncated?); restore it from a backup, or run init in a new data directory`, 'empty');
    }
    if (!opts.readonly) {
      const migrated = migrate(db);
      opts.onMigrated?.(migrated);
    }
    else assertNotNewer(db);
    cacheStatements(db);
    return db;
  } catch (e) {
    db.close();
    if (e instanceof DatabaseError) throw e;
    if (isBusy(e)) throw new DatabaseError(`database ${file} is locked by another program: ${(e as Error).message}`, 'locked');
    // SQLITE_NOTADB / SQLITE_CORRUPT: the header or pages are not a database any more.
    if (/^SQLITE_(NOTADB|CORRUPT)/.test(String((e as { code?: unknown }).code ?? ''))) throw new DatabaseError(`database ${file} is corrupt: ${(e as Error).message}`, 'corrupt');
    throw new DatabaseError(`database ${file} is unusable: ${(e as Error).message}`);
  }
}

/**
 * A database file shorter than the page count its header records was truncated (a copy cut short, a full disk): refused
 * before any query meets a missing page. The header's count is trusted only when SQLite marked it current
 * (offset 92 equal to the change counter at offset 24), as SQLite itself does, and pages the write-ahead log still
 * holds are not missing.
 */
function assertWholeFile(file: string): void {
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
    if (readSync(fd, header, 0, 100, 0) < 100) throw new DatabaseError(`database ${file} is truncated (${size} bytes, shorter than its header)`, 'corrupt');
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1', 0, 16) !== 'SQLite format 3\0') throw new DatabaseError(`database ${file} is corrupt: not a database (bad header)`, 'corrupt');
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  const pages = header.readUInt32BE(28);
  const current = header.readUInt32BE(92) === header.readUInt32BE(24);
  if (current && pages > 0 && pages * pageSize > size && !walHolds(`${file}-wal`, pageSize, Math.floor(size / pageSize) + 1, pages)) {
    throw new DatabaseError(`database ${file} is truncated: its header records ${pages} pages of ${pageSize} bytes, the file holds ${size} bytes`, 'corrupt');
  }
}

const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/**
 * Whether the write-ahead log holds pages first..last, in frames of its current generation (their salts are the
 * header's) up to its last commit. A process killed while checkpointing may have written page 1 (with the grown page
 * count) but not yet the pages past the file's end: those are still in the log, SQLite reads them from there, and the
 * next checkpoint writes them. Refusing that file would keep the app from starting after a crash.
 */
function walHolds(wal: string, pageSize: number, first: number, last: number): boolean {
  let fd: number;
  try {
    fd = openSync(wal, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(WAL_HEADER);
    if (readSync(fd, header, 0, WAL_HEADER, 0) < WAL_HEADER) return false;
    if ((header.readUInt32BE(0) & 0xfffffffe) !== 0x377f0682 || header.readUInt32BE(8) !== pageSize) return false;
    const salt1 = header.readUInt32BE(16);
    const salt2 = header.readUInt32BE(20);
    const firstFrame = new Map<number, number>();
    let lastCommit = -1;
    const frame = Buffer.alloc(FRAME_HEADER);
    for (let i = 0, at = WAL_HEADER; at + FRAME_HEADER + pageSize <= size; i++, at += FRAME_HEADER + pageSize) {
      if (readSync(fd, frame, 0, FRAME_HEADER, at) < FRAME_HEADER) break;
      if (frame.readUInt32BE(8) !== salt1 || frame.readUInt32BE(12) !== salt2) break;
      const page = frame.readUInt32BE(0);
      if (!firstFrame.has(page)) firstFrame.set(page, i);
      // A frame with a database size is a commit: the frames up to it count.
      if (frame.readUInt32BE(4) !== 0) lastCommit = i;
    }
    for (let p = first; p <= last; p++) if ((firstFrame.get(p) ?? Infinity) > lastCommit) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

/** The database, its WAL and its shared-memory file readable by this user only (an older install may have left them 0644). */
function restrictModes(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch {
      // Not ours to change (another owner): SQLite still works; the data directory's own mode is the other guard.
    }
  }
}

const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function assertNotNewer(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) {
    throw new DatabaseError(`database schema version ${current} is newer than this Countersign (${latest}); upgrade Countersign`, 'newer-schema');
  }
  return current;
}

export function migrate(db: Db): { from: number; to: number } {
  const current = assertNotNewer(db);
  if (current === latest) return { from: current, to: current };
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`);
    const record = db.prepare('INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, createHash('sha256').update(m.sql).digest('hex'), new Date().toISOString());
    }
    db.pragma(`user_version = ${latest}`);
  })();
  return { from: current, to: latest };
}

const STATEMENT_CACHE_SIZE = 500;

/** Each connection's cache of prepared statements, by the SQL text its callers wrote. */
const statementCaches = new WeakMap<Db, Map<string, Database.Statement>>();

/** The SQL texts (as callers wrote them) this connection has prepared and still holds, oldest first. */
export const preparedSql = (db: Db): string[] => [...(statementCaches.get(db)?.keys() ?? [])];

/**
 * Memoises db.prepare by SQL text. Preparing costs more than running most of our statements (a profile of tier-1
 * calls showed 17% of server CPU in prepare), and better-sqlite3 statements are reusable. Callers must not change a
 * shared statement's mode (pluck/raw/expand): none does. Bounded: past the cap the oldest entry is dropped. What is
 * prepared has its parameters hidden from the planner, so a statement is planned once, not at every run
 * (store/stablePlans.ts).
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  statementCaches.set(db, cache);
  db.prepare = ((sql: string) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(stablePlanSql(sql));
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  }) as Db['prepare'];
}
