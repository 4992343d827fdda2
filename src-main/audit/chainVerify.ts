import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from '../store/db.ts';
import { sqliteSql } from '../store/sql.ts';
import { GENESIS_HASH, HASHED_COLUMNS, verifyChain as verifyInPages, type AuditRow, type VerifyResult } from './log.ts';

/**
 * The hash chain checked on every core: the log is cut into seq ranges, each hashed on a worker thread with its own
 * read-only connection, and the ranges are stitched in order on the calling thread (each range's first row must
 * link to the previous range's last). The result is exactly `verifyRows` over the whole log, the same first failure
 * and the same count; only the work is spread. Small logs are checked inline: a worker costs more to start.
 */
export interface ChainVerifyOptions {
  /** Worker threads at most (default: the cores available, up to 8). */
  workers?: number;
  /** Rows per worker at least; below twice this the log is checked on the calling thread. */
  minRowsPerWorker?: number;
  /** Filled in: how many ranges were hashed on workers (0: inline). */
  stats?: { workers: number };
}

/** What one range reports: its ends, and the first break inside it (links and hashes between its own rows). */
export interface RangeReport {
  count: number;
  firstSeq: number | null;
  firstPrev: string | null;
  lastSeq: number | null;
  lastHash: string | null;
  fail: { badSeq: number; reason: string; countBefore: number } | null;
}

// What a worker reads, a page at a time (keyset on seq, the rowid: better-sqlite3's all() costs less per row than
// iterate(), which crosses into the driver once per row). Every row starts with seq, prev_hash, hash.
//
// The fast form has SQLite write the columns' JSON array itself (json_array), so no JavaScript value is built per
// column and JSON.stringify is not run: about half the cost per row. SQLite's JSON of integers, text and NULL is
// byte for byte JSON.stringify's (the same escapes; tested in test/audit/chainVerify.test.ts); of a REAL it is not
// (1.0 where JavaScript writes 1), so REAL columns are read as numbers and written by JSON.stringify between the
// arrays' halves. A row whose fast input does not give its hash is checked again in the exact form (every column as
// JavaScript reads it, as log.ts hashes it): the fast form can only spare work, never accept a row the exact one
// rejects. Should SQLite refuse the fast form (a BLOB in a column of a tampered file), the range is read exactly.
const REAL_COLUMN = 'duration_ms';
const realAt = HASHED_COLUMNS.indexOf(REAL_COLUMN);
const SELECT_FAST = `SELECT seq, prev_hash, hash, json_array(${HASHED_COLUMNS.slice(0, realAt).join(', ')}), ${REAL_COLUMN}, json_array(${HASHED_COLUMNS.slice(realAt + 1).join(', ')}) FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`;
const SELECT_EXACT = `SELECT seq, prev_hash, hash, ${HASHED_COLUMNS.join(', ')} FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`;
const SELECT_EXACT_ONE = `SELECT seq, prev_hash, hash, ${HASHED_COLUMNS.join(', ')} FROM audit_log WHERE seq = ?`;
// Small pages: a page is alive while it is checked, and each young-generation collection copies what is alive.
const PAGE_ROWS = 1_000;

/** The hash input of a fast-form row: prev_hash, newline, the two JSON halves joined around the REAL column. */
export function fastInput(row: unknown[]): string {
  return `${row[1]}\n${(row[3] as string).slice(0, -1)},${JSON.stringify(row[4])},${(row[5] as string).slice(1)}`;
}

/** The hash input of an exact-form row, as log.ts computes it when the entry is written. */
export function exactInput(row: unknown[]): string {
  return `${row[1]}\n${JSON.stringify(row.slice(3))}`;
}

// CommonJS, evaluated in the worker (as store/checkpointer.ts): no file to locate next to stripped or bundled code.
// The row check and the inputs are the functions of this module, serialized into the worker: a single copy of each.
const workerSource = () => `
const { parentPort, workerData: w } = require('node:worker_threads');
const { hash } = require('node:crypto');
const Database = require(w.driver);
const checkRange = ${checkRange.toString()};
const fastInput = ${fastInput.toString()};
const exactInput = ${exactInput.toString()};
const db = new Database(w.file, { readonly: true, fileMustExist: true });
function* pages(stmt) {
  for (let from = w.from; ; ) {
    const got = stmt.all(from, w.to, w.pageRows);
    yield got;
    if (got.length < w.pageRows) return;
    from = got[got.length - 1][0] + 1;
  }
}
try {
  // One read transaction: every page (and any recheck) sees the same snapshot, as one statement over the range did.
  db.exec('BEGIN');
  const one = db.prepare(w.exactOne).raw();
  const recheck = (seq) => { const row = one.get(seq); return row ? exactInput(row) : null; };
  let report;
  try {
    report = checkRange(pages(db.prepare(w.fast).raw()), fastInput, recheck, hash);
  } catch {
    report = checkRange(pages(db.prepare(w.exact).raw()), exactInput, null, hash);
  }
  parentPort.postMessage({ report });
} catch (e) {
  parentPort.postMessage({ error: String((e && e.message) || e) });
} finally {
  db.close();
}
`;

/**
 * Checks the rows of one seq range, page by page (each row: seq, prev_hash, hash, then the columns in the form
 * `input` turns into the hash input): contiguous seq, each row linked to the one before it in the range, each hash
 * recomputed; a row whose hash `input` does not give is judged by `recheck`'s input (the exact form) when given.
 * Plain JavaScript with no closure: it is also the worker's code (Function.prototype.toString).
 */
export function checkRange(
  pages: Iterable<unknown[][]>,
  input: (row: unknown[]) => string,
  recheck: ((seq: number) => string | null) | null,
  sha256: (algorithm: string, data: string) => string,
): RangeReport {
  const report: RangeReport = { count: 0, firstSeq: null, firstPrev: null, lastSeq: null, lastHash: null, fail: null };
  let prev = null;
  let expected = null;
  for (const page of pages) {
    for (const row of page) {
      const seq = row[0] as number;
      const prevHash = row[1] as string;
      const hash = row[2] as string;
      if (expected === null) {
        report.firstSeq = seq;
        report.firstPrev = prevHash;
      } else if (seq !== expected) {
        report.fail = { badSeq: expected, reason: seq > expected ? `entries ${expected}..${seq - 1} are missing` : `entry ${seq} is out of order`, countBefore: report.count };
        return report;
      } else if (prevHash !== prev) {
        report.fail = { badSeq: seq, reason: `entry ${seq} does not link to entry ${seq - 1} (inserted or reordered)`, countBefore: report.count };
        return report;
      }
      if (sha256('sha256', input(row)) !== hash) {
        const exact = recheck === null ? null : recheck(seq);
        if (exact === null || sha256('sha256', exact) !== hash) {
          report.fail = { badSeq: seq, reason: `entry ${seq} was modified (hash mismatch)`, countBefore: report.count };
          return report;
        }
      }
      prev = hash;
      expected = seq + 1;
      report.count++;
      report.lastSeq = seq;
      report.lastHash = hash;
    }
  }
  return report;
}

/** Stitches range reports in seq order into the whole log's result (the same as verifyRows would give). */
export function stitch(reports: RangeReport[]): VerifyResult {
  let prev = GENESIS_HASH;
  let expected = 1;
  let count = 0;
  for (const r of reports) {
    if (r.firstSeq === null) continue;
    if (r.firstSeq !== expected) {
      return { ok: false, count, badSeq: expected, reason: r.firstSeq > expected ? `entries ${expected}..${r.firstSeq - 1} are missing` : `entry ${r.firstSeq} is out of order` };
    }
    if (r.firstPrev !== prev) return { ok: false, count, badSeq: r.firstSeq, reason: `entry ${r.firstSeq} does not link to entry ${r.firstSeq - 1} (inserted or reordered)` };
    if (r.fail) return { ok: false, count: count + r.fail.countBefore, badSeq: r.fail.badSeq, reason: r.fail.reason };
    count += r.count;
    expected = r.lastSeq! + 1;
    prev = r.lastHash!;
  }
  return { ok: true, count, headHash: prev, headSeq: expected - 1 };
}

function inWorker(file: string, from: number, to: number): Promise<RangeReport> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource(), {
    eval: true,
    workerData: { driver, file, fast: SELECT_FAST, exact: SELECT_EXACT, exactOne: SELECT_EXACT_ONE, pageRows: PAGE_ROWS, from, to },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { report?: RangeReport; error?: string }) => (m.report ? resolve(m.report) : reject(new Error(`audit verify worker: ${m.error}`))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`audit verify worker exited with ${code}`)));
  });
}

/** The whole chain of `db`'s audit log; up to `workers` ranges hashed in parallel when the log is large. */
export async function verifyChain(db: Db, opts: ChainVerifyOptions = {}): Promise<VerifyResult> {
  const head = (db.prepare('SELECT max(seq) FROM audit_log').pluck().get() as number | null) ?? 0;
  const minRows = opts.minRowsPerWorker ?? 25_000;
  const workers = Math.max(1, Math.min(opts.workers ?? Math.min(availableParallelism(), 8), Math.floor(head / minRows)));
  // An in-memory or temporary database has no file a second connection could open.
  if (opts.stats) opts.stats.workers = 0;
  // A log too small to split is checked on this thread, in pages with pauses (log.ts).
  if (workers < 2 || !db.name || db.name === ':memory:' || db.memory) return verifyInPages(sqliteSql(db));
  // Ranges split seq 1..head (rows before 1 or after head, if any, are in the first or last range: a row the
  // attacker gave seq 0 or -5 still fails the contiguity check there).
  const size = Math.ceil(head / workers);
  const bounds = Array.from({ length: workers }, (_, i) => [i === 0 ? Number.MIN_SAFE_INTEGER : i * size + 1, i === workers - 1 ? Number.MAX_SAFE_INTEGER : (i + 1) * size] as const);
  if (opts.stats) opts.stats.workers = workers;
  return stitch(await Promise.all(bounds.map(([from, to]) => inWorker(db.name, from, to))));
}

