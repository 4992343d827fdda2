import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from '../store/db.ts';
import { GENESIS_HASH, HASHED_COLUMNS, verifyRows, type AuditRow, type VerifyResult } from './log.ts';

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

const SELECT_RANGE = `SELECT ${HASHED_COLUMNS.join(', ')}, prev_hash, hash FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq`;

// CommonJS, evaluated in the worker (as store/checkpointer.ts): no file to locate next to stripped or bundled code.
// The row check is the one in checkRange below, serialized into the worker so there is a single copy of it.
const workerSource = (check: string) => `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
try {
  const rows = db.prepare(workerData.sql).raw().iterate(workerData.from, workerData.to);
  parentPort.postMessage({ report: (${check})(rows, workerData.columns, hash) });
} catch (e) {
  parentPort.postMessage({ error: String((e && e.message) || e) });
} finally {
  db.close();
}
`;

/**
 * Checks raw rows (hashed columns in order, then prev_hash, then hash) of one seq range: contiguous seq, each row
 * linked to the one before it in the range, each hash recomputed. Plain JavaScript with no closure: it is also
 * the worker's code (Function.prototype.toString).
 */
export function checkRange(rows: Iterable<unknown[]>, columns: number, sha256: (algorithm: string, data: string) => string): RangeReport {
  const report: RangeReport = { count: 0, firstSeq: null, firstPrev: null, lastSeq: null, lastHash: null, fail: null };
  let prev = null;
  let expected = null;
  for (const row of rows) {
    const seq = row[0] as number;
    const prevHash = row[columns] as string;
    const hash = row[columns + 1] as string;
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
    row.length = columns;
    if (sha256('sha256', `${prevHash}\n${JSON.stringify(row)}`) !== hash) {
      report.fail = { badSeq: seq, reason: `entry ${seq} was modified (hash mismatch)`, countBefore: report.count };
      return report;
    }
    prev = hash;
    expected = seq + 1;
    report.count++;
    report.lastSeq = seq;
    report.lastHash = hash;
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
  const worker = new Worker(workerSource(checkRange.toString()), {
    eval: true,
    workerData: { driver, file, sql: SELECT_RANGE, from, to, columns: HASHED_COLUMNS.length },
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
  if (workers < 2 || !db.name || db.name === ':memory:' || db.memory) {
    return verifyRows(db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<AuditRow>);
  }
  // Ranges split seq 1..head (rows before 1 or after head, if any, are in the first or last range: a row the
  // attacker gave seq 0 or -5 still fails the contiguity check there).
  const size = Math.ceil(head / workers);
  const bounds = Array.from({ length: workers }, (_, i) => [i === 0 ? Number.MIN_SAFE_INTEGER : i * size + 1, i === workers - 1 ? Number.MAX_SAFE_INTEGER : (i + 1) * size] as const);
  if (opts.stats) opts.stats.workers = workers;
  return stitch(await Promise.all(bounds.map(([from, to]) => inWorker(db.name, from, to))));
}
