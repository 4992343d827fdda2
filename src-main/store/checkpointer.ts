import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.ts';

/**
 * WAL checkpoints on a worker thread. By default SQLite checkpoints inside whichever commit crosses 1,000 WAL pages:
 * that commit copies pages into the database file and (synchronous=NORMAL) fsyncs it, on the main thread — a
 * multi-millisecond stall of every MCP call in flight and, in Electron, of the console's IPC. Here a second
 * connection on its own thread checkpoints every `everyMs` (PASSIVE: it never waits on the writer); the main
 * connection keeps a high auto-checkpoint only as a backstop, and returns to the default if the worker dies.
 */
export interface Checkpointer {
  /** Stops the worker after one last checkpoint; resolves with what it did. */
  stop(): Promise<CheckpointStats>;
}

export interface CheckpointStats {
  /** Checkpoints run. */
  runs: number;
  /** WAL frames copied into the database file, summed over checkpoints. */
  frames: number;
}

export const BACKSTOP_PAGES = 10_000;
const DEFAULT_PAGES = 1_000;

// CommonJS, evaluated in the worker: no file to locate next to the (stripped or compiled) TypeScript.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
let runs = 0, frames = 0, lastLog = 0, lastDone = 0;
const checkpoint = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    runs++;
    // 'checkpointed' counts frames of the current WAL; a WAL that restarted from its beginning starts over.
    frames += r.checkpointed >= lastDone && r.log >= lastLog ? r.checkpointed - lastDone : r.checkpointed;
    lastLog = r.log;
    lastDone = r.checkpointed;
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage({ stopped: { runs, frames } });
  parentPort.close();
});
`;

export function startCheckpointer(db: Db, opts: { everyMs?: number; log?: (msg: string, err?: unknown) => void } = {}): Checkpointer {
  const log = opts.log ?? (() => {});
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: db.name, driver, everyMs: opts.everyMs ?? 100 } });
  worker.unref();
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  let stopped: ((s: CheckpointStats) => void) | undefined;
  let last: CheckpointStats = { runs: 0, frames: 0 };
  const fallBack = (why: string, err?: unknown) => {
    log(`background checkpoints stopped (${why}); the database checkpoints on commit again`, err);
    if (db.open) db.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
  };
  worker.on('message', (m: { error?: string; stopped?: CheckpointStats }) => {
    if (m.error) log(`background checkpoint failed: ${m.error}`);
    if (m.stopped) {
      last = m.stopped;
      stopped?.(m.stopped);
    }
  });
  worker.on('error', (e) => fallBack('worker error', e));
  worker.on('exit', (code) => {
    if (!stopped) fallBack(`worker exited with ${code}`);
    else stopped(last);
  });
  return {
    stop() {
      return new Promise((resolve) => {
        if (stopped) return resolve(last);
        stopped = resolve;
        worker.postMessage('stop');
      });
    },
  };
}
