import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Db } from '../store/db.ts';
import { canonicalJson } from '../store/canonical.ts';
import { auditLogFor, writeTx } from '../audit/log.ts';
import type { ApiKey, Tenant } from '../auth/keys.ts';

export const APPROVAL_STATUSES = ['pending', 'approved', 'running', 'completed', 'failed', 'denied', 'expired', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export const TERMINAL: ReadonlySet<ApprovalStatus> = new Set(['completed', 'failed', 'denied', 'expired', 'cancelled']);

export interface Approval {
  id: string;
  digest: string;
  keyId: string;
  keyName: string | null;
  tenantId: string;
  tenant: string;
  tool: string;
  action: string | null;
  tier: 3;
  args: Record<string, unknown>;
  summary: string;
  detail: Record<string, unknown>;
  status: ApprovalStatus;
  reason: string | null;
  client: string | null;
  sessionId: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  finishedAt: string | null;
  result: unknown;
}

interface Row {
  id: string; digest: string; key_id: string; key_name: string | null; tenant_id: string; tenant_slug: string; tool: string; action: string | null;
  args_json: string; summary: string; detail_json: string; status: ApprovalStatus; reason: string | null; client_name: string | null;
  client_version: string | null; session_id: string | null; created_at: string; expires_at: string; decided_at: string | null;
  decided_by: string | null; finished_at: string | null; result_json: string | null;
}

const SELECT = `SELECT a.*, t.slug AS tenant_slug, k.name AS key_name FROM approvals a
  JOIN tenants t ON t.id = a.tenant_id LEFT JOIN api_keys k ON k.id = a.key_id`;

function toApproval(r: Row): Approval {
  return {
    id: r.id, digest: r.digest, keyId: r.key_id, keyName: r.key_name, tenantId: r.tenant_id, tenant: r.tenant_slug, tool: r.tool, action: r.action,
    tier: 3, args: JSON.parse(r.args_json), summary: r.summary, detail: JSON.parse(r.detail_json), status: r.status, reason: r.reason,
    client: r.client_name ? `${r.client_name}${r.client_version ? ` ${r.client_version}` : ''}` : null, sessionId: r.session_id,
    createdAt: r.created_at, expiresAt: r.expires_at, decidedAt: r.decided_at, decidedBy: r.decided_by, finishedAt: r.finished_at,
    result: r.result_json === null ? null : JSON.parse(r.result_json),
  };
}

/** Binds an approval to exactly what would run: key, tenant, tool and the validated arguments with defaults. */
export function approvalDigest(keyId: string, tenantId: string, tool: string, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ keyId, tenantId, tool, args })).digest('hex');
}

export class ApprovalError extends Error {
  readonly status: 404 | 409 | 410;
  constructor(status: 404 | 409 | 410, message: string) {
    super(message);
    this.status = status;
  }
}

/** Runs the stored call for an approved request inside the decision's transaction; returns its outcome. */
export type ApprovedExecutor = (a: Approval) => { status: 'running' | 'completed' | 'failed'; result: unknown };

export interface RequestInput {
  key: ApiKey;
  tenant: Tenant;
  tool: string;
  action?: string;
  args: Record<string, unknown>;
  summary: string;
  detail: Record<string, unknown>;
  client?: { name: string; version?: string };
  sessionId?: string;
  ttlMinutes: number;
}

export class ApprovalService {
  readonly events = new EventEmitter();
  private executor: ApprovedExecutor | undefined;

  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
    this.events.setMaxListeners(0);
  }

  setExecutor(executor: ApprovedExecutor): void {
    this.executor = executor;
  }

  get(id: string): Approval | undefined {
    const r = this.db.prepare(`${SELECT} WHERE a.id = ?`).get(id) as Row | undefined;
    return r && toApproval(r);
  }

  /**
   * Newest first. `before` pages on: the `pageCursor` of the last approval seen (created_at and id, so requests
   * created in the same millisecond are neither skipped nor repeated), or a bare ISO time.
   */
  list(opts: { status?: ApprovalStatus[]; limit?: number; before?: string } = {}): Approval[] {
    const statuses = opts.status ?? [...APPROVAL_STATUSES];
    const [at, id] = parseCursor(opts.before);
    const rows = this.db.prepare(`${SELECT} WHERE a.status IN (${statuses.map(() => '?').join(',')})
      AND (? IS NULL OR (a.created_at, a.id) < (?, ?)) ORDER BY a.created_at DESC, a.id DESC LIMIT ?`)
      .all(...statuses, at, at, id, opts.limit ?? 100) as Row[];
    return rows.map(toApproval);
  }

  /** Creates the request, or returns the pending one for the identical call. Audited by the caller's transaction. */
  request(p: RequestInput): { approval: Approval; created: boolean } {
    const digest = approvalDigest(p.key.id, p.tenant.id, p.tool, p.args);
    return writeTx(this.db, () => {
      this.expireDue();
      const existing = this.db.prepare(`SELECT id FROM approvals WHERE digest = ? AND status = 'pending'`).get(digest) as { id: string } | undefined;
      if (existing) return { approval: this.get(existing.id)!, created: false };
      const id = randomUUID();
      const now = new Date();
      this.db.prepare(`INSERT INTO approvals (id, digest, key_id, tenant_id, tool, action, tier, args_json, summary, detail_json, status,
        client_name, client_version, session_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 3, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`)
        .run(id, digest, p.key.id, p.tenant.id, p.tool, p.action ?? null, canonicalJson(p.args), p.summary, JSON.stringify(p.detail),
          p.client?.name ?? null, p.client?.version ?? null, p.sessionId ?? null, now.toISOString(),
          new Date(now.getTime() + p.ttlMinutes * 60_000).toISOString());
      const approval = this.get(id)!;
      queueMicrotask(() => this.events.emit('created', approval));
      return { approval, created: true };
    });
  }

  /** Approve: pending → approved → executes the stored arguments once, all in one transaction with its audit entries. */
  approve(id: string, actor: string): Approval {
    const executor = this.executor;
    if (!executor) throw new Error('no executor registered');
    this.expireDue();
    const out = writeTx(this.db, () => {
      const a = this.decidable(id);
      const now = new Date().toISOString();
      const claimed = this.db.prepare(`UPDATE approvals SET status = 'approved', decided_at = ?, decided_by = ? WHERE id = ? AND status = 'pending'`).run(now, actor, id);
      if (claimed.changes !== 1) throw new ApprovalError(409, `approval ${id} was decided concurrently`);
      const audit = auditLogFor(this.db);
      audit.append({ event: 'approval', decision: 'approved', keyId: a.keyId, keyName: a.keyName, tenant: a.tenant, tool: a.tool, action: a.action, tier: 3, approvalId: id, rule: actor, client: a.client, sessionId: a.sessionId });
      const started = performance.now();
      const { status, result } = executor({ ...a, status: 'approved', decidedAt: now, decidedBy: actor });
      const finishedAt = status === 'running' ? null : new Date().toISOString();
      this.db.prepare(`UPDATE approvals SET status = ?, result_json = ?, finished_at = ? WHERE id = ?`).run(status, JSON.stringify(result ?? null), finishedAt, id);
      audit.append({ event: 'execution', decision: status === 'failed' ? 'failed' : 'completed', outcome: status, keyId: a.keyId, keyName: a.keyName, tenant: a.tenant,
        tool: a.tool, action: a.action, tier: 3, approvalId: id, args: a.args, durationMs: performance.now() - started, detail: { result } });
      return this.get(id)!;
    });
    this.events.emit('decided', out);
    return out;
  }

  deny(id: string, actor: string, reason: string): Approval {
    this.expireDue();
    const out = writeTx(this.db, () => {
      const a = this.decidable(id);
      this.db.prepare(`UPDATE approvals SET status = 'denied', reason = ?, decided_at = ?, decided_by = ?, finished_at = ? WHERE id = ? AND status = 'pending'`)
        .run(reason, new Date().toISOString(), actor, new Date().toISOString(), id);
      auditLogFor(this.db).append({ event: 'approval', decision: 'rejected', code: 'APPROVAL_DENIED', keyId: a.keyId, keyName: a.keyName, tenant: a.tenant, tool: a.tool,
        action: a.action, tier: 3, approvalId: id, rule: actor, outcome: 'denied', detail: { reason } });
      return this.get(id)!;
    });
    this.events.emit('decided', out);
    return out;
  }

  /** The requesting key may withdraw its own pending request. */
  cancel(id: string, key: ApiKey): Approval {
    const out = writeTx(this.db, () => {
      const a = this.get(id);
      if (!a || a.keyId !== key.id) throw new ApprovalError(404, `no approval ${id} for this key`);
      if (a.status !== 'pending') throw new ApprovalError(409, `approval ${id} is ${a.status}; only pending requests can be cancelled`);
      this.db.prepare(`UPDATE approvals SET status = 'cancelled', finished_at = ? WHERE id = ? AND status = 'pending'`).run(new Date().toISOString(), id);
      auditLogFor(this.db).append({ event: 'approval', decision: 'cancelled', keyId: a.keyId, keyName: a.keyName, tenant: a.tenant, tool: a.tool, action: a.action, tier: 3, approvalId: id, rule: 'requesting key' });
      return this.get(id)!;
    });
    this.events.emit('decided', out);
    return out;
  }

  /** Fails closed: a pending request past its expiry can no longer be approved. Returns how many expired. */
  expireDue(now = new Date()): number {
    const due = this.db.prepare(`SELECT id FROM approvals WHERE status = 'pending' AND expires_at <= ?`).all(now.toISOString()) as { id: string }[];
    if (due.length === 0) return 0;
    const expired: Approval[] = [];
    writeTx(this.db, () => {
      for (const { id } of due) {
        const r = this.db.prepare(`UPDATE approvals SET status = 'expired', finished_at = ? WHERE id = ? AND status = 'pending'`).run(now.toISOString(), id);
        if (r.changes !== 1) continue;
        const a = this.get(id)!;
        auditLogFor(this.db).append({ event: 'approval', decision: 'expired', code: 'APPROVAL_EXPIRED', keyId: a.keyId, keyName: a.keyName, tenant: a.tenant, tool: a.tool, action: a.action, tier: 3, approvalId: id, rule: 'ttl' });
        expired.push(a);
      }
    });
    for (const a of expired) this.events.emit('decided', a);
    return expired.length;
  }

  /** Resolves with the approval once it leaves 'pending', or undefined after `ms` / on abort. */
  waitForDecision(id: string, ms: number, signal?: AbortSignal): Promise<Approval | undefined> {
    return new Promise((resolve) => {
      const done = (a: Approval | undefined) => {
        clearTimeout(timer);
        this.events.off('decided', onDecided);
        signal?.removeEventListener('abort', onAbort);
        resolve(a);
      };
      const onDecided = (a: Approval) => a.id === id && done(a);
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      this.events.on('decided', onDecided);
      signal?.addEventListener('abort', onAbort);
      const current = this.get(id);
      if (current && current.status !== 'pending') done(current);
    });
  }

  private decidable(id: string): Approval {
    const a = this.get(id);
    if (!a) throw new ApprovalError(404, `no approval ${id}`);
    if (a.status === 'expired' || (a.status === 'pending' && a.expiresAt <= new Date().toISOString())) {
      throw new ApprovalError(410, `approval ${id} expired at ${a.expiresAt}`);
    }
    if (a.status !== 'pending') throw new ApprovalError(409, `approval ${id} is already ${a.status}`);
    return a;
  }
}

/** The list position just after an approval (see ApprovalService.list). */
export function pageCursor(a: Pick<Approval, 'createdAt' | 'id'>): string {
  return `${a.createdAt}/${a.id}`;
}

/** A cursor, or a bare ISO time (everything created before it: an id sorting before every uuid). */
function parseCursor(before: string | undefined): [string | null, string] {
  if (!before) return [null, ''];
  const slash = before.indexOf('/');
  return slash < 0 ? [before, ''] : [before.slice(0, slash), before.slice(slash + 1)];
}
