// The approval lifecycle, in one place. States and the only transitions allowed between them:
//   pending → approved | denied | expired | cancelled;  approved → running | completed | failed;  running → completed | failed;
//   failed → completed (a real result that arrives after its lease ran out).
// Every transition is written with its audit entry in the caller's transaction, and announced after it commits.
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ApiKey, Tenant } from '../auth/keys.ts';
import type { AuditInput } from '../audit/log.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { canonicalJson } from '../store/canonical.ts';
import type { Store, Tx } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { approvalRows, type ApprovalRow } from '../store/data/approvals.ts';
import { sealedSecrets } from '../store/data/sealedSecrets.ts';
import { bindApproval, bindingHolds, bindRecord, recordHolds } from './binding.ts';

export const APPROVAL_STATUSES = ['pending', 'approved', 'running', 'completed', 'failed', 'denied', 'expired', 'cancelled'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export const TERMINAL: ReadonlySet<ApprovalStatus> = new Set(['completed', 'failed', 'denied', 'expired', 'cancelled']);

const TRANSITIONS: Record<ApprovalStatus, readonly ApprovalStatus[]> = {
  pending: ['approved', 'denied', 'expired', 'cancelled'],
  approved: ['running', 'completed', 'failed'],
  running: ['completed', 'failed'],
  failed: ['completed'],
  completed: [], denied: [], expired: [], cancelled: [],
};

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
  /** The canonical effect re-checked at approval (null for approvals made before bindings existed). */
  effect: Record<string, unknown> | null;
  /** Read, not only swept: a pending approval past its expiry reads as expired. */
  status: ApprovalStatus;
  reason: string | null;
  /** Why the gate itself ended it, when it did (POLICY_CHANGED, TAMPERED, PLAN_CHANGED). */
  decisionCode: string | null;
  client: string | null;
  sessionId: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  finishedAt: string | null;
  result: unknown;
  /** 'tampered' when the stored request or plan no longer matches its binding: it cannot be approved. */
  integrity: 'verified' | 'tampered';
  /** Distinct technicians who must approve it (four-eyes rules); 1 for most requests. */
  approversRequired: number;
}

const parse = (s: string | null, fallback: unknown): unknown => {
  if (s === null) return fallback;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return fallback;
  }
};
const record = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const isStatus = (s: string): s is ApprovalStatus => (APPROVAL_STATUSES as readonly string[]).includes(s);

/** Binds an approval to exactly what would run: key, tenant, tool and the validated, canonical arguments. */
export function approvalDigest(keyId: string, tenantId: string, tool: string, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ keyId, tenantId, tool, args })).digest('hex');
}

export interface RequestInput {
  key: ApiKey;
  tenant: Tenant;
  tool: string;
  action?: string;
  args: Record<string, unknown>;
  summary: string;
  detail: Record<string, unknown>;
  effect: Record<string, unknown> | null;
  client?: { name: string; version?: string };
  sessionId?: string;
  ttlMinutes: number;
  /** From the four-eyes rules at the time of the request (bound with it). */
  approversRequired?: number;
}

/** What a transition records besides the new status. */
export interface TransitionFacts {
  reason?: string | null;
  decidedBy?: string;
  code?: ErrorCode | null;
  result?: unknown;
  /** The audit entry of the transition (event approval unless given). */
  audit: Omit<AuditInput, 'event' | 'keyId' | 'keyName' | 'tenant' | 'tool' | 'action' | 'tier' | 'approvalId' | 'client' | 'sessionId'> & { event?: AuditInput['event'] };
}

export class ApprovalLifecycle {
  /**
   * 'created' and 'decided' (any move out of pending, and every later one), and 'progress' (one more four-eyes approval of
   * a request still pending), after the commit that made them.
   */
  readonly events = new EventEmitter();
  private readonly store: Store;
  private readonly key: Buffer;

  constructor(store: Store, bindingKey: Buffer) {
    this.store = store;
    this.key = bindingKey;
    this.events.setMaxListeners(0);
    // Requests and decisions another node (or process) committed are announced here too, from their audit entries:
    // a console on this node shows them, and a call held here for a decision made there returns.
    store.audit.onAppend((row, origin) => {
      if (origin !== 'external' || !row.approval_id) return;
      const created = row.event === 'tool_call' && row.decision === 'pending' && row.outcome === 'approval requested';
      if (!created && row.event !== 'approval' && row.event !== 'execution') return;
      this.get(row.approval_id).then((a) => {
        if (!a) return;
        if (created) this.events.emit('created', a);
        else if (a.status !== 'pending') this.events.emit('decided', a);
        else if (row.code === 'FOUR_EYES') this.events.emit('progress', a);
      }, () => {});
    });
  }

  private toApproval(r: ApprovalRow, now: string): Approval {
    const stored = isStatus(r.status) ? r.status : 'failed';
    return {
      id: r.id, digest: r.digest, keyId: r.key_id, keyName: r.key_name, tenantId: r.tenant_id, tenant: r.tenant_slug, tool: r.tool, action: r.action,
      tier: 3, args: record(parse(r.args_json, {})), summary: r.summary, detail: record(parse(r.detail_json, {})),
      effect: r.effect_json === null ? null : record(parse(r.effect_json, {})),
      status: stored === 'pending' && r.expires_at <= now ? 'expired' : stored,
      reason: r.reason, decisionCode: r.decision_code,
      client: r.client_name ? `${r.client_name}${r.client_version ? ` ${r.client_version}` : ''}` : null, sessionId: r.session_id,
      createdAt: r.created_at, expiresAt: r.expires_at, decidedAt: r.decided_at, decidedBy: r.decided_by, finishedAt: r.finished_at,
      result: parse(r.result_json, null), integrity: bindingHolds(this.key, r) ? 'verified' : 'tampered',
      approversRequired: Number(r.approvers_required ?? 1),
    };
  }

  /** Binds a grant or plan row to the install secret, as approvals are. */
  seal(kind: 'grant' | 'plan', fields: readonly unknown[]): string {
    return bindRecord(this.key, kind, fields);
  }

  sealHolds(kind: 'grant' | 'plan', fields: readonly unknown[], binding: string | null): boolean {
    return recordHolds(this.key, kind, fields, binding);
  }

  async get(id: string, sql: Sql = this.store.sql): Promise<Approval | undefined> {
    const r = await approvalRows.get(sql, id);
    return r && this.toApproval(r, new Date().toISOString());
  }

  /**
   * Newest first. `before` pages on: the `pageCursor` of the last approval seen (created_at and id, so requests
   * created in the same millisecond are neither skipped nor repeated), or a bare ISO time. `tenantIds`: these tenants'
   * requests only (what a technician may see), filtered in the query so that a page is full and its cursor exact.
   */
  async list(opts: { status?: readonly ApprovalStatus[]; limit?: number; before?: string; tenantIds?: readonly string[] } = {}): Promise<Approval[]> {
    const now = new Date().toISOString();
    const [beforeAt, beforeId] = parseCursor(opts.before);
    const rows = await approvalRows.list(this.store.sql, { statuses: opts.status ?? APPROVAL_STATUSES, now, limit: opts.limit ?? 100, beforeAt, beforeId, tenantIds: opts.tenantIds });
    return rows.map((r) => this.toApproval(r, now));
  }

  /** Pending requests, of these tenants only when given (what a technician may see). */
  pendingCount(tenantIds?: readonly string[]): Promise<number> {
    return approvalRows.pendingCount(this.store.sql, new Date().toISOString(), tenantIds);
  }

  /** Creates the request, or returns the pending one for the identical call. Audited by the caller. */
  async request(tx: Tx, p: RequestInput): Promise<{ approval: Approval; created: boolean }> {
    const digest = approvalDigest(p.key.id, p.tenant.id, p.tool, p.args);
    const existing = await approvalRows.pendingByDigest(tx.sql, digest);
    if (existing) {
      const a = this.toApproval(existing, new Date().toISOString());
      if (a.status === 'pending' && a.integrity === 'verified') return { approval: a, created: false };
      // Past its expiry, or no longer matching its binding: end it, then file the new request.
      if (a.status === 'expired') await this.move(tx, a, 'expired', EXPIRED);
      else await this.move(tx, a, 'denied', tamperedFacts('a new identical request'));
    }
    const now = new Date();
    const row = {
      id: randomUUID(), digest, key_id: p.key.id, tenant_id: p.tenant.id, tool: p.tool, action: p.action ?? null, args_json: canonicalJson(p.args),
      summary: p.summary, detail_json: canonicalJson(p.detail), effect_json: p.effect === null ? null : canonicalJson(p.effect),
      client_name: p.client?.name ?? null, client_version: p.client?.version ?? null, session_id: p.sessionId ?? null,
      created_at: now.toISOString(), expires_at: new Date(now.getTime() + p.ttlMinutes * 60_000).toISOString(),
      approvers_required: p.approversRequired ?? 1,
    };
    await approvalRows.insert(tx.sql, { ...row, binding: bindApproval(this.key, row) });
    const approval = (await this.get(row.id, tx.sql))!;
    tx.afterCommit(() => this.events.emit('created', approval));
    return { approval, created: true };
  }

  /**
   * The one way an approval changes state: only an allowed transition from the state stored now (a concurrent
   * decision makes this throw CONFLICT), never out of an expired request except into 'expired', audited in the same
   * transaction, announced after it commits.
   */
  async move(tx: Tx, a: Pick<Approval, 'id'>, to: ApprovalStatus, f: TransitionFacts): Promise<Approval> {
    const row = await approvalRows.get(tx.sql, a.id);
    if (!row || !isStatus(row.status)) throw new AppError('NOT_FOUND', `no approval ${a.id}`, 'approval_state');
    const now = new Date().toISOString();
    const stored = row.status;
    if (stored === 'pending' && row.expires_at <= now && to !== 'expired') {
      throw new AppError('GONE', `approval ${a.id} expired at ${row.expires_at}`, 'approval_state');
    }
    if (!TRANSITIONS[stored].includes(to)) throw new AppError('CONFLICT', `approval ${a.id} is already ${stored}; it cannot become ${to}`, 'approval_state');
    const decides = stored === 'pending';
    const moved = await approvalRows.move(tx.sql, a.id, stored, to, {
      reason: f.reason, decidedAt: decides ? now : undefined, decidedBy: decides ? f.decidedBy : undefined,
      finishedAt: TERMINAL.has(to) ? now : null, result: f.result === undefined ? undefined : JSON.stringify(f.result ?? null), code: f.code,
    });
    if (!moved) throw new AppError('CONFLICT', `approval ${a.id} was decided concurrently`, 'approval_state');
    // Secret parameter values live only while the approval can still run or send a command.
    if (TERMINAL.has(to)) await sealedSecrets.drop(tx.sql, a.id);
    const before = this.toApproval(row, now);
    const { event = 'approval', ...rest } = f.audit;
    await tx.audit({
      event, keyId: before.keyId, keyName: before.keyName, tenant: before.tenant, tool: before.tool, action: before.action, tier: 3, approvalId: a.id,
      client: before.client, sessionId: before.sessionId, ...rest,
    });
    const after = (await this.get(a.id, tx.sql))!;
    this.announce(tx, after);
    return after;
  }

  // One 'decided' event per approval and transaction, with its state at the commit (approved → running is one step to a listener).
  private readonly announced = new WeakMap<Tx, Map<string, Approval>>();
  private announce(tx: Tx, a: Approval): void {
    let latest = this.announced.get(tx);
    if (!latest) this.announced.set(tx, (latest = new Map()));
    if (!latest.has(a.id)) tx.afterCommit(() => this.events.emit('decided', latest.get(a.id)!));
    latest.set(a.id, a);
  }

  /** A four-eyes request got one more approval (still pending): consoles update its card after the commit. */
  announceProgress(tx: Tx, approvalId: string): void {
    tx.afterCommit(() => {
      this.get(approvalId).then((a) => a && this.events.emit('progress', a), () => {});
    });
  }

  /** Records the expiry of one pending approval past its expiry time (a decision attempt found it expired). */
  async expire(id: string): Promise<void> {
    await this.store.write(async (tx) => {
      const r = await approvalRows.get(tx.sql, id);
      if (r?.status === 'pending' && r.expires_at <= new Date().toISOString()) await this.move(tx, { id }, 'expired', EXPIRED);
    });
  }

  /** The expiry sweep: writes the transition (and its audit entry) of every pending approval past its expiry. */
  async expireDue(now = new Date()): Promise<number> {
    const iso = now.toISOString();
    const due = await approvalRows.dueForExpiry(this.store.sql, iso);
    if (due.length === 0) return 0;
    return this.store.write(async (tx) => {
      let n = 0;
      for (const { id } of due) {
        const r = await approvalRows.get(tx.sql, id);
        if (r?.status !== 'pending' || r.expires_at > iso) continue;
        await this.move(tx, { id }, 'expired', EXPIRED);
        n++;
      }
      return n;
    });
  }

  /**
   * After a device command of this approval finished: once none is queued or running, the approval is completed
   * (every command completed) or failed. A late result can turn failed into completed. Returns the new state, if any.
   */
  async rollUp(tx: Tx, approvalId: string): Promise<Approval | undefined> {
    const a = await this.get(approvalId, tx.sql);
    if (!a || (a.status !== 'running' && a.status !== 'failed')) return undefined;
    const counts = await approvalRows.commandCounts(tx.sql, approvalId);
    const statuses = Object.keys(counts);
    if (statuses.length === 0 || (counts.queued ?? 0) + (counts.running ?? 0) > 0) return undefined;
    const to: ApprovalStatus = statuses.every((s) => s === 'completed') ? 'completed' : 'failed';
    if (to === a.status) return undefined;
    return this.move(tx, a, to, { audit: { decision: to, outcome: to, rule: 'device_commands_finished', detail: { commands: counts } } });
  }

  /** Resolves with the approval once it leaves 'pending', or undefined after `ms` / on abort. */
  waitForDecision(id: string, ms: number, signal?: AbortSignal): Promise<Approval | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (a: Approval | undefined) => {
        if (settled) return;
        settled = true;
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
      void this.get(id).then((current) => {
        if (current && current.status !== 'pending') done(current);
      }, () => {});
    });
  }
}

const EXPIRED: TransitionFacts = { code: 'APPROVAL_EXPIRED', audit: { decision: 'expired', code: 'APPROVAL_EXPIRED', rule: 'ttl' } };

/** How the gate ends an approval whose stored request or plan no longer matches its binding. */
export function tamperedFacts(when: string): TransitionFacts {
  const reason = 'The stored request or plan was changed after it was made (its binding does not match); it was not run.';
  return { reason, code: 'TAMPERED', decidedBy: 'countersign', audit: { decision: 'rejected', code: 'TAMPERED', rule: 'approval_binding', outcome: `tampered (found at ${when})` } };
}

/** The list position just after an approval (see ApprovalLifecycle.list). */
export function pageCursor(a: Pick<Approval, 'createdAt' | 'id'>): string {
  return `${a.createdAt}/${a.id}`;
}

/** A cursor, or a bare ISO time (everything created before it: an id sorting before every uuid). */
function parseCursor(before: string | undefined): [string | null, string] {
  if (!before) return [null, ''];
  const slash = before.indexOf('/');
  return slash < 0 ? [before, ''] : [before.slice(0, slash), before.slice(slash + 1)];
}
