// The gate's tier-3 step before a card: the ticket the policy may require, the hidden-character flag on the record, and
// the standing approvals a call may run under without a card (the next step of an approved plan, then a live grant
// whose envelope holds the call's planned facts). Anything else gets its card, as before.
import type { AuditInput } from '../audit/log.ts';
import { requestFindings } from '../hiddenChars.ts';
import type { Secrets } from '../tools/secretParams.ts';
import type { ToolPlan, ToolSpec } from '../tools/types.ts';
import { ticketRefusal } from './decide.ts';
import { callFacts } from './envelope.ts';
import type { Caller, Gate, GateResult } from './gate.ts';
import { GrantService, type Grant } from './grants.ts';
import { PlanService, stepKey, type ActivePlan } from './plans.ts';
import { ticketOf } from './ticket.ts';

const rec = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** A grant or plan that stopped being usable between the check and the run: the call gets its card instead. */
const LAPSED = Symbol('lapsed');

export class Standing {
  readonly grants: GrantService;
  readonly plans: PlanService;
  private readonly gate: Gate;

  constructor(gate: Gate) {
    this.gate = gate;
    this.grants = new GrantService(gate);
    this.plans = new PlanService(gate);
  }

  private get d() {
    return this.gate.d;
  }

  /**
   * The planned facts of a write go into every audit entry of the call from here on (allowed, pending, refused), so
   * the policy simulator can replay it later without planning it again.
   */
  record(base: AuditInput, tool: ToolSpec, plan: ToolPlan): void {
    if (tool.access !== 'write') return;
    const facts = callFacts(tool.name, plan);
    if (facts) base.detail = { ...rec(base.detail), facts };
  }

  /**
   * A tier-3 call after the policy let it through: refused without a required ticket; otherwise run under the plan or
   * grant that covers it, or undefined (the caller files the approval). `args` hold masks of secret parameter values
   * (so they match a plan's step or a grant's envelope as stored); `secrets` are this call's values, for its commands.
   */
  async cover(tool: ToolSpec, args: Record<string, unknown>, secrets: Secrets, plan: ToolPlan, caller: Caller, base: AuditInput, started: number): Promise<GateResult | undefined> {
    const tenant = plan.tenant ?? (caller.key.tenants.length === 1 ? caller.key.tenants[0] : undefined);
    const ticketed = ticketRefusal(tool.name, tenant?.slug, !!ticketOf(args), this.d.policy.values);
    if (ticketed) throw ticketed;
    const text = requestFindings({ summary: plan.summary, detail: plan.detail, ticket: args.ticket });
    if (text.count) {
      const kinds: Record<string, number> = {};
      for (const f of text.findings) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
      // On the approval record (its detail is bound) and on every audit entry of the call.
      plan.detail.hiddenText = { count: text.count, kinds };
      base.detail = { ...rec(base.detail), hiddenText: { count: text.count, kinds } };
    }
    if (!plan.tenant) return undefined;
    // A four-eyes rule over this call wants its card: no plan or grant stands in for several technicians.
    if (this.d.fourEyes && this.d.fourEyes.required(tool.name, plan.action, plan.tenant.id) > 1) return undefined;
    // While the policy fails its binding, a four-eyes rule that would have kept this call from a plan or grant may have
    // been deleted: every tier-3 call gets its card.
    if (this.d.policy.unverified) return undefined;
    const key = stepKey(tool.name, args, plan);
    const active = await this.plans.active(this.d.store.sql, caller.key.id, plan.tenant.id);
    if (active) {
      if (this.plans.isNext(active, key)) {
        const r = await this.run(tool, args, secrets, plan, caller, base, started, { plan: active });
        if (r) return r;
      } else {
        const step = active.row.next_step + 1;
        await this.d.store.write((tx) => this.plans.stop(tx, active.row, `call ${tool.name}${plan.action ? ` (${plan.action})` : ''} is not step ${step} of ${active.row.step_count}`));
      }
    }
    if (text.count) return undefined;
    const facts = callFacts(tool.name, plan);
    const grant = facts && await this.grants.covering(this.d.store.sql, caller.key, plan.tenant.id, tool.name, plan.action ?? null, facts);
    return grant ? this.run(tool, args, secrets, plan, caller, base, started, { grant }) : undefined;
  }

  /** Runs the call without a card, counting it against its grant or plan in the same transaction as its audit entry. */
  private async run(tool: ToolSpec, args: Record<string, unknown>, secrets: Secrets, plan: ToolPlan, caller: Caller, base: AuditInput, started: number,
    by: { grant: Grant; plan?: undefined } | { plan: ActivePlan; grant?: undefined }): Promise<GateResult | undefined> {
    const now = new Date();
    const approvalId = by.plan?.approvalId ?? null;
    const under = by.grant
      ? { rule: 'grant', detail: { grantId: by.grant.id, grantUse: by.grant.uses + 1, grantMaxUses: by.grant.maxUses } }
      : { rule: 'plan', detail: { planId: by.plan!.row.id, planStep: by.plan!.row.next_step + 1, planSteps: by.plan!.row.step_count } };
    const entry = (): AuditInput => ({
      ...base, outcome: 'ok', tier: 3, tenant: plan.tenant?.slug ?? null, action: plan.action ?? null, args, approvalId, rule: under.rule,
      detail: { ...rec(base.detail), ...under.detail }, durationMs: performance.now() - started,
    });
    const take = async (tx: Parameters<Parameters<typeof this.d.store.write>[0]>[0]) => {
      const ok = by.grant ? await this.grants.use(tx, by.grant.id) : await this.plans.advance(tx, by.plan!);
      if (!ok) throw LAPSED;
    };
    try {
      let value: Record<string, unknown>;
      if (tool.access === 'read') {
        value = await tool.execute(args, this.gate.readContext(caller.key, tool, now, approvalId), plan);
        await this.d.store.write(async (tx) => {
          await take(tx);
          await tx.audit(entry());
        });
      } else {
        value = await this.d.store.write(async (tx) => {
          await take(tx);
          const result = await tool.execute(args, this.gate.writeContext(tx, caller.key, now, approvalId, secrets), plan);
          await tx.audit(entry());
          return result;
        });
      }
      return { kind: 'ok', value };
    } catch (e) {
      if (e === LAPSED) return undefined;
      throw e;
    }
  }
}
