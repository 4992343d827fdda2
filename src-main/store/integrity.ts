import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { YIELD_TO_REQUESTS } from './backgroundPriority.ts';
import { BLOCK, SUMMARIES_WRONG } from '../audit/facets.ts';

/**
 * SQLite's integrity check (`PRAGMA quick_check`: every page, every b-tree, every record) after start, on a worker
 * thread with its own read-only connection, at the lowest priority where the OS allows it (store/backgroundPriority.ts).
 * It reads the whole file, so on the start-up path it grew with the database (669 ms at a million audit entries); here
 * the server answers at once and the result follows in seconds. A damaged database is reported where a technician
 * looks: the console's banner, /healthz (503), and the log. After SQLite finds the file whole, the audit log's block
 * summaries are compared with the log (audit/facets.ts).
 */
export interface IntegrityReport {
  state: 'checking' | 'ok' | 'damaged' | 'unchecked';
  /** What SQLite found (its first lines), or why the check could not run. */
  detail: string | null;
  checkedAt: string | null;
  ms: number | null;
}

export interface IntegrityCheck {
  readonly report: IntegrityReport;
  /** Resolves once the check has finished (or could not run). */
  readonly done: Promise<IntegrityReport>;
  /** Ends the check: its report says so at once; resolves once nothing of it runs. */
  stop(): Promise<void>;
}

/**
 * A stop never terminates the worker. Terminating a worker inside a better-sqlite3 call can abort the whole process
 * (better-sqlite3 13, WiseLibs/better-sqlite3#1507: a SIGABRT seen here once, at serve's stop after kill -9 rounds), and
 * termination cannot interrupt quick_check anyway (one native call: it lands when the call returns, inside the addon).
 * So the worker reads a stop flag between rows of the summary pass and before each step, and quick_check is waited out
 * (3.8 s at 10M audit entries, docs/benchmarks.md). Slot 0: stop asked; slot 1: the step the worker is in (PHASES);
 * slot 2: the log entries the summary pass has read, to the last 1,024.
 */
const PHASES = ['opening', 'quick_check', 'summaries', 'done'] as const;

/** The most SQLite is asked to list: the first problems say enough, and the report stays small. */
const MAX_ERRORS = 20;

// CommonJS, evaluated in the worker (as store/checkpointer.ts): no file to locate next to stripped or bundled code.
const WORKER_SOURCE = `
${YIELD_TO_REQUESTS}
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// Set by the main thread to stop (slot 0): read between rows and steps, never by interrupting SQLite. Slot 1: the step.
const stopping = new Int32Array(workerData.stop);
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  if (Atomics.load(stopping, 0)) throw new Error('stopped');
  Atomics.store(stopping, 1, 1);
  let rows = db.pragma('quick_check(' + workerData.maxErrors + ')', { simple: false }).map((r) => r.quick_check);
  Atomics.store(stopping, 1, 2);
  const summaries = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('audit_facets', 'audit_blocks')").get().n === 2;
  if (rows.length === 1 && rows[0] === 'ok' && summaries && !Atomics.load(stopping, 0)) {
    const wrong = summaryMismatches(db, workerData.block, workerData.maxErrors);
    if (wrong.length) rows = [workerData.facetsWrong + wrong.join(', ')];
  }
  Atomics.store(stopping, 1, 3);
  parentPort.postMessage({ rows });
} catch (e) {
  parentPort.postMessage({ error: String((e && e.message) || e) });
} finally {
  if (db) db.close();
}

// Every closed block's summaries (facets, count and times) made again from its entries, in one pass in seq order (no
// sort), and compared both ways with what is stored; in one read transaction, so an append closing a block meanwhile is
// seen in both or in neither.
function summaryMismatches(db, BLOCK, max) {
  const wrong = [];
  // Named by kind and block, never by value: the report reaches /healthz, which anyone on the machine may read.
  const say = (problem, facet, block) => {
    const line = problem + ': ' + facet + ' in block ' + block;
    if (wrong.length < max && !wrong.includes(line)) wrong.push(line);
  };
  db.exec('BEGIN');
  try {
    // Keyed by facet, block and value (a value may hold any character); each entry also keeps its facet and block.
    const stored = new Map();
    for (const [facet, value, block, entries] of db.prepare('SELECT facet, value, block, entries FROM audit_facets').raw().iterate()) stored.set(facet + ' ' + block + ' ' + value, [entries, facet, block]);
    const times = new Map();
    for (const [block, entries, first, last] of db.prepare('SELECT block, entries, first_at, last_at FROM audit_blocks').raw().iterate()) times.set(block, entries + ' ' + first + '..' + last);
    const head = db.prepare('SELECT coalesce(max(seq), 0) FROM audit_log').pluck().get();
    const upto = Math.floor((head + 1) / BLOCK) * BLOCK;
    let block = 0;
    // Per facet, value → entries in the block being read: a row costs three map updates, no string built.
    const counts = { key: new Map(), tenant: new Map(), tool: new Map() };
    let n = 0;
    let first;
    let last;
    const compare = () => {
      if (n > 0) {
        const derived = n + ' ' + first + '..' + last;
        if (times.get(block) !== derived) say('missing or wrong', 'times', block);
        times.delete(block);
      }
      n = 0;
      for (const facet of ['key', 'tenant', 'tool']) {
        for (const [value, count] of counts[facet]) {
          const key = facet + ' ' + block + ' ' + value;
          if (stored.get(key)?.[0] !== count) say('missing or wrong', facet, block);
          stored.delete(key);
        }
        counts[facet].clear();
      }
    };
    const add = (m, value) => {
      if (value !== null) m.set(value, (m.get(value) || 0) + 1);
    };
    let read = 0;
    for (const [seq, at, keyId, tenant, tool] of db.prepare('SELECT seq, at, key_id, tenant, tool FROM audit_log WHERE seq < ? ORDER BY seq').raw().iterate(upto)) {
      // Stopped: the answer no longer matters (the report already says why), and leaving the loop ends the iterator.
      if ((++read & 1023) === 0) {
        Atomics.store(stopping, 2, read);
        if (Atomics.load(stopping, 0)) return wrong;
      }
      if (Math.floor(seq / BLOCK) !== block) {
        compare();
        block = Math.floor(seq / BLOCK);
      }
      if (n++ === 0 || at < first) first = at;
      if (n === 1 || at > last) last = at;
      add(counts.key, keyId);
      add(counts.tenant, tenant);
      add(counts.tool, tool);
    }
    compare();
    for (const [, facet, block] of stored.values()) say('not in the log', facet, block);
    for (const block of times.keys()) say('not in the log', 'times', block);
  } finally {
    db.exec('COMMIT');
  }
  return wrong;
}
`;

/**
 * A check's report, and the one way it ends: once, timed from now, logged when damaged (with `advice`) or when the check
 * could not run. SQLite's check and PostgreSQL's summary comparison (audit/facetCheck.ts) both end through it.
 */
export function checkReport(log: (msg: string) => void, advice = ''): { report: IntegrityReport; finish(state: IntegrityReport['state'], detail: string | null): void } {
  const report: IntegrityReport = { state: 'checking', detail: null, checkedAt: null, ms: null };
  const started = performance.now();
  return {
    report,
    finish(state, detail) {
      if (report.state !== 'checking') return;
      Object.assign(report, { state, detail, checkedAt: new Date().toISOString(), ms: Math.round(performance.now() - started) });
      if (state === 'damaged') log(`the database failed its integrity check: ${detail}${advice}`);
      else if (state === 'unchecked') log(`the database integrity check could not run: ${detail}`);
    },
  };
}

/** SQLite's check; `phase` is the step its worker is in (or was in when it exited), `ended` whether it has exited. */
export function startIntegrityCheck(file: string, log: (msg: string, err?: unknown) => void = () => {}): IntegrityCheck & { readonly ended: boolean; readonly phase: (typeof PHASES)[number]; readonly summaryRowsRead: number } {
  const { report, finish } = checkReport(log, '; restore it from a backup (the audit log can be checked with: countersign audit verify)');
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const stop = new SharedArrayBuffer(12);
  const flags = new Int32Array(stop);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, maxErrors: MAX_ERRORS, block: BLOCK, facetsWrong: SUMMARIES_WRONG, stop } });
  worker.unref();
  let ended = false;
  const gone = new Promise<void>((resolve) => worker.once('exit', () => {
    ended = true;
    resolve();
  }));
  const done = new Promise<IntegrityReport>((resolve) => {
    worker.on('message', (m: { rows?: string[]; error?: string }) => {
      if (m.rows) finish(m.rows.length === 1 && m.rows[0] === 'ok' ? 'ok' : 'damaged', m.rows.length === 1 && m.rows[0] === 'ok' ? null : m.rows.join('; ').slice(0, 2000));
      else finish(/SQLITE_(CORRUPT|NOTADB)|malformed|not a database/i.test(m.error ?? '') ? 'damaged' : 'unchecked', m.error ?? 'unknown error');
      resolve(report);
    });
    worker.on('error', (e) => {
      finish('unchecked', e.message);
      resolve(report);
    });
    worker.on('exit', (code) => {
      finish('unchecked', `the check stopped (exit ${code})`);
      resolve(report);
    });
  });
  return {
    report,
    done,
    get ended() {
      return ended;
    },
    get summaryRowsRead() {
      return Atomics.load(flags, 2);
    },
    get phase() {
      return PHASES[Atomics.load(flags, 1)] ?? 'opening';
    },
    async stop() {
      if (ended) return;
      if (report.state === 'checking') finish('unchecked', 'the server stopped first');
      Atomics.store(flags, 0, 1);
      // Held by the process until it exits by itself: an unref'd worker would let the process end with it still inside
      // quick_check, and Node's exit terminates it there (the abort above).
      worker.ref();
      const slow = setTimeout(() => log(`stopping: waiting for the integrity check to finish reading the database (${PHASES[Atomics.load(flags, 1)]})`), 15_000).unref();
      await gone;
      clearTimeout(slow);
    },
  };
}
