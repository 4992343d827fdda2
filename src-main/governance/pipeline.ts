import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Db } from '../store/db.ts';
import { auditLogFor, type AuditInput } from '../audit/log.ts';
import type { ApiKey, KeyService } from '../auth/keys.ts';
import { ToolDenial, type DenialCode, type ToolContext, type ToolPlan, type ToolServices, type ToolSpec } from '../tools/types.ts';
import { createTenantScope } from './scope.ts';
import { canReach, highestTier, maxTier, SCOPE_FOR_TIER, type Tier } from './tiers.ts';
import type { PolicyService } from './policy.ts';
import type { RateLimiter } from './rateLimiter.ts';
import type { Approval, ApprovalService } from './approvals.ts';
import { inputJsonSchema, outputJsonSchema, withActions } from '../mcp/toolSchemas.ts';
import { asText } from '../tools/common.ts';
import type { GroupCommit } from '../store/groupCommit.ts';
import { approvalSecrets, storeApprovalSecrets } from '../tools/secretParams.ts';

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
}

export interface GovernanceDeps {
  db: Db;
  keys: KeyService;
  policy: PolicyService;
  limiter: RateLimiter;
  approvals: ApprovalService;
  tools: ToolSpec[];
  services: ToolServices;
  /** Every write of a call (state change, audit entry, key usage) commits through here, grouped. */
  commits: GroupCommit;
  log?: (msg: string, err?: unknown) => void;
}

const PROGRESS_EVERY_MS = 5_000;

/** The one pipeline every tools/call passes: validate → tier → scope → tenant → policy → rate → run | queue. */
export class Governance {
  private readonly tools = new Map<string, ToolSpec>();

  private readonly d: GovernanceDeps;
  constructor(d: GovernanceDeps) {
    this.d = d;
    for (const t of d.tools) {
      if (this.tools.has(t.name)) throw new Error(`duplicate tool ${t.name}`);
      this.tools.set(t.name, t);
    }
    d.approvals.setExecutor((a) => this.executeApproved(a));
  }

  toolNames(): string[] {
    return [...this.tools.keys()];
  }

  /** tools/list for a key: only what it can call, with actions it cannot use removed from the enum. */
  listTools(key: ApiKey): Tool[] {
    const out: Tool[] = [];
    for (const tool of this.tools.values()) {
      const actions = tool.actionField && tool.actionTiers ? Object.keys(tool.actionTiers) : undefined;
      const toolTier = (action?: string) => maxTier(tool.baseTier, action ? tool.actionTiers?.[action] : undefined, this.d.policy.overrideTier(tool.name, action, undefined));
      let input = inputJsonSchema(tool);
      let tiers: Tier[];
      if (actions) {
        const allowed = actions.filter((a) => canReach(key.scopes, toolTier(a)));
        if (allowed.length === 0) continue;
        input = withActions(input, tool.actionField!, allowed);
        tiers = allowed.map((a) => toolTier(a));
      } else {
        if (!canReach(key.scopes, toolTier())) continue;
        tiers = [toolTier()];
      }
      const mayNeedApproval = tool.budget === 'write' || tiers.some((t) => t >= 3) || (this.d.policy.maxOverrideTier(tool.name) ?? 1) >= 3;
      const approvalNote = tiers.some((t) => t === 3) ? ' Tier 3 calls return {status:"pending_approval", approvalId} at once: a technician decides; poll get_approval_status.' : '';
      out.push({
        name: tool.name,
        title: tool.title,
        description: `${tool.description}${approvalNote}`,
        inputSchema: input as Tool['inputSchema'],
        outputSchema: outputJsonSchema(tool, mayNeedApproval) as Tool['outputSchema'],
        annotations: { title: tool.title, ...tool.annotations },
        _meta: { 'countersign/tiers': [...new Set(tiers)].sort() },
      });
    }
    return out;
  }

  context(key: ApiKey, approvalId?: string): ToolContext {
    return { db: this.d.db, key, scope: createTenantScope(this.d.db, key.tenants), now: new Date(), services: this.d.services, approvalId };
  }

  async call(name: string, rawArgs: unknown, caller: Caller): Promise<CallToolResult> {
    const started = performance.now();
    const base: AuditInput = {
      event: 'tool_call', decision: 'allowed', keyId: caller.key.id, keyName: caller.key.name, tool: name, sessionId: caller.sessionId ?? null,
      client: caller.client ? `${caller.client.name}${caller.client.version ? ` ${caller.client.version}` : ''}` : null, remote: caller.remote ?? null,
    };
    const audit = auditLogFor(this.d.db);
    // What the audit log and the approval row may hold: secret parameter values masked (tools/secretParams.ts).
    const secretArgs = this.tools.get(name)?.secretArgs;
    const storable = (a: unknown) => (secretArgs ? secretArgs(this.d.db, a) : { masked: a, secrets: {} });
    let tier: Tier | undefined;
    let plan: ToolPlan | undefined;
    let args: Record<string, unknown> | undefined;
    try {
      const tool = this.tools.get(name);
      if (!tool) throw new ToolDenial('UNKNOWN_TOOL', `There is no tool '${name}'. Call tools/list for the tools this key can use.`, 'unknown_tool');
      const parsed = tool.input.safeParse(rawArgs ?? {});
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`);
        throw new ToolDenial('INVALID_ARGUMENTS', `Invalid arguments for ${name}: ${issues.join('; ')}.`, 'schema', { issues });
      }
      args = parsed.data as Record<string, unknown>;
      const action = tool.actionField ? String(args[tool.actionField]) : undefined;
      tier = maxTier(tool.baseTier, action ? tool.actionTiers?.[action] : undefined, this.d.policy.overrideTier(name, action, undefined));
      this.gate(tool, tier, caller.key, action);
      this.throttle(tool, caller.key);
      const ctx = this.context(caller.key);
      ctx.secrets = storable(args).secrets;
      plan = tool.plan(args, ctx);
      tier = maxTier(tier, plan.argTier, this.d.policy.overrideTier(name, action, plan.tenant?.id));
      this.gate(tool, tier, caller.key, action);
      if (tier === 3) return await this.requestApproval(tool, args, plan, caller, base, started);
      const p = plan;
      const t = tier;
      // A read-only tool writes nothing itself (test/server/catalogue.test.ts holds every one to that): its audit
      // row is the item's only write, so the item needs no savepoint.
      const result = await this.d.commits.run(() => {
        const structured = tool.execute(args!, ctx, p);
        audit.append({ ...base, decision: 'allowed', outcome: 'ok', tier: t, tenant: p.tenant?.slug ?? null, action: p.action ?? action ?? null, args: storable(args).masked, durationMs: performance.now() - started });
        this.d.keys.noteUse(caller.key.id);
        return structured;
      }, { oneWrite: t === 1 && tool.annotations.readOnlyHint });
      return { content: [{ type: 'text', text: asText(result) }], structuredContent: result as Record<string, unknown> };
    } catch (e) {
      if (e instanceof ToolDenial) {
        await this.d.commits.run(() => audit.append({
          ...base, decision: e.code === 'RATE_LIMITED' ? 'throttled' : 'denied', code: e.code, rule: e.rule, tier: tier ?? null,
          tenant: plan?.tenant?.slug ?? null, action: plan?.action ?? null, args: storable(args ?? rawArgs).masked, outcome: e.auditReason ?? e.message, durationMs: performance.now() - started,
        }), { oneWrite: true });
        await caller.log?.('warning', { tool: name, code: e.code, message: e.message }).catch(() => {});
        return denialResult(e.code, e.message, e.extra);
      }
      this.d.log?.(`tool ${name} failed`, e);
      const row = await this.d.commits.run(() => audit.append({ ...base, decision: 'failed', code: 'EXECUTION_FAILED', tier: tier ?? null, tenant: plan?.tenant?.slug ?? null, args: storable(args).masked, outcome: (e as Error).message, durationMs: performance.now() - started }), { oneWrite: true })
        .catch(() => undefined);
      // The store itself is failing (disk full, read-only, I/O), whether or not this smaller entry still fit: say so plainly.
      if (!row || isStorageError(e)) return denialResult('EXECUTION_FAILED', `Countersign could not record this call (${(e as Error).message}); nothing was changed. Retry later; the technician must free disk space or fix the data directory.`);
      return denialResult('EXECUTION_FAILED', `${name} failed on the server; nothing was changed. The technician can see audit entry ${row.seq}.`);
    }
  }

  private gate(tool: ToolSpec, tier: Tier, key: ApiKey, action: string | undefined): void {
    const what = action ? `${tool.name} (${action})` : tool.name;
    if (tier === 4) throw new ToolDenial('TIER4_BLOCKED', `${what} is tier 4: Countersign never runs it, at any scope. Ask the technician to do it by hand.`, 'tier4');
    if (!canReach(key.scopes, tier)) {
      const need = SCOPE_FOR_TIER[tier as 1 | 2 | 3];
      throw new ToolDenial('SCOPE_DENIED', `${what} is tier ${tier} and needs scope ${need}; this key has ${key.scopes.join(', ')} (up to tier ${highestTier(key.scopes)}).`, 'scope', { requiredScope: need, tier });
    }
    if (tier === 3) {
      const policy = this.d.policy.values;
      if (policy.requireExecuteAdmin && key.role !== 'admin') {
        throw new ToolDenial('EXECUTE_ADMIN_REQUIRED', `${what} is tier 3 and this installation requires an admin-role key for tier 3; this key is '${key.role}'.`, 'require_execute_admin');
      }
      if (policy.executeAllowlist && !policy.executeAllowlist.includes(tool.name)) {
        throw new ToolDenial('NOT_ALLOWLISTED', `${tool.name} is not on the execute allowlist of this installation (${policy.executeAllowlist.join(', ') || 'empty'}).`, 'execute_allowlist');
      }
    }
  }

  private throttle(tool: ToolSpec, key: ApiKey): void {
    const budget = budgetOf(tool);
    const limit = this.limitFor(key, budget);
    const r = this.d.limiter.take(`${key.id}:${budget}`, limit);
    if (!r.ok) {
      throw new ToolDenial('RATE_LIMITED', `This key's ${budget} budget (${limit}/min) is spent; retry in ${r.retryAfterSeconds} s.`, 'rate_limit', { retryAfterSeconds: r.retryAfterSeconds, budget });
    }
  }

  limitFor(key: ApiKey, budget: 'read' | 'write'): number {
    const p = this.d.policy.values;
    return budget === 'read' ? key.readPerMinute ?? p.defaultReadPerMinute : key.writePerMinute ?? p.defaultWritePerMinute;
  }

  budgets(key: ApiKey) {
    return {
      read: this.d.limiter.peek(`${key.id}:read`, this.limitFor(key, 'read')),
      write: this.d.limiter.peek(`${key.id}:write`, this.limitFor(key, 'write')),
    };
  }

  private async requestApproval(tool: ToolSpec, args: Record<string, unknown>, plan: ToolPlan, caller: Caller, base: AuditInput, started: number): Promise<CallToolResult> {
    // An approval is decided per tenant: a call spanning several must name one.
    const tenant = plan.tenant ?? (caller.key.tenants.length === 1 ? caller.key.tenants[0]! : undefined);
    if (!tenant) throw new ToolDenial('INVALID_ARGUMENTS', `${tool.name} needs a technician's approval here, which is given per tenant: pass the tenant argument (one of ${caller.key.tenants.map((t) => t.slug).join(', ')}).`, 'single_tenant');
    // The approval row, its digest and the audit entry hold masked secret values; the values are sealed with the approval.
    const { masked, secrets } = tool.secretArgs ? tool.secretArgs(this.d.db, args) : { masked: args, secrets: {} };
    const { approval, created } = await this.d.commits.run(() => {
      const r = this.d.approvals.request({
        key: caller.key, tenant, tool: tool.name, action: plan.action, args: masked as Record<string, unknown>, summary: plan.summary, detail: plan.detail,
        client: caller.client, sessionId: caller.sessionId, ttlMinutes: this.d.policy.values.approvalTtlMinutes,
      });
      if (r.created) storeApprovalSecrets(this.d.db, r.approval.id, secrets);
      auditLogFor(this.d.db).append({ ...base, decision: 'pending', tier: 3, tenant: tenant.slug, action: plan.action ?? null, args: masked, approvalId: r.approval.id,
        outcome: r.created ? 'approval requested' : 'identical request already pending', durationMs: performance.now() - started });
      this.d.keys.noteUse(caller.key.id);
      return r;
    });
    await caller.log?.('notice', { tool: tool.name, approvalId: approval.id, status: 'pending_approval', expiresAt: approval.expiresAt, summary: approval.summary }).catch(() => {});
    const waitMs = this.d.policy.values.approvalWaitSeconds * 1000;
    if (caller.progress && waitMs > 0) {
      const decided = await this.waitWithProgress(approval, waitMs, caller);
      if (decided) return this.outcome(decided);
    }
    return pendingResult(approval, created);
  }

  private async waitWithProgress(a: Approval, waitMs: number, caller: Caller): Promise<Approval | undefined> {
    const until = Date.now() + waitMs;
    let step = 0;
    while (Date.now() < until && !caller.signal?.aborted) {
      await caller.progress!({ progress: step++, message: `Waiting for a technician to approve ${a.tool} (${a.id}); expires ${a.expiresAt}` }).catch(() => {});
      const d = await this.d.approvals.waitForDecision(a.id, Math.min(PROGRESS_EVERY_MS, until - Date.now()), caller.signal);
      if (d) return d;
    }
    return undefined;
  }

  /** The model-facing result of a decided approval (the held call, or get_approval_status). */
  outcome(a: Approval): CallToolResult {
    if (a.status === 'denied') return denialResult('APPROVAL_DENIED', `The technician denied ${a.tool}: ${a.reason ?? 'no reason given'}`, { approvalId: a.id, reason: a.reason });
    if (a.status === 'expired') return denialResult('APPROVAL_EXPIRED', `Approval ${a.id} expired at ${a.expiresAt} without a decision; nothing ran. Ask again if still needed.`, { approvalId: a.id });
    if (a.status === 'cancelled') return denialResult('APPROVAL_DENIED', `Approval ${a.id} was cancelled by the requesting key; nothing ran.`, { approvalId: a.id });
    if (a.status === 'failed') return denialResult('EXECUTION_FAILED', `Approved, but ${a.tool} could not run: ${JSON.stringify(a.result)}`, { approvalId: a.id });
    const result = a.result as Record<string, unknown>;
    return { content: [{ type: 'text', text: asText(result) }], structuredContent: result };
  }

  /** Runs an approved request's stored arguments under the requesting key as it is now (revoked keys run nothing). */
  private executeApproved(a: Approval): { status: 'running' | 'completed' | 'failed'; result: unknown } {
    const tool = this.tools.get(a.tool);
    const key = this.d.keys.get(a.keyId);
    if (!tool) return { status: 'failed', result: { error: `tool ${a.tool} no longer exists` } };
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= new Date().toISOString())) return { status: 'failed', result: { error: 'the requesting key was revoked or expired before approval' } };
    const args = tool.input.parse(a.args) as Record<string, unknown>;
    const ctx = this.context(key, a.id);
    ctx.secrets = approvalSecrets(this.d.db, a.id);
    try {
      const plan = tool.plan(args, ctx);
      // A savepoint: a tool that fails half-way leaves nothing behind; the decision and its audit entry still commit.
      const result = this.d.db.transaction(() => tool.execute(args, ctx, plan))() as Record<string, unknown>;
      const queued = Array.isArray(result.commands) && result.commands.length > 0;
      return { status: queued ? 'running' : 'completed', result };
    } catch (e) {
      if (e instanceof ToolDenial) return { status: 'failed', result: { error: e.message, code: e.code } };
      this.d.log?.(`approved ${a.tool} failed`, e);
      return { status: 'failed', result: { error: `internal error: ${(e as Error).message}` } };
    }
  }
}

/** SQLite refusing to store anything (as opposed to a tool's own failure). */
function isStorageError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code);
}

function budgetOf(tool: ToolSpec): 'read' | 'write' {
  return tool.budget === 'write' || tool.baseTier >= 2 ? 'write' : 'read';
}

export function denialResult(code: DenialCode | 'EXECUTION_FAILED', message: string, extra: Record<string, unknown> = {}): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: { code, message, ...extra } }) }] };
}

function pendingResult(a: Approval, created: boolean): CallToolResult {
  const structured = {
    status: 'pending_approval' as const, approvalId: a.id, expiresAt: a.expiresAt, summary: a.summary,
    message: `${created ? 'Sent to' : 'Already waiting in'} the technician's approval queue. Nothing has run yet. Call get_approval_status with approvalId ${a.id} to learn the decision; do not repeat this call.`,
  };
  return { content: [{ type: 'text', text: asText(structured) }], structuredContent: structured };
}
