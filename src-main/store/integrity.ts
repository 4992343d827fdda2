import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * SQLite's integrity check (`PRAGMA quick_check`: every page, every b-tree, every record) after start, on a worker
 * thread with its own read-only connection. It reads the whole file, so on the start-up path it grew with the
 * database (669 ms at a million audit entries); here the server answers at once and the result follows in seconds. A
 * damaged database is reported where a technician looks: the console's banner, /healthz (503), and the log.
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
  stop(): Promise<void>;
}

/** The most SQLite is asked to list: the first problems say enough, and the report stays small. */
const MAX_ERRORS = 20;

// CommonJS, evaluated in the worker (as store/checkpointer.ts): no file to locate next to stripped or bundled code.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const rows = db.pragma('quick_check(' + workerData.maxErrors + ')', { simple: false }).map((r) => r.quick_check);
  parentPort.postMessage({ rows });
} catch (e) {
  parentPort.postMessage({ error: String((e && e.message) || e) });
} finally {
  if (db) db.close();
}
`;

export function startIntegrityCheck(file: string, log: (msg: string, err?: unknown) => void = () => {}): IntegrityCheck {
  const report: IntegrityReport = { state: 'checking', detail: null, checkedAt: null, ms: null };
  const started = performance.now();
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, maxErrors: MAX_ERRORS } });
  worker.unref();
  const finish = (state: IntegrityReport['state'], detail: string | null) => {
    if (report.state !== 'checking') return;
    Object.assign(report, { state, detail, checkedAt: new Date().toISOString(), ms: Math.round(performance.now() - started) });
    if (state === 'damaged') log(`the database failed its integrity check: ${detail}; restore it from a backup (the audit log can be checked with: countersign audit verify)`);
    else if (state === 'unchecked') log(`the database integrity check could not run: ${detail}`);
  };
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
    async stop() {
      if (report.state === 'checking') {
        finish('unchecked', 'the server stopped first');
        await worker.terminate();
      }
    },
  };
}
