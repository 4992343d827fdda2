// The Gate: the only way to read or change fleet state. Every tool call, resource read and prompt, every approved
// execution, cancellation and agent result passes here. Two steps: decide (tier once, then scope, tenant, policy and
// budget) and run (the effect, its audit entry and the key's usage in one transaction).
import type { ApiKey } from '../auth/keys.ts';
import type { KeyService } from '../auth/keys.ts';
import type { AuditInput } from '../audit/log.ts';
import { AppError } from '../errors.ts';
import type { Store, Tx } from '../store/store.ts';
import { ReadOnlyViolation } from '../store/sql.ts';
import { Scope, tenantReader, tenantWriter, type Actor } from '../store/data/index.ts';
import { devicesTouchedWithoutApproval } from '../store/data/commands.ts';
import { budgetOf, type ReadContext, type ToolPlan, type ToolServices, type ToolSpec, type WriteContext } from '../tools/types.ts';
import type { ApprovalLifecycle, Approval } from './approvals.ts';
import { actionOf, bulkEscalation, effectiveTier, limitFor, refusalFor } from './decide.ts';
import type { PolicyService } from './policy.ts';
import type { Budgets } from './rateLimiter.ts';
import { canReach, type Tier } from './tiers.ts';
import { declaredSecretNames, type Secrets } from '../tools/secretParams.ts';
import { sealedSecrets } from '../store/data/sealedSecrets.ts';
import { Decisions, type ApproveOptions } from './decisions.ts';
import type { FourEyes } from './fourEyes.ts';
import type { Technician } from '../auth/technicians.ts';
import { gateTools } from './gateTools.ts';
import { finishCommand, type Outcome, type OutcomeSource } from './commandResults.ts';
import { Standing } from './standing.ts';
import { planTool } from './plans.ts';
import { withTicket } from './ticket.ts';

/** Who is calling, over which session; progress is present when the client sent a progressToken. */
export interface Caller {
  key: ApiKey;
  sessionId?: string;
  client?: { name: string; version?: string };
  remote?: string;
  progress?: (p: { progress: number; total?: number; message?: string }) => Promise<void>;
  /** MCP logging notifications to this client, filtered by its logging/setLevel. */
  log?: (level: 'info' | 'notice' | 'warning', data: unknown) => Promise<void>;
  signal?: AbortSignal;
  /**
   * How this client sees an approval, chosen by the MCP layer from what the client declared (a task, a URL
   * elicitation, or the pending result): recorded on the approval a call files and on its pending audit entry.
   */
  view?: string;
}

/**
 * How a call reached the gate: a tools/call, a resources/read that mirrors a read tool, a prompts/get, or a client's
 * view of an approval (tasks/get, a retried URL elicitation) reading or cancelling it through the gate's own tools.
 */
export type Via = { kind: 'tool' } | { kind: 'resource'; uri: string } | { kind: 'prompt' } | { kind: 'approval_view'; view: string; method: string };

export type GateResult =
  | { kind: 'ok'; value: Record<string, unknown> }
  | { kind: 'pending'; approval: Approval; created: boolean }
  | { kind: 'decided'; approval: Approval }
  | { kind: 'refused'; error: AppError };

/** A tool's listing for one key: what tools/list shows it (mcp/toolList.ts renders the protocol shape). */
export interface ToolListing {
  tool: ToolSpec;
  /** Actions this key can call (multiplexed tools), or undefined. */
  actions: string[] | undefined;
  tiers: Tier[];
  mayNeedApproval: boolean;
}

export interface GateDeps {
  store: Store;
  keys: KeyService;
  policy: PolicyService;
  limiter: Budgets;
  approvals: ApprovalLifecycle;
  /** Four-eyes rules and the approvals given so far; absent: every request needs one technician. */
  fourEyes?: FourEyes;
  tools: readonly ToolSpec[];
  services: ToolServices;
  log?: (msg: string, err?: unknown) => void;
}

/** Validation issues named in a refusal; the count says how many there were. */
const MAX_ISSUES = 10;

export class Gate {
  readonly tools = new Map<string, ToolSpec>();
  readonly d: GateDeps;
  /** The transaction behind a write context: only the gate's own tools (cancel_approval) reach it. */
  readonly txOf = new WeakMap<WriteContext, Tx>();

  /** The technician's decisions (approve, deny) and the requesting key's cancellation. */
  readonly decisions: Decisions;
  /** Grants and approved plans: tier-3 calls they cover run without a card. */
  readonly standing: Standing;

  constructor(d: GateDeps) {
    this.d = d;
    this.decisions = new Decisions(this);
    this.standing = new Standing(this);
    for (const t of [...d.tools.map(withTicket), planTool(this, this.standing.plans), ...gateTools(this, this.decisions)]) {
      if (this.tools.has(t.name)) throw new Error(`duplicate tool ${t.name}`);
      this.tools.set(t.name, t);
    }
  }

  /** `opts.by`: the signed-in technician (team mode); without one the actor is the install's single console admin. */
  approve(id: string, actor: string, opts?: ApproveOptions): Promise<Approval> {
    return this.decisions.approve(id, actor, opts);
  }

  deny(id: string, actor: string, reason: string, opts?: { viewedMs?: number; by?: Technician }): Promise<Approval> {
    return this.decisions.deny(id, actor, reason, opts);
  }

  /** A device command ended (agent result, refusal, lease expiry): recorded, audited, its approval rolled up. */
  finishCommand(commandId: string, deviceId: string, o: Outcome, src: OutcomeSource): Promise<boolean> {
    return finishCommand(this, commandId, deviceId, o, src);
  }

  catalogue(): ToolSpec[] {
    return [...this.tools.values()];
  }

  /** tools/list for a key: only what it can call now, with actions it cannot use left out. */
  listTools(key: ApiKey): ToolListing[] {
    const out: ToolListing[] = [];
    for (const tool of this.tools.values()) {
      const tierOf = (action?: string) => effectiveTier(tool, action, undefined, undefined, this.d.policy);
      const all = tool.actionField && tool.actionTiers ? Object.keys(tool.actionTiers) : undefined;
      const actions = all?.filter((a) => canReach(key.scopes, tierOf(a)));
      if (actions ? actions.length === 0 : !canReach(key.scopes, tierOf())) continue;
      const tiers = actions ? actions.map((a) => tierOf(a)) : [tierOf()];
      // A write can end in the queue through bulk escalation or a tenant-specific override, even at tier 2.
      const mayNeedApproval = tool.access === 'write' || tiers.some((t) => t >= 3) || (this.d.policy.maxOverrideTier(tool.name) ?? 1) >= 3;
      out.push({ tool, actions, tiers: [...new Set(tiers)].sort(), mayNeedApproval });
    }
    return out;
  }

  limitFor(key: ApiKey, budget: 'read' | 'write'): number {
    return limitFor(key, budget, this.d.policy.values);
  }

  async budgets(key: ApiKey) {
    const read = this.d.limiter.peek(`${key.id}:read`, this.limitFor(key, 'read'));
    const write = this.d.limiter.peek(`${key.id}:write`, this.limitFor(key, 'write'));
    // This process's limiter answers at once: no promises to make of its answers. A shared one answers both together.
    if (!(read instanceof Promise) && !(write instanceof Promise)) return { read, write };
    const [r, w] = await Promise.all([read, write]);
    return { read: r, write: w };
  }

  /** Spends one unit of a key's budget, or refuses. Refusals spend it too, so a flood of bad calls is throttled. */
  async throttle(key: ApiKey, budget: 'read' | 'write'): Promise<void> {
    const limit = this.limitFor(key, budget);
    const r = await this.d.limiter.take(`${key.id}:${budget}`, limit);
    if (!r.ok) throw new AppError('RATE_LIMITED', `This key's ${budget} budget (${limit}/min) is spent; retry in ${r.retryAfterSeconds} s.`, 'rate_limit', { retryAfterSeconds: r.retryAfterSeconds, budget });
  }

  readContext(key: ApiKey, tool: Pick<ToolSpec, 'access'>, now = new Date(), approvalId: string | null = null): ReadContext {
    const who: Actor = { keyId: key.id, approvalId, now };
    return { key, now, data: tenantReader(tool.access === 'read' ? this.d.store.readOnly : this.d.store.sql, key.tenants, who), services: this.d.services };
  }

  writeContext(tx: Tx, key: ApiKey, now: Date, approvalId: string | null, secrets?: Secrets): WriteContext {
    const ctx: WriteContext = {
      key, now, approvalId, services: this.d.services, afterCommit: (fn) => tx.afterCommit(fn),
      data: tenantWriter(tx.sql, this.d.store, key.tenants, { keyId: key.id, approvalId, now, secrets }),
    };
    this.txOf.set(ctx, tx);
    return ctx;
  }

  /**
   * A tool's arguments as they may be stored (audit, approval row, plan), with secret parameter values masked, and the
   * values apart. Unvalidated arguments (a refusal's) are masked too.
   */
  async storable(tool: ToolSpec | undefined, key: ApiKey, args: unknown): Promise<{ masked: unknown; secrets: Secrets }> {
    if (!tool?.secretArgs) return { masked: args, secrets: {} };
    const scripts = tenantReader(this.d.store.readOnly, key.tenants, { keyId: key.id, approvalId: null, now: new Date() }).scripts;
    return tool.secretArgs(args, { mask: this.d.store.vault.mask, libraryNames: async (id) => declaredSecretNames(await scripts.paramsJson(id)) });
  }

  /** The audit entry's common part for a caller. */
  auditBase(name: string, caller: Caller, via: Via): AuditInput {
    return {
      event: 'tool_call', decision: 'allowed', keyId: caller.key.id, keyName: caller.key.name, tool: name, sessionId: caller.sessionId ?? null,
      client: caller.client ? `${caller.client.name}${caller.client.version ? ` ${caller.client.version}` : ''}` : null, remote: caller.remote ?? null,
      detail: via.kind === 'tool' ? undefined : via,
    };
  }

  /** One call of a tool: decide, then run (or queue for approval), audited whatever the outcome. */
  async call(name: string, rawArgs: unknown, caller: Caller, via: Via = { kind: 'tool' }): Promise<GateResult> {
    const started = performance.now();
    const base = this.auditBase(name, caller, via);
    let tier: Tier | undefined;
    let plan: ToolPlan | undefined;
    let args: Record<string, unknown> | undefined;
    const tool = this.tools.get(name);
    try {
      // Throttling comes before validation: a refusal spends the key's budget like any call.
      await this.throttle(caller.key, tool ? budgetOf(tool) : 'read');
      if (!tool) throw new AppError('UNKNOWN_TOOL', `There is no tool '${name}'. Call tools/list for the tools this key can use.`, 'unknown_tool');
      const parsed = tool.input.safeParse(rawArgs ?? {});
      if (!parsed.success) {
        // Bounded: a huge or deeply wrong argument must not become a huge answer (or audit entry).
        const all = parsed.error.issues.map((i) => `${i.path.join('.').slice(0, 100) || '(arguments)'}: ${i.message.slice(0, 200)}`);
        const issues = all.slice(0, MAX_ISSUES);
        const more = all.length > MAX_ISSUES ? `; and ${all.length - MAX_ISSUES} more` : '';
        throw new AppError('INVALID_ARGUMENTS', `Invalid arguments for ${name}: ${issues.join('; ')}${more}.`, 'schema', { issues, issueCount: all.length });
      }
      // From here on only masks of secret parameter values exist: the values travel apart, into signed commands only.
      // Without secret parameters the arguments are stored as they are (storable's first case), without its promise.
      const { masked, secrets } = tool.secretArgs ? await this.storable(tool, caller.key, parsed.data) : { masked: parsed.data, secrets: {} };
      args = masked as Record<string, unknown>;
      const action = actionOf(tool, args);
      // Decide before planning: a call that cannot run never reads fleet data.
      tier = effectiveTier(tool, action, undefined, undefined, this.d.policy);
      const early = refusalFor(tool, tier, caller.key, action, this.d.policy);
      if (early) throw early;
      const now = new Date();
      const ctx = this.readContext(caller.key, tool, now);
      plan = await tool.plan(args, ctx);
      this.standing.record(base, tool, plan);
      // Only a write can escalate by bulk (bulkTier's first case): a read skips the call and its promise.
      const argTier = tool.access === 'write' ? await this.bulkTier(tool, plan, caller.key, now) : plan.argTier;
      tier = effectiveTier(tool, action, plan.tenant?.id, argTier, this.d.policy);
      const refused = refusalFor(tool, tier, caller.key, action, this.d.policy);
      if (refused) throw refused;
      if (tier === 3) return (await this.standing.cover(tool, args, secrets, plan, caller, base, started)) ?? await this.requestApproval(tool, args, secrets, plan, caller, base, started);
      const p = plan;
      const t = tier;
      const entry = (): AuditInput => ({ ...base, outcome: 'ok', tier: t, tenant: p.tenant?.slug ?? null, action: p.action ?? action ?? null, args, durationMs: performance.now() - started });
      let value: Record<string, unknown>;
      if (tool.access === 'read') {
        // A read runs outside the write transaction, over a handle that cannot write; its audit row is the only write.
        value = await tool.execute(args, ctx, p);
        await this.d.store.write((tx) => tx.audit(entry()), { oneWrite: true });
      } else {
        value = await this.d.store.write(async (tx) => {
          const result = await tool.execute(args!, this.writeContext(tx, caller.key, now, null, secrets), p);
          await tx.audit(entry());
          return result;
        });
      }
      return { kind: 'ok', value };
    } catch (e) {
      const stored = args ?? (await this.storable(tool, caller.key, rawArgs).catch(() => ({ masked: undefined }))).masked;
      return this.refuse(e, name, base, { tier, plan, args: stored, started, caller });
    }
  }

  /**
   * Bulk escalation over a window: the devices this call changes plus those the same key changed without approval
   * in the same tenant over the last bulkWindowMinutes; more than bulkDeviceThreshold makes it tier 3.
   */
  private async bulkTier(tool: ToolSpec, plan: ToolPlan, key: ApiKey, now: Date): Promise<Tier | undefined> {
    if (tool.access !== 'write' || !plan.deviceIds?.length || !plan.tenant) return plan.argTier;
    const { bulkDeviceThreshold: threshold, bulkWindowMinutes: minutes } = this.d.policy.values;
    const touched = minutes > 0
      ? await devicesTouchedWithoutApproval(this.d.store.sql, key.id, plan.tenant.id, new Date(now.getTime() - minutes * 60_000).toISOString())
      : new Set<string>();
    const bulk = bulkEscalation(touched, plan.deviceIds, threshold);
    if (!bulk.escalated) return plan.argTier;
    plan.detail.bulkEscalated = true;
    plan.detail.bulkWindow = { minutes, devices: bulk.devices, threshold, thisCall: plan.deviceIds.length };
    return 3;
  }

  /** Audits a refusal or failure (bounded by the audit writer) and turns it into the result the caller sees. */
  async refuse(e: unknown, name: string, base: AuditInput, c: { tier?: Tier; plan?: ToolPlan; args: unknown; started: number; caller: Caller }): Promise<GateResult> {
    const common = { tier: c.tier ?? null, tenant: c.plan?.tenant?.slug ?? null, action: c.plan?.action ?? null, args: c.args, durationMs: performance.now() - c.started };
    if (e instanceof AppError) {
      await this.d.store.write((tx) => tx.audit({
        ...base, ...common, decision: e.code === 'RATE_LIMITED' ? 'throttled' : 'denied', code: e.code, rule: e.rule, outcome: e.auditReason ?? e.message,
      }), { oneWrite: true }).catch((err: unknown) => this.d.log?.(`recording a refusal of ${name} failed`, err));
      await c.caller.log?.('warning', { tool: name, code: e.code, message: e.message }).catch(() => {});
      return { kind: 'refused', error: e };
    }
    this.d.log?.(`tool ${name} failed`, e);
    const defect = e instanceof ReadOnlyViolation ? ' (a read-only tool tried to write)' : '';
    const row = await this.d.store.write((tx) => tx.audit({ ...base, ...common, decision: 'failed', code: 'EXECUTION_FAILED', outcome: `${(e as Error).message}${defect}` }), { oneWrite: true })
      .catch(() => undefined);
    // The store itself is failing (disk full, read-only, I/O), whether or not this smaller entry still fit: say so plainly.
    if (!row || isStorageError(e)) {
      return { kind: 'refused', error: new AppError('EXECUTION_FAILED', `Countersign could not record this call (${(e as Error).message}); nothing was changed. Retry later; the technician must free disk space or fix the data directory.`) };
    }
    return { kind: 'refused', error: new AppError('EXECUTION_FAILED', `${name} failed on the server; nothing was changed. The technician can see audit entry ${row.seq}.`) };
  }

  private async requestApproval(tool: ToolSpec, args: Record<string, unknown>, secrets: Secrets, plan: ToolPlan, caller: Caller, base: AuditInput, started: number): Promise<GateResult> {
    // An approval is decided per tenant: a call spanning several must name one.
    const tenant = plan.tenant ?? (caller.key.tenants.length === 1 ? caller.key.tenants[0]! : undefined);
    if (!tenant) throw new AppError('INVALID_ARGUMENTS', `${tool.name} needs a technician's approval here, which is given per tenant: pass the tenant argument (one of ${caller.key.tenants.map((t) => t.slug).join(', ')}).`, 'single_tenant');
    const { approval, created } = await this.d.store.write(async (tx) => {
      const r = await this.d.approvals.request(tx, {
        key: caller.key, tenant, tool: tool.name, action: plan.action, args, summary: plan.summary,
        detail: caller.view ? { ...plan.detail, clientFlow: caller.view } : plan.detail, effect: plan.effect ?? null,
        client: caller.client, sessionId: caller.sessionId, ttlMinutes: this.d.policy.values.approvalTtlMinutes,
        approversRequired: this.d.fourEyes ? this.d.fourEyes.required(tool.name, plan.action, tenant.id) : 1,
      });
      // Secret parameter values are sealed with the approval (the row and its digest hold masks only).
      if (r.created && Object.keys(secrets).length) await sealedSecrets.put(tx.sql, r.approval.id, this.d.store.vault.seal(secrets));
      await tx.audit({ ...base, ...(caller.view ? { detail: { ...(base.detail as object | undefined), view: caller.view } } : {}), decision: 'pending', tier: 3, tenant: tenant.slug, action: plan.action ?? null, args, approvalId: r.approval.id,
        outcome: r.created ? 'approval requested' : 'identical request already pending', durationMs: performance.now() - started });
      return r;
    });
    await caller.log?.('notice', { tool: tool.name, approvalId: approval.id, status: 'pending_approval', expiresAt: approval.expiresAt, summary: approval.summary }).catch(() => {});
    const waitMs = this.d.policy.values.approvalWaitSeconds * 1000;
    if (caller.progress && waitMs > 0) {
      const decided = await this.waitWithProgress(approval, waitMs, caller);
      if (decided) return { kind: 'decided', approval: decided };
    }
    return { kind: 'pending', approval, created };
  }

  /** How long a held call waits between progress notifications (the policy's approvalProgressSeconds). */
  progressEveryMs(): number {
    return this.d.policy.values.approvalProgressSeconds * 1000;
  }

  private async waitWithProgress(a: Approval, waitMs: number, caller: Caller): Promise<Approval | undefined> {
    const until = Date.now() + waitMs;
    let step = 0;
    while (Date.now() < until && !caller.signal?.aborted) {
      await caller.progress!({ progress: step++, message: `Waiting for a technician to approve ${a.tool} (${a.id}); expires ${a.expiresAt}` }).catch(() => {});
      const d = await this.d.approvals.waitForDecision(a.id, Math.min(this.progressEveryMs(), until - Date.now()), caller.signal);
      if (d) return d;
    }
    return undefined;
  }

  /**
   * prompts/get: a read like any other. It spends the read budget, checks the tenant argument against the key, is
   * audited, and names only the tools the key can call now (render returns undefined when the prompt's first tool
   * is not among them).
   */
  async prompt<T>(name: string, tenant: unknown, caller: Caller, render: (available: ReadonlySet<string>, tenant: string | undefined) => T | undefined): Promise<{ kind: 'ok'; value: T } | { kind: 'refused'; error: AppError }> {
    const started = performance.now();
    const base = this.auditBase(name, caller, { kind: 'prompt' });
    try {
      await this.throttle(caller.key, 'read');
      if (tenant !== undefined && (typeof tenant !== 'string' || tenant.length < 2 || tenant.length > 40)) {
        throw new AppError('INVALID_ARGUMENTS', `Invalid arguments for prompt ${name}: tenant must be a tenant slug of 2-40 characters.`, 'schema');
      }
      const slug = tenant as string | undefined;
      const selected = new Scope(caller.key.tenants).select(slug);
      const available = new Set(this.listTools(caller.key).map((l) => l.tool.name));
      const value = render(available, slug);
      if (value === undefined) throw new AppError('NOT_FOUND', `Prompt ${name} is not available to this key: it needs tools this key cannot call.`, 'prompt_unavailable');
      await this.d.store.write((tx) => tx.audit({ ...base, outcome: 'ok', tier: 1, tenant: slug ? selected[0]!.slug : null, args: { tenant: slug }, durationMs: performance.now() - started }), { oneWrite: true });
      return { kind: 'ok', value };
    } catch (e) {
      const r = await this.refuse(e, name, base, { args: { tenant }, started, caller });
      return r.kind === 'refused' ? r : { kind: 'refused', error: new AppError('INTERNAL', 'prompt failed') };
    }
  }
}

/** SQLite refusing to store anything (as opposed to a tool's own failure). */
function isStorageError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code);
}
