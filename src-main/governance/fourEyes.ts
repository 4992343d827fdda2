// Four-eyes approval: a rule per tool, action, tier or tenant (unset = any) can require N distinct technicians to approve
// a request before it runs. The technician whose key asked never counts, a deny by anyone ends the request, and each
// approval given so far is a row of its own (approval_votes) bound by an HMAC under the install's binding key: an edit
// of the database cannot add an approver. The approval lifecycle's states are unchanged: the request stays pending
// until the last approver's decision moves it on.
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import { bindRecord, recordHolds } from './binding.ts';
import type { Sql } from '../store/sql.ts';
import type { Tx } from '../store/store.ts';

export interface ApprovalRule {
  id: string;
  tool: string | null;
  action: string | null;
  tier: 3 | null;
  tenantId: string | null;
  tenant: string | null;
  approvers: number;
  createdAt: string;
}

export interface Vote { technicianId: string; name: string; at: string }

/** What a card shows of it: how many must approve, who did, how many more are needed. */
export interface FourEyesState { required: number; approvedBy: { name: string; at: string }[]; needed: number }

interface VoteRow { approval_id: string; technician_id: string; technician_name: string; at: string; binding: string }

// A vote is a bound record: edited, copied to another request or forged in the database, it does not count.
const voteFields = (v: Omit<VoteRow, 'binding'>) => [v.approval_id, v.technician_id, v.technician_name, v.at];
const voteMac = (key: Buffer, v: Omit<VoteRow, 'binding'>) => bindRecord(key, 'vote', voteFields(v));
const holds = (key: Buffer, v: VoteRow) => recordHolds(key, 'vote', voteFields(v), v.binding);

/**
 * The rules are part of the governance policy (policy.ts, policyBinding.ts): read and verified with it, kept in memory,
 * changed in its bound transactions, so a rule deleted or lowered in the database shows as a policy that fails its
 * binding, and a running server keeps the rules it verified.
 */
export interface RulesPolicy {
  listApprovalRules(): ApprovalRule[];
  approversRequired(tool: string, action: string | undefined, tenantId: string): number;
  change<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export class FourEyes {
  private readonly key: Buffer;
  private readonly policy: RulesPolicy;
  constructor(bindingKey: Buffer, policy: RulesPolicy) {
    this.key = bindingKey;
    this.policy = policy;
  }

  async listRules(): Promise<ApprovalRule[]> {
    return this.policy.listApprovalRules();
  }

  /** Approvers a tier-3 request of this tool/action/tenant needs: the most any matching rule asks for, at least 1. */
  required(tool: string, action: string | undefined, tenantId: string): number {
    return this.policy.approversRequired(tool, action, tenantId);
  }

  /** Sets the rule for a scope (replacing one of the same scope); `replaces`: an edited rule, removed in the same change. */
  async setRule(r: { tool?: string | null; action?: string | null; tenantId?: string | null; approvers: number; replaces?: string }, actor: string): Promise<ApprovalRule> {
    if (!Number.isInteger(r.approvers) || r.approvers < 2 || r.approvers > 5) throw new AppError('BAD_INPUT', 'approvers: 2 to 5');
    const id = randomUUID();
    await this.policy.change(async (tx) => {
      if (r.replaces && !(await tx.sql.run('DELETE FROM approval_rules WHERE id = ?', [r.replaces])).changes) throw new AppError('NOT_FOUND', `no rule ${r.replaces}`);
      const same = await tx.sql.get<{ id: string }>(`SELECT id FROM approval_rules WHERE tool IS NOT DISTINCT FROM ? AND action IS NOT DISTINCT FROM ?
        AND tenant_id IS NOT DISTINCT FROM ?`, [r.tool ?? null, r.action ?? null, r.tenantId ?? null]);
      if (same) await tx.sql.run('DELETE FROM approval_rules WHERE id = ?', [same.id]);
      await tx.sql.run('INSERT INTO approval_rules (id, tool, action, tier, tenant_id, approvers, created_at) VALUES (?, ?, ?, 3, ?, ?, ?)',
        [id, r.tool ?? null, r.action ?? null, r.tenantId ?? null, r.approvers, new Date().toISOString()]);
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'four-eyes rule set', rule: actor, tool: r.tool ?? null, action: r.action ?? null, detail: { ...r, replaced: same?.id ?? null } });
    });
    return (await this.listRules()).find((x) => x.id === id)!;
  }

  async removeRule(id: string, actor: string): Promise<boolean> {
    return this.policy.change(async (tx) => {
      const r = await tx.sql.get<{ tool: string | null; action: string | null; approvers: number }>('SELECT tool, action, approvers FROM approval_rules WHERE id = ?', [id]);
      if (!r) return false;
      await tx.sql.run('DELETE FROM approval_rules WHERE id = ?', [id]);
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'four-eyes rule removed', rule: actor, tool: r.tool, action: r.action, detail: { id, approvers: r.approvers } });
      return true;
    });
  }

  /** The approvals given so far whose binding holds (an inserted or edited row counts for nothing), oldest first. */
  async votes(sql: Sql, approvalId: string): Promise<Vote[]> {
    const rows = await sql.all<VoteRow>('SELECT * FROM approval_votes WHERE approval_id = ? ORDER BY at, technician_id', [approvalId]);
    return rows.filter((v) => holds(this.key, v)).map((v) => ({ technicianId: v.technician_id, name: v.technician_name, at: v.at }));
  }

  async state(sql: Sql, approvalId: string, required: number): Promise<FourEyesState> {
    const votes = await this.votes(sql, approvalId);
    return { required, approvedBy: votes.map((v) => ({ name: v.name, at: v.at })), needed: Math.max(0, required - votes.length) };
  }

  /** Records one technician's approval inside tx; returns every valid approval given so far (this one included). */
  async vote(tx: Tx, approvalId: string, technician: { id: string; name: string }, required: number): Promise<Vote[]> {
    const before = await this.votes(tx.sql, approvalId);
    // Enough approvals already (a node stopped between the last one and the run): the request may still run.
    if (before.some((v) => v.technicianId === technician.id) && before.length >= required) return before;
    if (before.some((v) => v.technicianId === technician.id)) throw new AppError('CONFLICT', `${technician.name} already approved this request; it needs ${required - before.length} more technician(s)`);
    const row = { approval_id: approvalId, technician_id: technician.id, technician_name: technician.name, at: new Date().toISOString() };
    await tx.sql.run('INSERT INTO approval_votes (approval_id, technician_id, technician_name, at, binding) VALUES (?, ?, ?, ?, ?)',
      [row.approval_id, row.technician_id, row.technician_name, row.at, voteMac(this.key, row)]);
    return [...before, { technicianId: technician.id, name: technician.name, at: row.at }];
  }
}
