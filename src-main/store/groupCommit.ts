import type { Db } from './db.ts';
import type { AuditDecision, AuditInput, AuditLog, AuditRow } from '../audit/log.ts';
import { sqliteSql, type Sql } from './sql.ts';
import { markBatch } from './tx.ts';

/** What a write gets: the transaction's statements, its audit entries, and work to do once it has committed. */
export interface Tx {
  readonly sql: Sql;
  /**
   * Appends an audit entry inside this transaction: it commits with the change it records, or not at all. A refusal
   * from a flooding source may be counted instead of written (undefined; see audit/flood.ts).
   */
  audit(e: AuditInput & { decision: Exclude<AuditDecision, 'denied' | 'throttled'> }): Promise<AuditRow>;
  audit(e: AuditInput): Promise<AuditRow | undefined>;
  /** Runs after the commit that holds this write (events, background jobs); never when it rolls back. */
  afterCommit(fn: () => void): void;
}

interface Item {
  fn: (tx: Tx) => unknown;
  savepoint: boolean;
  after: (() => void)[];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit: writes queued in the same turn of the event loop share one durable transaction, each in its own
 * savepoint (one failing item rolls back alone). Every caller is answered only after the commit that holds its
 * write, so a client never sees success for a change, or an audit entry, that a crash could still lose.
 *
 * Items are asynchronous (the seam admits an asynchronous driver), but over SQLite their statements run
 * synchronously: a batch settles within the microtasks of one event-loop turn, so no other write can interleave.
 * An item must not wait on real I/O; synchronous writers elsewhere fail loudly if one ever does (see tx.ts).
 */
export class GroupCommit {
  private queue: Item[] = [];
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  private readonly db: Db;
  private readonly sql: Sql;
  private readonly audit: AuditLog;
  private readonly hooks: { beforeCommit: () => void; onAbort: () => void }[] = [];
  batches = 0;
  items = 0;

  private readonly log: (msg: string, err?: unknown) => void;

  // Prepared once: exec() would parse the statement again on every batch and item.
  private readonly control;

  constructor(db: Db, audit: AuditLog, log: (msg: string, err?: unknown) => void = () => {}) {
    this.db = db;
    this.audit = audit;
    this.log = log;
    this.sql = sqliteSql(db);
    const p = (sql: string) => db.prepare(sql);
    this.control = { begin: p('BEGIN IMMEDIATE'), commit: p('COMMIT'), savepoint: p('SAVEPOINT item'), release: p('RELEASE item') };
  }

  /**
   * Queues fn for the next batch. `oneWrite`: fn issues at most one writing statement (a read's audit row), and a
   * failed statement undoes itself, so it needs no savepoint of its own (~5 µs a call).
   */
  run<T>(fn: (tx: Tx) => T | Promise<T>, opts: { oneWrite?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, savepoint: !opts.oneWrite, after: [], resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // A batch still settling (an item waited on real I/O) finishes first: batches never overlap.
      if (this.flushing) void this.flushing.then(() => this.schedule());
      else this.flushing = this.flush().finally(() => (this.flushing = undefined));
    });
  }

  /**
   * Work done once per batch, last, inside its transaction (e.g. writing per-key call counts): if it fails, the batch
   * fails. onAbort runs when a batch does not commit, so state gathered for it is dropped with it.
   */
  perBatch(beforeCommit: () => void, onAbort: () => void): void {
    this.hooks.push({ beforeCommit, onAbort });
  }

  private txFor(item: Item): Tx {
    return {
      sql: this.sql,
      audit: ((e: AuditInput) => Promise.resolve(this.audit.appendInTransaction(e))) as Tx['audit'],
      afterCommit: (fn) => void item.after.push(fn),
    };
  }

  async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    // Some errors (SQLITE_FULL, I/O) make SQLite roll back the whole transaction, not just the item's savepoint.
    // From then on nothing may run: a later item would commit on its own while its caller is told it failed.
    let lost: unknown;
    const release = markBatch(this.db);
    try {
      this.control.begin.run();
      for (const item of batch) {
        if (lost !== undefined) {
          outcomes.push({ ok: false, error: lost });
          continue;
        }
        if (item.savepoint) this.control.savepoint.run();
        try {
          const value = await item.fn(this.txFor(item));
          if (item.savepoint) this.control.release.run();
          outcomes.push({ ok: true, value });
        } catch (error) {
          if (!this.db.inTransaction) lost = error;
          else if (item.savepoint) this.db.exec('ROLLBACK TO item; RELEASE item');
          item.after.length = 0;
          outcomes.push({ ok: false, error });
        }
      }
      if (lost !== undefined) throw lost;
      for (const hook of this.hooks) hook.beforeCommit();
      this.control.commit.run();
    } catch (error) {
      // The commit failed or the transaction was lost: nothing in the batch happened, whatever each item returned.
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      release();
      this.audit.discardPending();
      for (const hook of this.hooks) hook.onAbort();
      for (const item of batch) item.reject(lost ?? error);
      return;
    }
    release();
    this.batches++;
    this.items += batch.length;
    this.audit.flushCommitted();
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (!o.ok) return item.reject(o.error);
      for (const fn of item.after) {
        try {
          fn();
        } catch (e) {
          this.log('work after a commit failed', e);
        }
      }
      item.resolve(o.value);
    });
  }
}
