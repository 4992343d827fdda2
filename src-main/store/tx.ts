// Synchronous write transactions for the modules that still write through better-sqlite3 directly (keys, policy
// storage, enrollment, agent presence). The gate and its tools write only through the Store's group commit.
import type { Db } from './db.ts';

interface CommitListener {
  committed(): void;
  aborted(): void;
}

const openBatches = new WeakSet<Db>();
const listeners = new WeakMap<Db, CommitListener>();

/** Marks a group-commit batch open on db until the returned function is called. */
export function markBatch(db: Db): () => void {
  openBatches.add(db);
  return () => openBatches.delete(db);
}

/** The audit log of db hears when a synchronous transaction commits or rolls back (to deliver or drop its entries). */
export function onSyncCommit(db: Db, listener: CommitListener): void {
  listeners.set(db, listener);
}

/**
 * Runs fn in an IMMEDIATE write transaction (nested calls join the enclosing one). IMMEDIATE takes the write lock
 * up front so the audit head we read cannot be overtaken by another process (the CLI) before we write.
 * Refuses to run while a group-commit batch is open on the same connection: the write would silently join (and
 * could roll back with) someone else's batch.
 */
export function writeTx<T>(db: Db, fn: () => T): T {
  if (openBatches.has(db)) throw new Error('a synchronous write ran while a group commit was open on the same connection; write through the Store');
  // Inside a transaction an exception already rolls back to the enclosing savepoint or transaction.
  if (db.inTransaction) return fn();
  const l = listeners.get(db);
  try {
    const result = db.transaction(fn).immediate();
    l?.committed();
    return result;
  } catch (e) {
    l?.aborted();
    throw e;
  }
}
