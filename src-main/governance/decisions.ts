// The technician's decisions and what follows them, through the gate: an approval runs only if its binding holds,
// the policy in force would still allow it, and planning it again gives the identical effect; then the stored,
// verified plan runs in the transaction that records the decision.
import type { ApiKey } from '../auth/keys.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { canonicalJson } from '../store/canonical.ts';
import type { Tx } from '../store/store.ts';
import type { ToolPlan, ToolSpec } from '../tools/types.ts';
import { requestFindings } from '../hiddenChars.ts';
import { decisionTimes } from '../store/data/decisionTimes.ts';
import { tamperedFacts, type Approval } from './approvals.ts';
import { actionOf, effectiveTier, refusalFor, ticketRefusal } from './decide.ts';
import type { Gate } from './gate.ts';
import type { GrantDraft } from './grants.ts';
import { ticketOf } from './ticket.ts';
import { maxTier } from './tiers.ts';
import { sealedSecrets } from '../store/data/sealedSecrets.ts';
import { CAN, reaches, type Technician } from '../auth/technicians.ts';
import type { Vote } from './fourEyes.ts';

/** What the technician's approval carries besides the id. */
export interface ApproveOptions {
  /** How long the card was on screen before this decision (decision telemetry). */
  viewedMs?: number;
  /** The explicit second confirmation a request with hidden or look-alike characters needs. */
  confirmHiddenText?: boolean;
  /** The signed-in technician (team mode); without one the actor is the install's single console admin. */
  by?: Technician;
  /** "Approve and allow similar": a grant made from this card, in the transaction that approves it. */
  grant?: GrantDraft;
}

/** A decision's time on screen, recorded with the decision. */
async function recordTime(tx: Tx, a: Approval, decision: 'approved' | 'denied', actor: string, viewedMs: number | undefined): Promise<void> {
  await decisionTimes.record(tx.sql, { approvalId: a.id, decision, decidedAt: new Date().toISOString(), decidedBy: actor, viewedMs: viewedMs ?? null });
}

/** Why an approved request may not run after all: the gate ends it denied with this code, audited. */
class Stop extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export class Decisions {
  private readonly gate: Gate;
  constructor(gate: Gate) {
    this.gate = gate;
  }

  private get d() {
    return this.gate.d;
  }

  /**
   * The request, pending, for `by` to decide. Their rights are checked first: a technician learns nothing of a request
   * outside their tenants (not its state, not its text), a viewer nothing of whether it can still be decided, and
   * neither makes an expired one expire (a write).
   */
  private async decidable(id: string, by: Technician | undefined): Promise<Approval> {
    const a = await this.d.approvals.get(id);
    if (!a || (by && !reaches(by, a.tenantId))) throw new AppError('NOT_FOUND', `no approval ${id}`);
    if (by && !CAN.decide(by.role)) throw new AppError('FORBIDDEN', `${by.name} (${by.role}) may not decide requests`, 'technician_role');
    if (a.status === 'expired') {
      await this.d.approvals.expire(id);
      throw new AppError('GONE', `approval ${id} expired at ${a.expiresAt}`);
    }
    if (a.status !== 'pending') throw new AppError('CONFLICT', `approval ${id} is already ${a.status}`);
    return a;
  }

  /**
   * Approve: pending → approved → the stored plan runs once, in one transaction with its audit entries. When the
   * request can no longer run as shown (tampered, the policy changed, the plan changed) it ends denied instead, with
   * the code and reason the model reads from get_approval_status.
   */
  async approve(id: string, actor: string, opts: ApproveOptions = {}): Promise<Approval> {
    let a = await this.decidable(id, opts.by);
    const hidden = requestFindings({ summary: a.summary, detail: a.detail, ticket: a.args.ticket }).count;
    if (hidden > 0 && opts.confirmHiddenText !== true) {
      throw new AppError('CONFLICT', `This request contains ${hidden} invisible, bidirectional or look-alike character(s): what is shown may not be what runs. `
        + 'Approving it needs the explicit second confirmation (confirmHiddenText).', 'hidden_text');
    }
    await this.mayDecide(a, opts.by);
    const seen = { decision: 'approved' as const, viewedMs: opts.viewedMs };
    if (a.integrity === 'tampered') return this.end(a, 'denied', tamperedFacts(`approval by ${actor}`), actor, seen);
    // A grant that would cover more than the card is refused before anything is approved; so is one from a four-eyes
    // request (its similar calls would then run on one technician's word).
    if (opts.grant && a.approversRequired > 1) {
      throw new AppError('CONFLICT', `This request needs ${a.approversRequired} technicians to approve it; no grant can be made from it.`, 'grant');
    }
    if (opts.grant && !(await this.gate.standing.grants.offer(a))) {
      throw new AppError('CONFLICT', `No grant can be made from this request (${a.tool}); approve it without one.`, 'grant');
    }
    if (a.approversRequired > 1) {
      const given = await this.fourEyes(a, opts.by!);
      if (given.length < a.approversRequired) return (await this.d.approvals.get(a.id))!;
      // The last approval needed: the request runs now, decided by every technician who approved it.
      actor = given.map((v) => v.name).join(', ');
      a = await this.decidable(id, opts.by);
    }
    let prepared: { tool: ToolSpec; key: ApiKey; args: Record<string, unknown>; plan: ToolPlan };
    try {
      prepared = await this.recheck(a);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
      return this.end(a, 'denied', {
        reason: e.message, code: e.code, decidedBy: 'countersign',
        audit: { decision: 'rejected', code: e.code, rule: e.code === 'POLICY_CHANGED' ? 'policy_recheck' : 'plan_recheck', outcome: e.message, detail: { approvedBy: actor } },
      }, actor, seen);
    }
    const { tool, key, args, plan } = prepared;
    const now = new Date();
    const sealed = await sealedSecrets.get(this.d.store.sql, a.id);
    const secrets = sealed === undefined ? undefined : this.d.store.vault.unseal(sealed);
    const out = await this.d.store.write(async (tx) => {
      const grant = opts.grant ? await this.gate.standing.grants.fromApproval(tx, a, opts.grant, actor) : undefined;
      await this.d.approvals.move(tx, a, 'approved', {
        decidedBy: actor, audit: { decision: 'approved', rule: actor, detail: { viewedMs: opts.viewedMs ?? null, ...(grant ? { grantId: grant.id } : {}), ...(hidden ? { hiddenTextConfirmed: hidden } : {}) } },
      });
      await recordTime(tx, a, 'approved', actor, opts.viewedMs);
      const started = performance.now();
      let status: 'running' | 'completed' | 'failed';
      let result: unknown;
      try {
        // Its own savepoint: a tool that fails half-way leaves nothing behind; the decision and its audit entries still commit.
        result = await savepoint(tx, () => tool.execute(args, this.gate.writeContext(tx, key, now, a.id, secrets), plan));
        const queued = Array.isArray((result as { commands?: unknown }).commands) && (result as { commands: unknown[] }).commands.length > 0;
        status = queued ? 'running' : 'completed';
      } catch (e) {
        if (!(e instanceof AppError)) this.d.log?.(`approved ${a.tool} failed`, e);
        status = 'failed';
        result = e instanceof AppError ? { error: e.message, code: e.code } : { error: `internal error: ${(e as Error).message}` };
      }
      return this.d.approvals.move(tx, a, status, {
        result,
        audit: { event: 'execution', decision: status === 'failed' ? 'failed' : 'completed', outcome: status, args: a.args, durationMs: performance.now() - started, detail: { result } },
      });
    });
    return out;
  }

  /** The request as it would run now, or a Stop naming why it cannot. */
  private async recheck(a: Approval): Promise<{ tool: ToolSpec; key: ApiKey; args: Record<string, unknown>; plan: ToolPlan }> {
    const tool = this.gate.tools.get(a.tool);
    if (!tool) throw new Stop('POLICY_CHANGED', `${a.tool} is no longer offered by this installation; nothing ran.`);
    const key = await this.d.keys.current(a.keyId);
    const now = new Date();
    if (!key) throw new Stop('POLICY_CHANGED', 'The requesting key no longer exists; nothing ran.');
    if (key.revokedAt) throw new Stop('POLICY_CHANGED', `The requesting key was revoked at ${key.revokedAt}; nothing ran.`);
    if (key.expiresAt && key.expiresAt <= now.toISOString()) throw new Stop('POLICY_CHANGED', `The requesting key expired at ${key.expiresAt}; nothing ran.`);
    if (!key.tenants.some((t) => t.id === a.tenantId)) throw new Stop('POLICY_CHANGED', `The requesting key no longer reaches tenant ${a.tenant}; nothing ran.`);
    const parsed = tool.input.safeParse(a.args);
    if (!parsed.success) throw new Stop('POLICY_CHANGED', `The stored arguments no longer fit ${a.tool}'s schema; nothing ran.`);
    const args = parsed.data as Record<string, unknown>;
    const action = actionOf(tool, args);
    // It was tier 3 when requested (by its tool, an override or bulk escalation); it can only stay there or rise.
    const tier = maxTier(3, effectiveTier(tool, action, a.tenantId, undefined, this.d.policy));
    const refused = refusalFor(tool, tier, key, action, this.d.policy) ?? ticketRefusal(a.tool, a.tenant, !!ticketOf(args), this.d.policy.values);
    if (refused) throw new Stop('POLICY_CHANGED', `The policy in force now refuses this request: ${refused.message} Nothing ran.`);
    let fresh: ToolPlan;
    try {
      fresh = await tool.plan(args, this.gate.readContext(key, tool, now, a.id));
    } catch (e) {
      if (e instanceof AppError) throw new Stop('PLAN_CHANGED', `Planned again at approval, the request no longer holds: ${e.message} Nothing ran.`);
      throw e;
    }
    if (canonicalJson(fresh.effect ?? null) !== canonicalJson(a.effect ?? null)) {
      throw new Stop('PLAN_CHANGED', `What would run now differs from what the card showed (${describeChange(a.effect, fresh.effect)}); nothing ran. Ask again if still needed.`);
    }
    // Run the stored, verified plan: it is what the technician saw.
    const plan: ToolPlan = { tenant: key.tenants.find((t) => t.id === a.tenantId)!, action: a.action ?? undefined, summary: a.summary, detail: a.detail, effect: a.effect ?? undefined };
    return { tool, key, args, plan };
  }

  /**
   * A technician decides only requests of tenants they may act on, with a role that decides (both checked by
   * decidable), and never one their own key made. Without technician accounts (the single console passphrase) only
   * one-approver requests can be decided.
   */
  private async mayDecide(a: Approval, by: Technician | undefined): Promise<void> {
    if (!by) {
      if (a.approversRequired > 1) {
        throw new AppError('FORBIDDEN', `This request needs ${a.approversRequired} technicians to approve it: sign in with a technician account.`, 'four_eyes');
      }
      return;
    }
    const owner = (await this.d.keys.current(a.keyId))?.owner;
    if (owner?.id === by.id) throw new AppError('FORBIDDEN', `${by.name} asked for this with their own key and cannot approve it; another technician must`, 'four_eyes_requester');
  }

  /** Records by's approval of a four-eyes request (audited); returns every approval given so far. */
  private async fourEyes(a: Approval, by: Technician): Promise<Vote[]> {
    const rules = this.d.fourEyes;
    if (!rules) throw new AppError('FORBIDDEN', 'four-eyes approval is not available on this server', 'four_eyes');
    return this.d.store.write(async (tx) => {
      const current = await this.d.approvals.get(a.id, tx.sql);
      if (!current || current.status !== 'pending') throw new AppError('CONFLICT', `approval ${a.id} is already ${current?.status ?? 'gone'}`, 'approval_state');
      const given = await rules.vote(tx, a.id, by, a.approversRequired);
      await tx.audit({ event: 'approval', decision: 'info', code: 'FOUR_EYES', rule: by.name, keyId: a.keyId, keyName: a.keyName, tenant: a.tenant, tool: a.tool,
        action: a.action, tier: 3, approvalId: a.id, outcome: `approved by ${by.name}: ${given.length} of ${a.approversRequired}`,
        detail: { approvedBy: given.map((v) => v.name), required: a.approversRequired } });
      this.d.approvals.announceProgress(tx, a.id);
      return given;
    });
  }

  async deny(id: string, actor: string, reason: string, opts: { viewedMs?: number; by?: Technician } = {}): Promise<Approval> {
    const a = await this.decidable(id, opts.by);
    return this.end(a, 'denied', {
      reason, decidedBy: actor, audit: { decision: 'rejected', code: 'APPROVAL_DENIED', rule: actor, outcome: 'denied', detail: { reason, viewedMs: opts.viewedMs ?? null } },
    }, actor, { decision: 'denied', viewedMs: opts.viewedMs });
  }

  private end(a: Approval, to: 'denied', facts: Parameters<Gate['d']['approvals']['move']>[3], actor: string, seen: { decision: 'approved' | 'denied'; viewedMs?: number }): Promise<Approval> {
    return this.d.store.write(async (tx) => {
      const out = await this.d.approvals.move(tx, a, to, facts);
      await recordTime(tx, a, seen.decision, actor, seen.viewedMs);
      return out;
    });
  }

  /** The requesting key withdraws its own pending request (cancel_approval). */
  async cancel(tx: Tx, id: string, key: ApiKey): Promise<Approval> {
    const a = await this.d.approvals.get(id, tx.sql);
    if (!a || a.keyId !== key.id) throw new AppError('NOT_FOUND', `No approval '${id}' requested by this key.`, 'tenant_isolation');
    if (a.status !== 'pending') throw new AppError('CONFLICT', `approval ${id} is ${a.status}; only pending requests can be cancelled`, 'approval_state');
    return this.d.approvals.move(tx, a, 'cancelled', { audit: { decision: 'cancelled', rule: 'requesting key' } });
  }
}

function describeChange(before: Record<string, unknown> | null, after: Record<string, unknown> | undefined): string {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const changed = [...keys].filter((k) => canonicalJson(before?.[k] ?? null) !== canonicalJson(after?.[k] ?? null));
  return changed.length ? `changed: ${changed.join(', ')}` : 'the request predates bindings';
}

/** Runs fn in a nested savepoint of tx: its writes are undone alone if it throws. */
async function savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
  await tx.sql.run('SAVEPOINT execute');
  try {
    const v = await fn();
    await tx.sql.run('RELEASE execute');
    return v;
  } catch (e) {
    await tx.sql.run('ROLLBACK TO execute');
    await tx.sql.run('RELEASE execute');
    throw e;
  }
}
