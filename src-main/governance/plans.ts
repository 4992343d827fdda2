// Plans: one approval for a multi-step task. propose_plan carries the model's goal and an ordered list of exact calls;
// each step is planned with its own tool's plan, so the one card shows every step with the detail its own card would
// have. Once approved, each later call of the same key in the same tenant that matches the next step exactly (the same
// canonical effect) runs without a card; any other call that needs approval gets its own card and ends the plan.
// Plans expire closed.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ApiKey, Tenant } from '../auth/keys.ts';
import { AppError } from '../errors.ts';
import { requestFindings } from '../hiddenChars.ts';
import { canonicalJson } from '../store/canonical.ts';
import type { Sql } from '../store/sql.ts';
import type { Tx } from '../store/store.ts';
import { planRows, type PlanRow } from '../store/data/plans.ts';
import { writeTool, type ToolPlan, type ToolSpec } from '../tools/types.ts';
import { actionOf, effectiveTier, refusalFor, ticketRefusal } from './decide.ts';
import { digestOf } from './envelope.ts';
import type { Gate } from './gate.ts';
import { ticketOf, withTicket } from './ticket.ts';
import { KeysWithout } from './keysWithout.ts';

export const MAX_STEPS = 20;
/** Tools a plan may not contain: a plan inside a plan, and the gate's own bookkeeping. */
const NOT_A_STEP = new Set(['propose_plan', 'get_approval_status', 'cancel_approval', 'whoami']);

/** What a step must match: its canonical effect (or, for a tool without one, its validated arguments) and its hidden text. */
export interface StepKey {
  tool: string;
  action: string | null;
  effect: unknown;
  text: string;
}

const withoutTicket = (args: Record<string, unknown>) => {
  const { ticket: _t, ...rest } = args;
  return rest;
};

/** The key a call is matched on: the same function for a step when proposed and for each later call. */
export function stepKey(tool: string, args: Record<string, unknown>, plan: ToolPlan): StepKey {
  const text = requestFindings({ summary: plan.summary, detail: plan.detail, ticket: args.ticket }).findings.map((f) => [f.field, f.kind, f.codePoint]);
  return { tool, action: plan.action ?? null, effect: plan.effect ?? { arguments: withoutTicket(args) }, text: digestOf(text) };
}

const sameStep = (a: StepKey, b: StepKey) => canonicalJson(a) === canonicalJson(b);

export interface ActivePlan {
  row: PlanRow;
  approvalId: string;
  steps: StepKey[];
}

export interface PlanView {
  id: string; approvalId: string; keyId: string; keyName: string | null; tenant: string; goal: string; stepCount: number; nextStep: number;
  steps: { index: number; tool: string; action: string | null; summary: string; arguments: Record<string, unknown> }[];
  state: 'active' | 'completed' | 'stopped' | 'expired' | 'tampered'; createdAt: string; expiresAt: string; endedAt: string | null; endReason: string | null;
}

const rec = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const boundFields = (r: Pick<PlanRow, 'id' | 'approval_id' | 'key_id' | 'tenant_id' | 'step_count' | 'created_at' | 'expires_at'>) =>
  [r.id, r.approval_id, r.key_id, r.tenant_id, r.step_count, r.created_at, r.expires_at];

export class PlanService {
  private readonly gate: Gate;
  /** Keys with no active plan: most keys, asked on every whoami. */
  private readonly without: KeysWithout;
  constructor(gate: Gate) {
    this.gate = gate;
    this.without = new KeysWithout(() => gate.d.store.changes());
  }

  private get d() {
    return this.gate.d;
  }

  /** Starts the approved plan (in the approval's transaction); an older active plan of the key in the tenant ends. */
  async activate(tx: Tx, p: { approvalId: string; key: ApiKey; tenant: Tenant; stepCount: number; minutes: number; now: Date }): Promise<{ planId: string; expiresAt: string }> {
    const now = p.now.toISOString();
    const row = {
      id: randomUUID(), approval_id: p.approvalId, key_id: p.key.id, tenant_id: p.tenant.id, step_count: p.stepCount, created_at: now,
      expires_at: new Date(p.now.getTime() + p.minutes * 60_000).toISOString(),
    };
    for (const old of await planRows.active(tx.sql, p.key.id, p.tenant.id)) await this.stop(tx, old, `superseded by plan ${row.id}`);
    this.without.added(p.key.id);
    tx.afterCommit(() => this.without.added(p.key.id));
    await planRows.insert(tx.sql, { ...row, binding: this.d.approvals.seal('plan', boundFields(row)) });
    return { planId: row.id, expiresAt: row.expires_at };
  }

  /** The key's active, unexpired, verified plan in this tenant, with its approved steps. */
  async active(sql: Sql, keyId: string, tenantId: string): Promise<ActivePlan | undefined> {
    const now = new Date().toISOString();
    for (const row of await planRows.active(sql, keyId, tenantId)) {
      if (row.expires_at <= now || !this.d.approvals.sealHolds('plan', boundFields(row), row.binding)) continue;
      const steps = await this.stepsOf(row, sql);
      if (steps) return { row, approvalId: row.approval_id, steps };
    }
    return undefined;
  }

  /** The steps an approved, verified plan approval holds, or undefined. */
  private async stepsOf(row: PlanRow, sql: Sql): Promise<StepKey[] | undefined> {
    const a = await this.d.approvals.get(row.approval_id, sql);
    if (!a || a.integrity !== 'verified' || a.tool !== 'propose_plan' || a.keyId !== row.key_id || a.tenantId !== row.tenant_id) return undefined;
    if (a.status !== 'completed' && a.status !== 'approved') return undefined;
    const steps = Array.isArray(a.effect?.steps) ? (a.effect.steps as unknown[]).map(rec) : [];
    if (steps.length !== row.step_count) return undefined;
    return steps.map((s) => ({ tool: String(s.tool), action: typeof s.action === 'string' ? s.action : null, effect: s.effect ?? null, text: String(s.text) }));
  }

  /** Whether this call is the plan's next step. */
  isNext(p: ActivePlan, call: StepKey): boolean {
    const next = p.steps[p.row.next_step];
    return next !== undefined && sameStep(next, call);
  }

  /** Takes the next step in tx; false when another call took it or the plan ended meanwhile. */
  advance(tx: Tx, p: ActivePlan): Promise<boolean> {
    return planRows.advance(tx.sql, p.row.id, p.row.next_step, new Date().toISOString());
  }

  /** Ends a plan (a deviating call, a newer plan, the console), audited in tx. */
  async stop(tx: Tx, row: PlanRow, reason: string, actor = 'countersign'): Promise<boolean> {
    if (!(await planRows.stop(tx.sql, row.id, new Date().toISOString(), reason))) return false;
    await tx.audit({
      event: 'approval', decision: 'info', outcome: `plan stopped: ${reason}`, rule: actor, keyId: row.key_id, keyName: row.key_name, tenant: row.tenant_slug,
      tool: 'propose_plan', tier: 3, approvalId: row.approval_id, detail: { planId: row.id, stepsDone: row.next_step, stepCount: row.step_count },
    });
    return true;
  }

  /** The console's Stop: ends an active plan at once. `sees`: the tenants the actor may act on. */
  async stopById(id: string, actor: string, sees: (tenantId: string) => boolean = () => true): Promise<PlanView> {
    return this.d.store.write(async (tx) => {
      const row = await planRows.get(tx.sql, id);
      if (!row || !sees(row.tenant_id)) throw new AppError('NOT_FOUND', `no plan ${id}`);
      if (!(await this.stop(tx, row, `stopped by ${actor}`, actor))) throw new AppError('CONFLICT', `plan ${id} is already ${row.status}`);
      return (await this.view((await planRows.get(tx.sql, id))!, tx.sql));
    });
  }

  async view(row: PlanRow, sql: Sql = this.d.store.sql): Promise<PlanView> {
    const now = new Date().toISOString();
    const a = await this.d.approvals.get(row.approval_id, sql);
    const d = rec(a?.detail);
    const steps = (Array.isArray(d.steps) ? d.steps.map(rec) : []).map((s, i) => ({
      index: i + 1, tool: String(s.tool ?? ''), action: typeof s.action === 'string' ? s.action : null, summary: String(s.summary ?? ''), arguments: rec(s.arguments),
    }));
    const verified = !!a && a.integrity === 'verified' && this.d.approvals.sealHolds('plan', boundFields(row), row.binding);
    const state = !verified ? 'tampered' : row.status === 'active' && row.expires_at <= now ? 'expired' : row.status;
    return {
      id: row.id, approvalId: row.approval_id, keyId: row.key_id, keyName: row.key_name, tenant: row.tenant_slug, goal: String(d.goal ?? ''),
      stepCount: row.step_count, nextStep: row.next_step, steps, state, createdAt: row.created_at, expiresAt: row.expires_at, endedAt: row.ended_at, endReason: row.end_reason,
    };
  }

  async list(o: { live?: boolean; limit?: number; tenantIds?: readonly string[] } = {}): Promise<PlanView[]> {
    const rows = await planRows.list(this.d.store.sql, { live: o.live ?? false, now: new Date().toISOString(), limit: o.limit ?? 100, tenantIds: o.tenantIds });
    return Promise.all(rows.map((r) => this.view(r)));
  }

  async ofKey(keyId: string): Promise<PlanView[]> {
    const rows = await this.without.rows(keyId, () => planRows.activeOfKey(this.d.store.sql, keyId, new Date().toISOString()));
    if (rows.length === 0) return [];
    return (await Promise.all(rows.map((r) => this.view(r)))).filter((v) => v.state === 'active');
  }
}

const Step = z.strictObject({
  tool: z.string().min(1).max(100).describe('A tool of this server that needs approval (tier 3), e.g. run_script.'),
  arguments: z.record(z.string(), z.unknown()).default({}).describe('Its exact arguments, as you will call it.'),
});

/** propose_plan: a gate tool, because it plans other tools' calls and starts a plan the gate then matches calls against. */
export function planTool(gate: Gate, plans: PlanService): ToolSpec {
  const stepLabel = (i: number, tool: string) => `steps[${i}] (${tool})`;
  return withTicket(writeTool({
    name: 'propose_plan',
    title: 'Propose a plan',
    description: 'Ask once for a multi-step task: your goal and the ordered tool calls (exact arguments) that need a technician\'s approval. '
      + 'The technician sees every step on one card and approves or denies the whole plan. Once approved (get_approval_status), make each call '
      + 'exactly as proposed, in order: each runs at once without another card. A different call gets its own card and ends the plan. '
      + 'The plan expires after expiresInMinutes.',
    input: z.object({
      goal: z.string().trim().min(1).max(1000).describe('What the plan achieves and why, for the technician.'),
      steps: z.array(Step).min(1).max(MAX_STEPS).describe(`1-${MAX_STEPS} calls, in the order you will make them; all in one tenant.`),
      expiresInMinutes: z.number().int().min(5).max(24 * 60).default(120).describe('How long the approved plan stays usable (5-1440 minutes).'),
    }),
    output: z.object({
      planId: z.string(), status: z.literal('active'), stepCount: z.number().int(), expiresAt: z.string(),
      steps: z.array(z.object({ index: z.number().int(), tool: z.string(), action: z.string().nullable(), summary: z.string() })),
      next: z.object({ tool: z.string(), arguments: z.record(z.string(), z.unknown()) }).describe('The first call to make.'),
      message: z.string(),
    }),
    baseTier: 3,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    // Each step's secret parameter values are masked as its own tool masks them, so the stored plan holds no value and a
    // step matches its later (masked) call. The values are not kept: each step's own call brings them again.
    async secretArgs(args, m) {
      const raw = rec(args);
      if (!Array.isArray(raw.steps)) return { masked: args, secrets: {} };
      let changed = false;
      const steps = await Promise.all(raw.steps.map(async (s: unknown) => {
        const step = rec(s);
        const tool = typeof step.tool === 'string' ? gate.tools.get(step.tool) : undefined;
        if (!tool?.secretArgs) return s;
        const { masked, secrets } = await tool.secretArgs(step.arguments, m);
        if (!Object.keys(secrets).length) return s;
        changed = true;
        return { ...step, arguments: masked };
      }));
      return { masked: changed ? { ...raw, steps } : args, secrets: {} };
    },
    async plan(args, ctx) {
      const policy = gate.d.policy;
      let tenant: Tenant | null = null;
      const steps: Record<string, unknown>[] = [];
      for (const [i, s] of args.steps.entries()) {
        const label = stepLabel(i, s.tool);
        const tool = gate.tools.get(s.tool);
        if (!tool || NOT_A_STEP.has(s.tool)) throw new AppError('INVALID_ARGUMENTS', `${label}: ${tool ? 'cannot be a step of a plan' : 'there is no such tool'}.`, 'plan_step');
        const parsed = tool.input.safeParse(s.arguments);
        if (!parsed.success) {
          const issues = parsed.error.issues.map((x) => `steps.${i}.arguments.${x.path.join('.') || '(arguments)'}: ${x.message}`);
          throw new AppError('INVALID_ARGUMENTS', `Invalid arguments for ${label}: ${issues.join('; ')}.`, 'schema', { issues });
        }
        const stepArgs = parsed.data as Record<string, unknown>;
        const action = actionOf(tool, stepArgs);
        const early = refusalFor(tool, effectiveTier(tool, action, undefined, undefined, policy), ctx.key, action, policy);
        if (early) throw new AppError(early.code, `${label}: ${early.message}`, early.rule, early.extra);
        let p: ToolPlan;
        try {
          p = await tool.plan(stepArgs as never, gate.readContext(ctx.key, tool, ctx.now));
        } catch (e) {
          if (e instanceof AppError) throw new AppError(e.code, `${label}: ${e.message}`, e.rule, e.extra, e.auditReason);
          throw e;
        }
        const tier = effectiveTier(tool, action, p.tenant?.id, p.argTier, policy);
        const refused = refusalFor(tool, tier, ctx.key, action, policy);
        if (refused) throw new AppError(refused.code, `${label}: ${refused.message}`, refused.rule, refused.extra);
        if (tier < 3) throw new AppError('INVALID_ARGUMENTS', `${label} is tier ${tier}: it runs without approval, so it is not part of a plan; call it directly.`, 'plan_step');
        if (!p.tenant) throw new AppError('INVALID_ARGUMENTS', `${label} names no tenant; a plan is approved per tenant.`, 'single_tenant');
        if (tenant && tenant.id !== p.tenant.id) throw new AppError('INVALID_ARGUMENTS', `${label} is in tenant ${p.tenant.slug}; the plan's first step is in ${tenant.slug}. A plan is approved per tenant.`, 'single_tenant');
        tenant = p.tenant;
        const ticket = ticketRefusal(tool.name, p.tenant.slug, !!ticketOf(stepArgs), policy.values);
        if (ticket) throw new AppError(ticket.code, `${label}: ${ticket.message}`, ticket.rule, ticket.extra);
        const key = stepKey(tool.name, stepArgs, p);
        steps.push({ index: i + 1, tool: tool.name, action: key.action, arguments: stepArgs, summary: p.summary, detail: p.detail, effect: key.effect, text: key.text });
      }
      const summary = `plan of ${steps.length} step(s) in ${tenant!.slug}: ${args.goal.length > 160 ? `${args.goal.slice(0, 160)}…` : args.goal}`;
      return {
        tenant,
        summary,
        detail: { goal: args.goal, expiresInMinutes: args.expiresInMinutes, stepCount: steps.length, steps },
        effect: { expiresInMinutes: args.expiresInMinutes, steps: steps.map((s) => ({ tool: s.tool, action: s.action, effect: s.effect, text: s.text })) },
      };
    },
    async execute(args, ctx, plan) {
      const tx = gate.txOf.get(ctx);
      if (!tx || !ctx.approvalId) throw new AppError('CONFLICT', 'A plan starts only when a technician approves it.', 'plan');
      const steps = (plan.detail.steps as Record<string, unknown>[]);
      const { planId, expiresAt } = await plans.activate(tx, { approvalId: ctx.approvalId, key: ctx.key, tenant: plan.tenant!, stepCount: steps.length, minutes: args.expiresInMinutes, now: ctx.now });
      const first = steps[0]!;
      return {
        planId, status: 'active' as const, stepCount: steps.length, expiresAt,
        steps: steps.map((s) => ({ index: Number(s.index), tool: String(s.tool), action: (s.action as string | null) ?? null, summary: String(s.summary) })),
        next: { tool: String(first.tool), arguments: rec(first.arguments) },
        message: `Plan approved: make the ${steps.length} call(s) exactly as proposed, in order, before ${expiresAt}. Each runs without another card; a different call gets its own card and ends the plan.`,
      };
    },
  }) as unknown as ToolSpec);
}
