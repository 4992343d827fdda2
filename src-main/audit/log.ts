import { hash } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { onSyncCommit, writeTx } from '../store/tx.ts';
import { ARGS_MAX, boundedJson, boundedText, DETAIL_MAX, isRefusal, OUTCOME_MAX, REFUSAL_ARGS_MAX, REFUSAL_DETAIL_MAX, TEXT_MAX } from './bounds.ts';
import { RefusalAggregator } from './flood.ts';

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

/** sha256(prev_hash, newline, JSON array of the columns in HASHED order): covers every column but the hash itself. */
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

/** Checks a sequence of rows in order: contiguous seq, each prev_hash the previous hash, each hash recomputed. */
export function verifyRows(rows: Iterable<AuditRow>): VerifyResult {
  let prev = GENESIS_HASH;
  let expected = 1;
  let count = 0;
  for (const row of rows) {
    if (row.seq !== expected) {
      return { ok: false, count, badSeq: expected, reason: row.seq > expected ? `entries ${expected}..${row.seq - 1} are missing` : `entry ${row.seq} is out of order` };
    }
    if (row.prev_hash !== prev) return { ok: false, count, badSeq: row.seq, reason: `entry ${row.seq} does not link to entry ${row.seq - 1} (inserted or reordered)` };
    const hash = row.hash;
    if (hashRow(row) !== hash) return { ok: false, count, badSeq: row.seq, reason: `entry ${row.seq} was modified (hash mismatch)` };
    prev = hash;
    expected++;
    count++;
  }
  return { ok: true, count, headHash: prev, headSeq: expected - 1 };
}

export class AuditLog {
  private readonly headStmt;
  private readonly insertStmt;
  private listeners = new Set<(row: AuditRow) => void>();

  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
    this.headStmt = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    // Positional parameters in HASHED order, then prev_hash and hash: binding by name costs ~1 µs a row more.
    this.insertStmt = db.prepare(`INSERT INTO audit_log (${HASHED_COLUMNS.join(', ')}, prev_hash, hash) VALUES (${HASHED_COLUMNS.map(() => '?').join(', ')}, ?, ?)`);
    onSyncCommit(db, { committed: () => this.flushCommitted(), aborted: () => this.discardPending() });
  }

  private readonly floods = new RefusalAggregator();
  private floodTimer: NodeJS.Timeout | undefined;

  /**
   * Appends one entry. Call it inside the write transaction of the state change it records (see `writeTx`),
   * so the change and its entry commit together or not at all. Every entry is bounded and redacted here (see bounds.ts).
   * A refusal (denied, throttled) may instead be counted, when its source is flooding: then nothing is written now,
   * undefined is returned, and one entry per source, cause and minute carries the count (see flood.ts).
   */
  append(e: AuditInput & { decision: Exclude<AuditDecision, 'denied' | 'throttled'> }): AuditRow;
  append(e: AuditInput): AuditRow | undefined;
  append(e: AuditInput): AuditRow | undefined {
    return writeTx(this.db, () => this.appendInTransaction(e));
  }

  /**
   * Appends one entry inside the caller's open transaction (writeTx, or the Store's group commit): it is delivered to
   * listeners when that transaction commits (flushCommitted), and dropped if it rolls back (discardPending). A refusal
   * from a flooding source is counted instead (undefined is returned; see flood.ts).
   */
  appendInTransaction(e: AuditInput & { decision: Exclude<AuditDecision, 'denied' | 'throttled'> }): AuditRow;
  appendInTransaction(e: AuditInput): AuditRow | undefined;
  appendInTransaction(e: AuditInput): AuditRow | undefined {
    if (!this.db.inTransaction) throw new Error('appendInTransaction needs an open transaction');
    if (isRefusal(e.decision) && !this.floods.admit(e)) {
      this.floodTimer ??= setInterval(() => this.flushFloods(), 5_000).unref();
      return undefined;
    }
    for (const c of this.floods.take()) this.write(c);
    return this.write(e);
  }

  /** Writes the counts of flood minutes that have ended (all of them with `all`, on close). Returns how many entries. */
  flushFloods(all = false): number {
    const closed = this.floods.take(all);
    if (closed.length) writeTx(this.db, () => closed.forEach((c) => this.write(c)));
    if (!this.floods.pending && this.floodTimer) {
      clearInterval(this.floodTimer);
      this.floodTimer = undefined;
    }
    return closed.length;
  }

  /** Before the database closes: counted refusals are written, not lost. */
  close(): void {
    try {
      if (this.db.open && !this.db.readonly) this.flushFloods(true);
    } finally {
      clearInterval(this.floodTimer);
      this.floodTimer = undefined;
    }
  }

  /** Inserts one bounded, redacted entry in the open transaction; listeners hear of it once that commits. */
  private write(e: AuditInput): AuditRow {
    const refusal = isRefusal(e.decision);
    const text = (v: string | null | undefined) => (v == null ? null : boundedText(v, TEXT_MAX));
    const head = this.headStmt.get() as { seq: number; hash: string } | undefined;
    const base: Omit<AuditRow, 'hash'> = {
      seq: (head?.seq ?? 0) + 1,
      at: new Date().toISOString(),
      event: e.event,
      decision: e.decision,
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
      args_json: e.args === undefined ? null : boundedJson(e.args, refusal ? REFUSAL_ARGS_MAX : ARGS_MAX),
      outcome: e.outcome == null ? null : boundedText(e.outcome, OUTCOME_MAX),
      detail_json: e.detail === undefined ? null : boundedJson(e.detail, refusal ? REFUSAL_DETAIL_MAX : DETAIL_MAX),
      duration_ms: e.durationMs ?? null,
      approval_id: text(e.approvalId),
      remote: text(e.remote),
      prev_hash: head?.hash ?? GENESIS_HASH,
    };
    // SQLite stores UTF-8, which cannot hold a lone surrogate (it would come back as U+FFFD and break the hash):
    // make every text column well-formed before hashing, so what we hash is exactly what we store.
    for (const k of Object.keys(base) as (keyof typeof base)[]) {
      const v = base[k];
      if (typeof v === 'string') (base as Record<string, unknown>)[k] = v.toWellFormed();
    }
    const values = HASHED_COLUMNS.map((k) => base[k] ?? null);
    const hash = hashValues(base.prev_hash, values);
    this.insertStmt.run(...values, base.prev_hash, hash);
    const row = { ...base, hash };
    // Listeners (live feed) hear about the entry only once it is committed.
    this.pending.push(row);
    return row;
  }

  private pending: AuditRow[] = [];
  // Entries delivered since the last catch-up; everything at or below `scannedThrough` has been delivered.
  private deliveredSince = new Set<number>();
  private scannedThrough: number | undefined;
  private readonly dataVersion;
  private seenVersion: number | undefined;

  private deliver(row: AuditRow): void {
    if (this.scannedThrough !== undefined) this.deliveredSince.add(row.seq);
    for (const l of this.listeners) l(row);
  }

  /** Called after the outermost commit (writeTx or the Store's group commit): deliver entries appended inside it. */
  flushCommitted(): void {
    const rows = this.pending;
    this.pending = [];
    for (const r of rows) this.deliver(r);
  }

  /**
   * Delivers entries another process committed (the CLI creating or revoking a key while the console is open),
   * in order, once each. Cheap when nothing changed elsewhere: one `PRAGMA data_version`. Returns how many.
   */
  catchUp(): number {
    const version = this.dataVersion.get() as number;
    if (this.scannedThrough === undefined || version === this.seenVersion) {
      // First call, or no other connection committed: every entry so far came through this object.
      this.seenVersion = version;
      this.scannedThrough = (this.headStmt.get() as { seq: number } | undefined)?.seq ?? 0;
      this.deliveredSince.clear();
      return 0;
    }
    this.seenVersion = version;
    let n = 0;
    for (const row of this.db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq').iterate(this.scannedThrough) as Iterable<AuditRow>) {
      this.scannedThrough = row.seq;
      if (this.deliveredSince.has(row.seq)) continue;
      for (const l of this.listeners) l(row);
      n++;
    }
    this.deliveredSince.clear();
    return n;
  }

  discardPending(): void {
    this.pending = [];
  }

  onAppend(listener: (row: AuditRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  verify(): VerifyResult {
    return verifyRows(this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<AuditRow>);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
  }
}

const auditLogs = new WeakMap<Db, AuditLog>();
export function auditLogFor(db: Db): AuditLog {
  let log = auditLogs.get(db);
  if (!log) auditLogs.set(db, (log = new AuditLog(db)));
  return log;
}
