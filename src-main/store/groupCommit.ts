import type { AuditDecision, AuditInput, AuditLog, AuditRow } from '../audit/log.ts';
import type { Sql } from './sql.ts';

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

/**
 * The one connection a store writes through, as group commit drives it: a transaction per batch, a savepoint per item.
 * SQLite's runs synchronously underneath; PostgreSQL's is a dedicated client (see store/pg).
 */
export interface TxConnection {
  readonly sql: Sql;
  /** A failed statement undoes only itself (SQLite), so an item with one write needs no savepoint; PostgreSQL aborts the transaction. */
  readonly statementsAtomic: boolean;
  begin(): Promise<void>;
  savepoint(): Promise<void>;
  release(): Promise<void>;
  rollbackToSavepoint(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** False when the database itself ended the transaction (SQLITE_FULL, I/O, a lost connection). */
  inTransaction(): boolean;
}

interface Item {
  fn: (tx: Tx) => unknown;
  savepoint: boolean;
  /** Runs in a batch of its own: what it reads of the log was committed before it (see run). */
  alone: boolean;
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
 * Over SQLite an item's statements run synchronously: a batch settles within the microtasks of one event-loop turn.
 * Over PostgreSQL they are round trips; batches still never overlap, and the next batch gathers what queued meanwhile.
 */
export class GroupCommit {
  private queue: Item[] = [];
  /** Items queued with `alone` not yet taken into a batch: while none are, a batch is simply the whole queue. */
  private alone = 0;
  private scheduled = false;
  private flushing: Promise<void> | undefined;
  private readonly conn: TxConnection;
  private readonly audit: AuditLog;
  private readonly hooks: { beforeCommit: (sql: Sql) => void | Promise<void>; onAbort: () => void }[] = [];
  batches = 0;
  items = 0;

  private readonly log: (msg: string, err?: unknown) => void;

  constructor(conn: TxConnection, audit: AuditLog, log: (msg: string, err?: unknown) => void = () => {}) {
    this.conn = conn;
    this.audit = audit;
    this.log = log;
  }

  /**
   * Queues fn for the next batch. `oneWrite`: fn issues at most one writing statement (a read's audit row), and a
   * failed statement undoes itself, so it needs no savepoint of its own (~5 µs a call on SQLite). `alone`: fn runs in
   * a batch of its own, after the writes queued before it have committed: a signed checkpoint must name only entries
   * that no rollback of other items can take back.
   */
  run<T>(fn: (tx: Tx) => T | Promise<T>, opts: { oneWrite?: boolean; alone?: boolean } = {}): Promise<T> {
    if (opts.alone) this.alone++;
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, savepoint: !(opts.oneWrite && this.conn.statementsAtomic), alone: opts.alone === true, after: [], resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      // A batch still settling finishes first: batches never overlap.
      if (this.flushing) void this.flushing.then(() => this.schedule());
      else this.flushing = this.flush().finally(() => (this.flushing = undefined));
    });
  }

  /** Resolves once every write queued so far has been committed or refused. */
  async drain(): Promise<void> {
    while (this.queue.length || this.flushing || this.scheduled) {
      await (this.flushing ?? new Promise<void>((r) => setImmediate(r)));
    }
  }

  /**
   * Work done once per batch, last, inside its transaction (e.g. PostgreSQL's notice to other nodes): if it fails, the
   * batch fails. onAbort runs when a batch does not commit, so state gathered for it is dropped with it.
   */
  perBatch(beforeCommit: (sql: Sql) => void | Promise<void>, onAbort: () => void = () => {}): void {
    this.hooks.push({ beforeCommit, onAbort });
  }

  /** The next batch when an `alone` item waits: the items before it, or it by itself; the rest wait for the next. */
  private takeUpToAlone(): Item[] {
    const i = this.queue.findIndex((item) => item.alone);
    if (i < 0) return this.queue;
    const batch = this.queue.splice(0, i === 0 ? 1 : i);
    if (i === 0) this.alone--;
    if (this.queue.length) this.schedule();
    return batch;
  }

  private txFor(item: Item): Tx {
    const sql = this.conn.sql;
    return {
      sql,
      audit: ((e: AuditInput) => this.audit.appendInTransaction(sql, e)) as Tx['audit'],
      afterCommit: (fn) => void item.after.push(fn),
    };
  }

  async flush(): Promise<void> {
    const batch = this.alone ? this.takeUpToAlone() : this.queue;
    if (batch === this.queue) this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    const conn = this.conn;
    // Some errors (SQLITE_FULL, I/O, a lost connection) end the whole transaction, not just the item's savepoint.
    // From then on nothing may run: a later item would commit on its own while its caller is told it failed.
    let lost: unknown;
    try {
      await conn.begin();
      for (const item of batch) {
        if (lost !== undefined) {
          outcomes.push({ ok: false, error: lost });
          continue;
        }
        const mark = this.audit.mark();
        if (item.savepoint) await conn.savepoint();
        try {
          const value = await item.fn(this.txFor(item));
          if (item.savepoint) await conn.release();
          outcomes.push({ ok: true, value });
        } catch (error) {
          if (!conn.inTransaction()) lost = error;
          else if (item.savepoint) {
            try {
              await conn.rollbackToSavepoint();
            } catch (e) {
              lost = e;
            }
          }
          this.audit.discardSince(mark);
          item.after.length = 0;
          outcomes.push({ ok: false, error });
        }
      }
      if (lost !== undefined) throw lost;
      for (const hook of this.hooks) await hook.beforeCommit(conn.sql);
      await conn.commit();
    } catch (error) {
      // The commit failed or the transaction was lost: nothing in the batch happened, whatever each item returned.
      if (conn.inTransaction()) await conn.rollback().catch((e: unknown) => this.log('rolling back a failed batch failed', e));
      this.audit.discardPending();
      for (const hook of this.hooks) hook.onAbort();
      for (const item of batch) item.reject(lost ?? error);
      return;
    }
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
