import { hash } from 'node:crypto';
import type { Sql } from '../store/sql.ts';
import { ARGS_MAX, boundedJson, boundedText, DETAIL_MAX, isRefusal, OUTCOME_MAX, REFUSAL_ARGS_MAX, REFUSAL_DETAIL_MAX, TEXT_MAX } from './bounds.ts';
import { BlockCounter, type BlockCounts } from './blockCounts.ts';
import { BLOCK, closesBlock, summarizeBlock } from './facets.ts';
import { foldKeyUsage } from './keyUsage.ts';
import { RefusalAggregator } from './flood.ts';
import { pauses } from '../pauses.ts';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditEvent =
  | 'auth' | 'http' | 'session' | 'tool_call' | 'approval' | 'execution' | 'key' | 'policy' | 'console' | 'system';
export type AuditDecision =
  | 'allowed' | 'denied' | 'pending' | 'throttled' | 'approved' | 'rejected' | 'expired' | 'cancelled' | 'completed' | 'failed' | 'info';

export interface AuditInput {
  event: AuditEvent;
  decision: AuditDecision;
  code?: string | null;
  rule?: string | null;
  keyId?: string | null;
  keyName?: string | null;
  tenant?: string | null;
  client?: string | null;
  sessionId?: string | null;
  tool?: string | null;
  action?: string | null;
  tier?: number | null;
  args?: unknown;
  outcome?: string | null;
  detail?: unknown;
  durationMs?: number | null;
  approvalId?: string | null;
  remote?: string | null;
}

/** One stored row; the hash covers every column but itself, and the previous row's hash. */
export interface AuditRow {
  seq: number;
  at: string;
  event: string;
  decision: string;
  code: string | null;
  rule: string | null;
  key_id: string | null;
  key_name: string | null;
  tenant: string | null;
  client: string | null;
  session_id: string | null;
  tool: string | null;
  action: string | null;
  tier: number | null;
  args_json: string | null;
  outcome: string | null;
  detail_json: string | null;
  duration_ms: number | null;
  approval_id: string | null;
  remote: string | null;
  prev_hash: string;
  hash: string;
}

/** Every hashed column in one fixed order (the order is part of the chain format: append only, never reorder). */
export const HASHED_COLUMNS: readonly (keyof Omit<AuditRow, 'hash' | 'prev_hash'>)[] = [
  'seq', 'at', 'event', 'decision', 'code', 'rule', 'key_id', 'key_name', 'tenant', 'client', 'session_id', 'tool', 'action', 'tier',
  'args_json', 'outcome', 'detail_json', 'duration_ms', 'approval_id', 'remote',
];

/** sha256(prev_hash, newline, JSON array of the columns in HASHED_COLUMNS order): covers every column but the hash itself. */
export function hashRow(row: Omit<AuditRow, 'hash'>): string {
  return hashValues(row.prev_hash, HASHED_COLUMNS.map((k) => row[k] ?? null));
}

function hashValues(prevHash: string, values: unknown[]): string {
  // One-shot hash of one string: half the cost of a Hash object fed three updates, the same digest.
  return hash('sha256', `${prevHash}\n${JSON.stringify(values)}`);
}

export type VerifyResult =
  | { ok: true; count: number; headHash: string; headSeq: number }
  | { ok: false; count: number; badSeq: number; reason: string };

/** Checks rows one at a time, in order: contiguous seq, each prev_hash the previous hash, each hash recomputed. */
export class ChainCheck {
  private prev = GENESIS_HASH;
  private expected = 1;
  private count = 0;
  private failure: VerifyResult | undefined;

  /** False once the chain is broken (the rest need not be read). */
  push(row: AuditRow): boolean {
    if (this.failure) return false;
    const fail = (badSeq: number, reason: string) => {
      this.failure = { ok: false, count: this.count, badSeq, reason };
      return false;
    };
    if (row.seq !== this.expected) {
      return fail(this.expected, row.seq > this.expected ? `entries ${this.expected}..${row.seq - 1} are missing` : `entry ${row.seq} is out of order`);
    }
    if (row.prev_hash !== this.prev) return fail(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1} (inserted or reordered)`);
    if (hashRow(row) !== row.hash) return fail(row.seq, `entry ${row.seq} was modified (hash mismatch)`);
    this.prev = row.hash;
    this.expected++;
    this.count++;
    return true;
  }

  result(): VerifyResult {
    return this.failure ?? { ok: true, count: this.count, headHash: this.prev, headSeq: this.expected - 1 };
  }
}

/** Checks a sequence of rows in order: contiguous seq, each prev_hash the previous hash, each hash recomputed. */
export function verifyRows(rows: Iterable<AuditRow>): VerifyResult {
  const check = new ChainCheck();
  for (const row of rows) if (!check.push(row)) break;
  return check.result();
}

const PAGE = 5_000;

/**
 * Every entry after `afterSeq` (up to `throughSeq`), in order, read in keyset pages: memory stays bounded on a large log,
 * and the same statements run on SQLite and PostgreSQL. The log is append-only, so the pages form one consistent prefix.
 */
export async function* auditRows(sql: Sql, opts: { afterSeq?: number; throughSeq?: number } = {}): AsyncGenerator<AuditRow> {
  let after = opts.afterSeq ?? 0;
  const through = opts.throughSeq ?? Number.MAX_SAFE_INTEGER;
  for (;;) {
    const rows = await sql.all<AuditRow>('SELECT * FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?', [after, through, PAGE]);
    for (const r of rows) yield r;
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/**
 * The whole chain, checked in keyset pages from the lowest seq (a row the attacker gave seq 0 or -5 is read first and
 * fails the contiguity check), the event loop given back every few hundred rows: a console's verify does not hold the
 * MCP calls in flight.
 */
export async function verifyChain(sql: Sql): Promise<VerifyResult> {
  const check = new ChainCheck();
  const pause = pauses();
  for await (const row of auditRows(sql, { afterSeq: Number.MIN_SAFE_INTEGER })) {
    if (!check.push(row)) break;
    const p = pause();
    if (p) await p;
  }
  return check.result();
}

const HEAD = 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1';

/** The chain's last entry (its seq and hash), or the genesis before the first (seq 0). */
export async function chainHead(sql: Sql): Promise<{ seq: number; hash: string }> {
  return (await sql.get<{ seq: number; hash: string }>(HEAD)) ?? { seq: 0, hash: GENESIS_HASH };
}
// Positional parameters in HASHED_COLUMNS order, then prev_hash and hash.
const INSERT = `INSERT INTO audit_log (${HASHED_COLUMNS.join(', ')}, prev_hash, hash) VALUES (${HASHED_COLUMNS.map(() => '?').join(', ')}, ?, ?)`;

/** Whether an entry was committed by this process or found committed by another (the CLI, another node). */
export type AuditOrigin = 'local' | 'external';

/** How the log reaches its database: reads outside any transaction, its own writes, and the store's change counter. */
export interface AuditStoreAccess {
  sql: Sql;
  /** Runs fn in a write transaction of the store (group commit): what flood counts are written with. */
  write<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /** Moves when another connection may have committed (see Store.changes). */
  changes(): Promise<number>;
}

/**
 * The hash-chained log of one store. Entries are appended only inside the store's write transactions (Tx.audit), so an
 * entry commits with the change it records or not at all; listeners hear of an entry once its transaction committed.
 */
export class AuditLog {
  private listeners = new Set<(row: AuditRow, origin: AuditOrigin) => void>();
  private readonly access: AuditStoreAccess;
  private readonly floods = new RefusalAggregator();
  private floodTimer: NodeJS.Timeout | undefined;

  constructor(access: AuditStoreAccess) {
    this.access = access;
  }

  /** Appends one entry in a transaction of its own; the change it records must be in the same one (see Tx.audit). */
  append(e: AuditInput & { decision: Exclude<AuditDecision, 'denied' | 'throttled'> }): Promise<AuditRow>;
  append(e: AuditInput): Promise<AuditRow | undefined>;
  append(e: AuditInput): Promise<AuditRow | undefined> {
    return this.access.write((sql) => this.appendInTransaction(sql, e));
  }

  /**
   * Appends one entry with `sql`, the caller's open transaction (the Store's group commit): it is delivered to listeners
   * when that transaction commits (flushCommitted), and dropped if it rolls back. A refusal from a flooding source is
   * counted instead (undefined is returned; see flood.ts).
   */
  appendInTransaction(sql: Sql, e: AuditInput & { decision: Exclude<AuditDecision, 'denied' | 'throttled'> }): Promise<AuditRow>;
  appendInTransaction(sql: Sql, e: AuditInput): Promise<AuditRow | undefined>;
  async appendInTransaction(sql: Sql, e: AuditInput): Promise<AuditRow | undefined> {
    if (isRefusal(e.decision) && !this.floods.admit(e)) {
      this.floodTimer ??= setInterval(() => void this.flushFloods().catch(() => {}), 5_000).unref();
      return undefined;
    }
    const counted = this.floods.take();
    if (counted.length === 0) return this.write(sql, e);
    // Several entries in an item that may have no savepoint (queued as one write): all of them, or none.
    const mark = this.pending.length;
    let row: AuditRow;
    try {
      row = await inSavepoint(sql, 'audit_entries', async () => {
        for (const c of counted) await this.write(sql, c);
        return this.write(sql, e);
      }, () => void (this.pending.length = mark));
    } catch (err) {
      // Rolled back to the savepoint, or the savepoint could not even be opened: the counts were not written.
      this.floods.giveBack(counted);
      throw err;
    }
    // Written, but only once the transaction commits: if it rolls back (the item, or the whole batch), the counts
    // go back to the aggregator for the next append rather than being lost with it.
    this.countsInTransaction.push({ mark, counts: counted });
    return row;
  }

  /** Flood counts written in the open transaction, with the mark of the entries they were written at. */
  private countsInTransaction: { mark: number; counts: AuditInput[] }[] = [];

  private giveBackCountsSince(mark: number): void {
    while (this.countsInTransaction.length && this.countsInTransaction.at(-1)!.mark >= mark) this.floods.giveBack(this.countsInTransaction.pop()!.counts);
  }

  /** Writes the counts of flood minutes that have ended (all of them with `all`, on close). Returns how many entries. */
  async flushFloods(all = false): Promise<number> {
    const closed = this.floods.take(all);
    if (closed.length) {
      // A flush that does not commit, whatever the reason (its batch never began, an earlier item lost the
      // transaction, a write failed, the commit failed), gives the counts back for the next append.
      let committed = false;
      try {
        await this.access.write(async (sql) => {
          for (const c of closed) await this.write(sql, c);
        });
        committed = true;
      } finally {
        if (!committed) this.floods.giveBack(closed);
      }
    }
    if (!this.floods.pending && this.floodTimer) {
      clearInterval(this.floodTimer);
      this.floodTimer = undefined;
    }
    return closed.length;
  }

  /** Before the store closes: counted refusals are written, not lost. */
  async close(): Promise<void> {
    try {
      await this.flushFloods(true);
    } finally {
      clearInterval(this.floodTimer);
      this.floodTimer = undefined;
    }
  }

  /** Inserts one bounded, redacted entry in the open transaction; listeners hear of it once that commits. */
  private async write(sql: Sql, e: AuditInput): Promise<AuditRow> {
    const refusal = isRefusal(e.decision);
    // The databases store UTF-8, which cannot hold a lone surrogate (it would come back as U+FFFD and break the hash), and
    // PostgreSQL refuses NUL in text: every text column is made well-formed before hashing, so what we hash is what we store.
    const text = (v: string | null | undefined) => (v == null ? null : storableText(boundedText(v, TEXT_MAX)));
    const json = (v: unknown, max: number) => (v === undefined ? null : storableText(boundedJson(v, max)));
    // The head is read once per transaction: after that it is the last entry this transaction appended (nobody else
    // appends while it holds the write lock; an item rolled back to its savepoint took its entries off `pending`).
    const head = this.pending.at(-1) ?? await this.headAtBegin(sql);
    // Built as one object literal, in HASHED_COLUMNS order (the chain tests recompute every hash from that list), and
    // read by name: per entry, no copy and no lookup by a computed key.
    const row: AuditRow = {
      seq: head.seq + 1,
      at: new Date().toISOString(),
      event: storableText(e.event),
      decision: storableText(e.decision),
      code: text(e.code),
      rule: text(e.rule),
      key_id: text(e.keyId),
      key_name: text(e.keyName),
      tenant: text(e.tenant),
      client: text(e.client),
      session_id: text(e.sessionId),
      tool: text(e.tool),
      action: text(e.action),
      tier: e.tier ?? null,
      args_json: json(e.args, refusal ? REFUSAL_ARGS_MAX : ARGS_MAX),
      outcome: e.outcome == null ? null : storableText(boundedText(e.outcome, OUTCOME_MAX)),
      detail_json: json(e.detail, refusal ? REFUSAL_DETAIL_MAX : DETAIL_MAX),
      duration_ms: e.durationMs ?? null,
      approval_id: text(e.approvalId),
      remote: text(e.remote),
      prev_hash: head.hash,
      hash: '',
    };
    const values: unknown[] = [row.seq, row.at, row.event, row.decision, row.code, row.rule, row.key_id, row.key_name, row.tenant, row.client,
      row.session_id, row.tool, row.action, row.tier, row.args_json, row.outcome, row.detail_json, row.duration_ms, row.approval_id, row.remote];
    row.hash = hashValues(row.prev_hash, values);
    values.push(row.prev_hash, row.hash);
    // SQLite: the block's rows come from the counts kept as entries commit (a row each; on PostgreSQL each would be a round
    // trip, where reading the block is one).
    if (closesBlock(row.seq)) await appendClosingBlock(sql, values, row.seq, sql.dialect === 'sqlite' ? this.counter.complete(this.pending, row) : undefined);
    else await sql.run(INSERT, values);
    // Listeners (live feed) hear about the entry only once it is committed.
    this.pending.push(row);
    return row;
  }

  private pending: AuditRow[] = [];
  /**
   * SQLite: the last entry this process committed, and the store's change counter as the transaction that committed it
   * read it. The counter moves only when another connection commits, so a transaction that reads the same value
   * appends after that entry without reading the head (about a microsecond a call in the server). Dropped when a
   * transaction fails: it may have been another write of this connection that made it fail.
   */
  private committed: { seq: number; hash: string; version: number } | undefined;
  private version: number | undefined;

  private async headAtBegin(sql: Sql): Promise<{ seq: number; hash: string }> {
    if (sql.dialect !== 'sqlite') return chainHead(sql);
    // Its own text: store.ts reads the same pragma in pluck mode, on a statement this one must not share.
    this.version = (await sql.get<{ data_version: number }>('PRAGMA main.data_version'))!.data_version;
    const c = this.committed;
    return c !== undefined && c.version === this.version ? c : chainHead(sql);
  }
  /** The open block's entries that this process committed, counted (blockCounts.ts). */
  private readonly counter = new BlockCounter();
  // Everything at or below `scannedThrough` has been delivered; `deliveredSince`, this process's entries delivered past
  // it, after a gap that another process's entries fill (until a catch-up reads them).
  private deliveredSince = new Set<number>();
  private scannedThrough: number | undefined;
  private seenVersion: number | undefined;
  /** From the first catch-up on, this process's deliveries are recorded (also while it reads the head). */
  private tracking = false;

  private deliver(row: AuditRow): void {
    if (this.tracking) {
      // The next entry after everything delivered extends it: with no other writer, nothing is held per entry (it was,
      // for every entry until another process committed). Not while a catch-up runs: it moves scannedThrough itself.
      if (!this.catching && this.scannedThrough !== undefined && row.seq === this.scannedThrough + 1) this.scannedThrough = row.seq;
      else this.deliveredSince.add(row.seq);
    }
    for (const l of this.listeners) l(row, 'local');
  }

  /** Blocks whose summary this process wrote from its counts, not by reading the block (blockCounts.ts). */
  get blocksCounted(): number {
    return this.counter.used;
  }

  /** This process's entries delivered past a gap, held until a catch-up reads the other process's entries in it. */
  get heldForCatchUp(): number {
    return this.deliveredSince.size;
  }

  /** Entries appended in the open transaction so far: an item's savepoint rolls back to it (see discardSince). */
  mark(): number {
    return this.pending.length;
  }

  /** The item that appended the entries after `mark` rolled back to its savepoint: they never happened. */
  discardSince(mark: number): void {
    this.pending.length = Math.min(this.pending.length, mark);
    this.giveBackCountsSince(mark);
  }

  /** Called after the commit of the store's transaction: deliver entries appended inside it. */
  flushCommitted(): void {
    const rows = this.pending;
    this.pending = [];
    this.countsInTransaction.length = 0;
    const last = rows.at(-1);
    if (last !== undefined && this.version !== undefined) this.committed = { seq: last.seq, hash: last.hash, version: this.version };
    for (const r of rows) {
      this.counter.add(r);
      this.deliver(r);
    }
  }

  /**
   * Delivers entries another process or node committed (the CLI creating or revoking a key while the console is open),
   * in order, once each. Cheap when nothing changed elsewhere: one look at the store's change counter. Returns how many.
   */
  catchUp(): Promise<number> {
    this.catching ??= this.scan().finally(() => (this.catching = undefined));
    return this.catching;
  }

  private catching: Promise<number> | undefined;

  private async scan(): Promise<number> {
    const version = await this.access.changes();
    if (this.scannedThrough === undefined) {
      // First call: every entry so far came before anyone listened. What this process commits while the head is read
      // is recorded (on PostgreSQL the read's snapshot may be older than a commit delivered meanwhile).
      this.tracking = true;
      this.scannedThrough = (await chainHead(this.access.sql)).seq;
      this.seenVersion = version;
      this.settle();
      return 0;
    }
    // Nothing committed elsewhere and nothing of ours held past a gap: nothing to read. Held entries are read past even
    // with the counter still (PostgreSQL's notice of another node's commit can come later than the commit; a commit of
    // ours whose reply was lost left entries nobody delivered).
    if (version === this.seenVersion && this.deliveredSince.size === 0) return 0;
    this.seenVersion = version;
    let n = 0;
    for await (const row of auditRows(this.access.sql, { afterSeq: this.scannedThrough })) {
      this.scannedThrough = row.seq;
      // Ours: delivered, or about to be once our commit's reply is in (another connection can see a commit first).
      if (this.deliveredSince.has(row.seq) || this.pending.some((p) => p.seq === row.seq)) continue;
      for (const l of this.listeners) l(row, 'external');
      n++;
    }
    this.settle();
    return n;
  }

  /** Drops what the scan has passed, and extends it over the entries of ours that follow it. */
  private settle(): void {
    for (const seq of this.deliveredSince) if (seq <= this.scannedThrough!) this.deliveredSince.delete(seq);
    while (this.deliveredSince.delete(this.scannedThrough! + 1)) this.scannedThrough!++;
  }

  discardPending(): void {
    this.pending = [];
    this.committed = undefined;
    this.giveBackCountsSince(0);
  }

  /** Every committed entry once: this process's as it commits ('local'), others' when catchUp finds them ('external'). */
  onAppend(listener: (row: AuditRow, origin: AuditOrigin) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  verify(): Promise<VerifyResult> {
    return verifyChain(this.access.sql);
  }

  async count(): Promise<number> {
    return (await this.access.sql.get<{ n: number }>('SELECT count(*) AS n FROM audit_log'))!.n;
  }
}

/**
 * The entry that closes a block, the block's summaries and the keys' usage through it (keyUsage.ts), as one: in a savepoint of their own, since the item may
 * have none (a read's audit row is queued as one write, and on SQLite a failed statement undoes only itself). A summary
 * that failed to write would otherwise leave its entry in the transaction, unknown to the caller and to the chain head.
 */
async function appendClosingBlock(sql: Sql, params: unknown[], seq: number, counted: BlockCounts | undefined): Promise<void> {
  await inSavepoint(sql, 'audit_block', async () => {
    await sql.run(INSERT, params);
    await summarizeBlock(sql, seq, counted);
    // The fold only spares the key list a longer read (keyUsage.ts): one that fails (a usage row someone edited past its
    // bounds) is rolled back and skipped, never the entry. The count read stays exact: its live part starts where the
    // last fold that held ended.
    await inSavepoint(sql, 'key_usage_fold', () => foldKeyUsage(sql, seq, counted && { from: counted.block * BLOCK - 1, calls: counted.calls })).catch(() => {});
  });
}

/** fn's writes in a savepoint: kept together, or rolled back together (then `undo`, and the error is thrown on). */
async function inSavepoint<T>(sql: Sql, name: string, fn: () => Promise<T>, undo: () => void = () => {}): Promise<T> {
  await sql.run(`SAVEPOINT ${name}`);
  try {
    const result = await fn();
    await sql.run(`RELEASE ${name}`);
    return result;
  } catch (e) {
    undo();
    // A transaction SQLite already rolled back (a full disk) has no savepoint left: the first error is the one to report.
    await sql.run(`ROLLBACK TO ${name}`).then(() => sql.run(`RELEASE ${name}`)).catch(() => {});
    throw e;
  }
}

/** Well-formed UTF-16 (no lone surrogates) without NUL, which PostgreSQL's text type cannot hold: stored exactly as hashed. */
export function storableText(v: string): string {
  const w = v.toWellFormed();
  return w.includes('\u0000') ? w.replaceAll('\u0000', '\uFFFD') : w;
}
