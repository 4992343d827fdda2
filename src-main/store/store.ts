// The Store: one object per database that the gate and its tools reach the data through. It owns the driver seam
// (Sql), the write path (group commit, with the audit log inside each transaction) and the command signer.
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import type { Db } from './db.ts';
import { sqliteSql, type Sql } from './sql.ts';
import { GroupCommit, type Tx, type TxConnection } from './groupCommit.ts';
import { AuditLog } from '../audit/log.ts';
import { signingBytes, type SignedFields } from '../agent/protocol.ts';
import { secretVault, type SecretVault } from './vault.ts';

export type { Tx } from './groupCommit.ts';

/** Signs device commands with the install's Ed25519 key; agents verify with its public half. */
export interface CommandSigner {
  sign(fields: Omit<SignedFields, 'issuedAt' | 'nonce'>, now: Date): { fields: SignedFields; signature: string };
}

export function signCommand(key: KeyObject, fields: SignedFields): string {
  return sign(null, signingBytes(fields), key).toString('base64');
}

export function commandSigner(key: KeyObject): CommandSigner {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the command signer needs the install\'s Ed25519 key');
  return {
    sign(c, now) {
      // The signature covers the payload exactly as it will be read back from payload_json.
      const fields: SignedFields = { ...c, payload: JSON.parse(JSON.stringify(c.payload)) as Record<string, unknown>, issuedAt: now.toISOString(), nonce: randomBytes(18).toString('base64url') };
      return { fields, signature: signCommand(key, fields) };
    },
  };
}

export interface Store {
  readonly dialect: Sql['dialect'];
  /** Reads; inside a write, use the transaction's own `tx.sql`. */
  readonly sql: Sql;
  /** Reads that cannot write: what read-only tools get. */
  readonly readOnly: Sql;
  readonly audit: AuditLog;
  readonly signer: CommandSigner;
  /** Masks and seals secret script parameters. */
  readonly vault: SecretVault;
  /** Runs fn in the next group-commit batch; resolves after the commit that holds its writes. */
  write<T>(fn: (tx: Tx) => T | Promise<T>, opts?: { oneWrite?: boolean; alone?: boolean }): Promise<T>;
  /** Work done once per batch, last, inside its transaction; onAbort when the batch does not commit. */
  perBatch(beforeCommit: (sql: Sql) => void | Promise<void>, onAbort?: () => void): void;
  readonly commits: { readonly batches: number; readonly items: number };
  /**
   * A number that moves whenever another connection (another process, another node) may have committed: caches of
   * rows this process does not change alone (API keys) are dropped when it moves.
   */
  changes(): Promise<number>;
  /** Writes what is still queued (counted refusals included), then closes the database. */
  close(): Promise<void>;
}

/** SQLite's side of group commit: statements run synchronously on the one connection. */
function sqliteConnection(db: Db): TxConnection {
  // Prepared once: exec() would parse the statement again on every batch and item.
  const p = (sql: string) => db.prepare(sql);
  const control = { begin: p('BEGIN IMMEDIATE'), commit: p('COMMIT'), savepoint: p('SAVEPOINT item'), release: p('RELEASE item') };
  return {
    sql: sqliteSql(db),
    statementsAtomic: true,
    begin: async () => void control.begin.run(),
    savepoint: async () => void control.savepoint.run(),
    release: async () => void control.release.run(),
    rollbackToSavepoint: async () => void db.exec('ROLLBACK TO item; RELEASE item'),
    commit: async () => void control.commit.run(),
    rollback: async () => void db.exec('ROLLBACK'),
    inTransaction: () => db.inTransaction,
  };
}

/** What a dialect brings to a Store; the rest (audit log, group commit, signer, vault, close order) is the same for both. */
export interface StoreParts {
  dialect: Sql['dialect'];
  sql: Sql;
  readOnly: Sql;
  connection: TxConnection;
  signingKey: KeyObject;
  changes(): Promise<number>;
  /** Whether counted refusals can still be written at close (not on a read-only database). */
  writable: boolean;
  /** Releases the dialect's connections, after everything queued was written. */
  release(): Promise<void>;
  log?: (msg: string, err?: unknown) => void;
}

export function assembleStore(p: StoreParts): Store {
  let commits: GroupCommit;
  const audit = new AuditLog({ sql: p.sql, write: (fn) => commits.run((tx) => fn(tx.sql)), changes: p.changes });
  commits = new GroupCommit(p.connection, audit, p.log);
  let closing: Promise<void> | undefined;
  return {
    dialect: p.dialect,
    sql: p.sql,
    readOnly: p.readOnly,
    audit,
    signer: commandSigner(p.signingKey),
    vault: secretVault(p.signingKey),
    write: (fn, o) => commits.run(fn, o),
    perBatch: (b, a) => commits.perBatch(b, a),
    commits,
    changes: p.changes,
    close: () => (closing ??= (async () => {
      if (p.writable) await audit.close().catch((e: unknown) => p.log?.('writing counted refusals at close failed', e));
      await commits.drain();
      await p.release();
    })()),
  };
}

export function sqliteStore(db: Db, opts: { signingKey: KeyObject; log?: (msg: string, err?: unknown) => void }): Store {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  // Reading the counter is a read transaction of its own (a lock and an unlock on the WAL index, ~5 µs of system
  // calls): it is read once per turn of the event loop, and every request that turn handles shares the reading.
  // Requests handled in one turn arrived together, so none of them can have been sent after a commit it misses.
  let seen: Promise<number> | undefined;
  const forget = () => (seen = undefined);
  const changes = () => {
    if (seen === undefined) {
      seen = Promise.resolve(dataVersion.get() as number);
      setImmediate(forget);
    }
    return seen;
  };
  return assembleStore({
    dialect: 'sqlite', sql: sqliteSql(db), readOnly: sqliteSql(db, { readOnly: true }), connection: sqliteConnection(db), signingKey: opts.signingKey,
    changes, writable: !db.readonly, release: async () => void db.close(), log: opts.log,
  });
}
