import type { Db } from './db.ts';
import { writeTx } from '../audit/log.ts';

interface Item {
  fn: () => unknown;
  savepoint: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: writes queued in the same turn of the event loop share one durable transaction, each in its own
 * savepoint (one failing item rolls back alone). Every caller is answered only after the commit that holds its
 * write — so a client never sees success for a change, or an audit entry, that a crash could still lose.
 */
export class GroupCommit {
  private queue: Item[] = [];
  private scheduled = false;
  private readonly db: Db;
  private readonly hooks: { beforeCommit: () => void; onAbort: () => void }[] = [];
  batches = 0;
  items = 0;

  constructor(db: Db) {
    this.db = db;
  }

  /**
   * Queues fn for the next batch. `oneWrite`: fn issues at most one writing statement (a read-only tool's call and
   * its audit row), and a failed statement undoes itself, so it needs no savepoint of its own (~5 µs a call).
   */
  run<T>(fn: () => T, opts: { oneWrite?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, savepoint: !opts.oneWrite, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Work done once per batch, last, inside its transaction (e.g. writing per-key call counts): if it fails, the batch
   * fails. onAbort runs when a batch does not commit, so state gathered for it is dropped with it.
   */
  perBatch(beforeCommit: () => void, onAbort: () => void): void {
    this.hooks.push({ beforeCommit, onAbort });
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[];
    // Some errors (SQLITE_FULL, I/O) make SQLite roll back the whole transaction, not just the item's savepoint.
    // From then on nothing may run: a later item would commit on its own while its caller is told it failed.
    let lost: unknown;
    try {
      outcomes = writeTx(this.db, () => {
        const done = batch.map((item) => {
          if (lost !== undefined) return { ok: false as const, error: lost };
          try {
            return { ok: true as const, value: item.savepoint ? this.db.transaction(item.fn)() : item.fn() };
          } catch (error) {
            if (!this.db.inTransaction) lost = error;
            return { ok: false as const, error };
          }
        });
        if (lost !== undefined) throw lost;
        for (const hook of this.hooks) hook.beforeCommit();
        return done;
      });
    } catch (error) {
      // The commit failed or the transaction was lost: nothing in the batch happened, whatever each item returned.
      for (const hook of this.hooks) hook.onAbort();
      for (const item of batch) item.reject(lost ?? error);
      return;
    }
    this.batches++;
    this.items += batch.length;
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }
}
