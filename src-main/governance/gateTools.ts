// The gate's own tools: the state of an approval this key asked for (with the outcome of what it ran), cancelling
// one, and what this key may do. They go through the gate like every other tool.
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { id } from '../tools/common.ts';
import { COMMAND_STATUSES } from '../tools/commands.ts';
import { JsonPart, withJson } from '../tools/resultJson.ts';
import { readTool, writeTool, type ReadContext, type ToolSpec } from '../tools/types.ts';
import { APPROVAL_STATUSES, type Approval } from './approvals.ts';
import type { Decisions } from './decisions.ts';
import type { Gate } from './gate.ts';
import { reachableTiers } from './tiers.ts';
import { ticketRequired } from './decide.ts';

const budget = z.object({ limitPerMinute: z.number(), remaining: z.number() });
/** Output per command get_approval_status carries; get_script_results has the full, paginated view. */
const OUTPUT_PREVIEW = 4_096;
const COMMANDS_SHOWN = 20;

const commandOutcome = z.object({
  commandId: z.string(), deviceId: z.string(), hostname: z.string(), status: z.enum(COMMAND_STATUSES), exitCode: z.number().int().nullable(),
  stdout: z.string().nullable(), stdoutTruncated: z.boolean(), stderr: z.string().nullable(), stderrTruncated: z.boolean(), finishedAt: z.string().nullable(),
});
const executionOutcome = z.object({
  executionId: z.string(), counts: z.record(z.string(), z.number()), finished: z.boolean(),
  commands: z.array(commandOutcome).describe(`First ${COMMANDS_SHOWN} devices, output cut at ${OUTPUT_PREVIEW} characters.`),
  commandsTruncated: z.boolean(),
});

async function ownApproval(gate: Gate, approvalId: string, keyId: string): Promise<Approval> {
  const a = await gate.d.approvals.get(approvalId);
  // Another key's approval answers exactly like a missing one.
  if (!a || a.keyId !== keyId) throw new AppError('NOT_FOUND', `No approval '${approvalId}' requested by this key.`, 'tenant_isolation');
  return a;
}

/** The live state of what an approval ran: read from the command rows now, never from the snapshot taken when it was queued. */
async function outcomes(ctx: ReadContext, a: Approval) {
  const executions = [];
  for (const e of await ctx.data.commands.executionsOfApproval(a.id)) {
    const counts = await ctx.data.commands.counts(e.id);
    const total = Object.values(counts).reduce((x, y) => x + y, 0);
    const rows = await ctx.data.commands.results(e, OUTPUT_PREVIEW, 0, COMMANDS_SHOWN);
    executions.push({
      executionId: e.id, counts, finished: counts.queued + counts.running === 0,
      commands: rows.map((r) => ({
        commandId: r.id, deviceId: r.device_id, hostname: r.hostname ?? r.device_id, status: r.status, exitCode: r.exit_code,
        stdout: r.stdout, stdoutTruncated: (r.stdout_len ?? 0) > OUTPUT_PREVIEW, stderr: r.stderr, stderrTruncated: (r.stderr_len ?? 0) > OUTPUT_PREVIEW,
        finishedAt: r.finished_at,
      })),
      commandsTruncated: total > rows.length,
    });
  }
  return executions;
}

/** The result stored at execution time, with each queued command's status replaced by its status now. */
function liveResult(result: unknown, executions: Awaited<ReturnType<typeof outcomes>>): unknown {
  if (!result || typeof result !== 'object' || !Array.isArray((result as { commands?: unknown }).commands)) return result ?? null;
  const now = new Map(executions.flatMap((e) => e.commands.map((c) => [c.commandId, c.status] as const)));
  const { note: _stale, ...rest } = result as { commands: { commandId?: string; status?: string }[]; note?: unknown };
  return { ...rest, commands: rest.commands.map((c) => (c.commandId && now.has(c.commandId) ? { ...c, status: now.get(c.commandId) } : c)) };
}

function message(a: Approval, executions: Awaited<ReturnType<typeof outcomes>>): { message: string; next: { tool: string; arguments: Record<string, unknown> } | null } {
  const first = executions[0];
  const sum = (s: string) => executions.reduce((n, e) => n + ((e.counts as Record<string, number>)[s] ?? 0), 0);
  const results = first ? { tool: 'get_script_results', arguments: { executionId: first.executionId } } : null;
  switch (a.status) {
    case 'pending': return { message: `Waiting for the technician; expires ${a.expiresAt}. Call get_approval_status again later.`, next: { tool: 'get_approval_status', arguments: { approvalId: a.id } } };
    case 'approved': return { message: 'Approved; execution is starting. Call get_approval_status again.', next: { tool: 'get_approval_status', arguments: { approvalId: a.id } } };
    case 'running': {
      const waiting = sum('queued');
      const running = sum('running');
      const done = executions.reduce((n, e) => n + Object.entries(e.counts).filter(([s]) => s !== 'queued' && s !== 'running').reduce((m, [, c]) => m + c, 0), 0);
      return {
        message: `Approved and queued: ${waiting} command(s) waiting for a device agent (offline devices run them when they reconnect), ${running} running, ${done} finished. `
          + 'Call get_approval_status again for the outcome.',
        next: { tool: 'get_approval_status', arguments: { approvalId: a.id } },
      };
    }
    case 'completed': return { message: first ? 'Approved and completed on every device; the outcome per device is in executions (output cut; get_script_results has all of it).' : 'Approved and completed; see result.', next: results };
    case 'failed': return { message: first ? 'Approved, but at least one device command failed; see executions for each device\'s exit code and output.' : 'Approved, but the execution failed; see result.', next: results };
    case 'denied': return {
      message: a.decisionCode && a.decisionCode !== 'APPROVAL_DENIED'
        ? `Not run (${a.decisionCode}): ${a.reason ?? ''} Do not retry the same call unless the situation changed.`
        : `Denied by the technician: ${a.reason ?? 'no reason given'}. Do not retry the same call.`,
      next: null,
    };
    case 'expired': return { message: 'Expired without a decision; nothing ran.', next: null };
    case 'cancelled': return { message: 'Cancelled by this key; nothing ran.', next: null };
  }
}

export function gateTools(gate: Gate, decisions: Decisions): ToolSpec[] {
  const getApprovalStatus = readTool({
    name: 'get_approval_status',
    title: 'Get approval status',
    description: 'State of a tier-3 request this key made: pending, running (with each device command\'s live status), completed or failed (with each '
      + 'device\'s exit code and output), denied (with the reason), expired or cancelled. `next` names the exact call to make next, if any.',
    input: z.object({ approvalId: id('Approval') }),
    output: z.object({
      approvalId: z.string(), status: z.enum(APPROVAL_STATUSES), tool: z.string(), action: z.string().nullable(), tenant: z.string(), summary: z.string(),
      createdAt: z.string(), expiresAt: z.string(), decidedAt: z.string().nullable(), reason: z.string().nullable(), code: z.string().nullable(),
      result: z.unknown().describe('The tool\'s result once approved and executed (command statuses as they are now); null before.'),
      commands: z.record(z.string(), z.number()).describe('Device commands of the approved execution, counted by status now.'),
      executions: z.array(executionOutcome),
      message: z.string(),
      next: z.object({ tool: z.string(), arguments: z.record(z.string(), z.unknown()) }).nullable().describe('The call that moves this forward, if any.'),
    }),
    baseTier: 1,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    // A key taken off the approval's tenant since it asked is still told what became of its own request (denied, and
    // why), but reads nothing of the tenant's devices: no result, no command outcomes.
    plan: async (args, ctx) => {
      const a = await ownApproval(gate, args.approvalId, ctx.key.id);
      return { tenant: ctx.data.scope.has(a.tenantId) ? ctx.data.scope.tenantById(a.tenantId) : null, summary: 'approval status', detail: {} };
    },
    async execute(args, ctx) {
      const a = await ownApproval(gate, args.approvalId, ctx.key.id);
      const reached = ctx.data.scope.has(a.tenantId);
      const executions = reached ? await outcomes(ctx, a) : [];
      const commands: Record<string, number> = {};
      for (const e of executions) for (const [s, n] of Object.entries(e.counts)) if (n) commands[s] = (commands[s] ?? 0) + n;
      const told = reached ? message(a, executions)
        : { message: `This key no longer reaches tenant ${a.tenant}: the request is ${a.status}${a.reason ? ` (${a.reason})` : ''}; its devices' results are not shown.`, next: null };
      return {
        approvalId: a.id, status: a.status, tool: a.tool, action: a.action, tenant: a.tenant, summary: a.summary, createdAt: a.createdAt, expiresAt: a.expiresAt,
        decidedAt: a.decidedAt, reason: a.reason, code: a.decisionCode, result: reached ? liveResult(a.result, executions) : null, commands, executions, ...told,
      };
    },
  });

  const cancelApproval = writeTool({
    name: 'cancel_approval',
    title: 'Cancel approval request',
    description: 'Withdraw a pending tier-3 request this key made (for example when the plan changed). Decided requests cannot be cancelled.',
    input: z.object({ approvalId: id('Approval') }),
    output: z.object({ approvalId: z.string(), status: z.enum(APPROVAL_STATUSES) }),
    baseTier: 1,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    plan: async (args, ctx) => ({ tenant: ctx.data.scope.tenantById((await ownApproval(gate, args.approvalId, ctx.key.id)).tenantId), summary: `cancel approval ${args.approvalId}`, detail: {} }),
    async execute(args, ctx) {
      const a = await decisions.cancel(gate.txOf.get(ctx)!, args.approvalId, ctx.key);
      return { approvalId: a.id, status: a.status };
    },
  });

  const whoami = readTool({
    name: 'whoami',
    title: 'Who am I',
    description: 'This key\'s name, scopes, role, tenants, the risk tiers it can reach, its current rate-limit budgets, and what it may do without '
      + 'asking: live grants (tier-3 calls inside their envelope run without a card) and approved plans (the next step runs without a card).',
    input: z.object({}),
    output: z.object({
      keyId: z.string(), name: z.string(), role: z.enum(['admin', 'standard']), scopes: z.array(z.string()),
      tenants: z.array(z.object({ slug: z.string(), name: z.string() })), reachableTiers: z.array(z.number()),
      tierMeaning: z.record(z.string(), z.string()), budgets: z.object({ read: budget, write: budget }), expiresAt: z.string().nullable(),
      grants: z.array(z.object({
        grantId: z.string(), tool: z.string(), action: z.string().nullable(), tenant: z.string(), covers: z.string(),
        envelope: z.record(z.string(), z.unknown()), expiresAt: z.string(), usesLeft: z.number().int().nullable(),
      })).describe('Tier-3 calls inside one of these envelopes run at once, without a card, each counted against the grant.'),
      plans: z.array(z.object({
        planId: z.string(), approvalId: z.string(), tenant: z.string(), goal: z.string(), expiresAt: z.string(), stepsLeft: z.number().int(),
        next: z.object({ step: z.number().int(), tool: z.string(), arguments: z.record(z.string(), z.unknown()) }).nullable(),
      })).describe('Approved plans: the next step, called exactly as shown, runs without a card; any other tier-3 call in the tenant ends the plan.'),
      ticketRequiredTenants: z.array(z.string()).describe('Tenants whose tier-3 calls must carry a ticket {system, id}.'),
    }),
    baseTier: 1,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    plan: async () => ({ tenant: null, summary: 'whoami', detail: {} }),
    async execute(_args, ctx) {
      const k = ctx.key;
      const values = gate.d.policy.values;
      const grants = await gate.standing.grants.ofKey(k.id);
      const plans = await gate.standing.plans.ofKey(k.id);
      const facts = keyFacts(k);
      const budgets = await gate.budgets(k);
      const rest = {
        expiresAt: k.expiresAt,
        grants: grants.map((g) => ({
          grantId: g.id, tool: g.tool, action: g.action, tenant: g.tenant, covers: g.description, envelope: g.envelope, expiresAt: g.expiresAt,
          usesLeft: g.maxUses === null ? null : g.maxUses - g.uses,
        })),
        plans: plans.map((p) => {
          const next = p.steps[p.nextStep];
          return {
            planId: p.id, approvalId: p.approvalId, tenant: p.tenant, goal: p.goal, expiresAt: p.expiresAt, stepsLeft: p.stepCount - p.nextStep,
            next: next ? { step: next.index, tool: next.tool, arguments: next.arguments } : null,
          };
        }),
        ticketRequiredTenants: k.tenants.filter((t) => ticketRequired(values, t.slug)).map((t) => t.slug),
      };
      // The answer's JSON in the value's key order: the key's facts as serialized once, then this call's budgets and rest
      // (the usual rest, nothing standing and no expiry, is always the same text).
      const nothingStanding = rest.expiresAt === null && rest.grants.length === 0 && rest.plans.length === 0 && rest.ticketRequiredTenants.length === 0;
      return withJson({ ...facts.value, budgets, ...rest }, [facts.json, JSON.stringify(budgets), nothingStanding ? NOTHING_STANDING : `,${JSON.stringify(rest).slice(1)}`]);
    },
  });

  return [getApprovalStatus, cancelApproval, whoami];
}

/** whoami's JSON after the budgets for a key with no expiry, grant, plan or ticket rule: JSON.stringify's text for it. */
const NOTHING_STANDING = new JsonPart(`,${JSON.stringify({ expiresAt: null, grants: [], plans: [], ticketRequiredTenants: [] }).slice(1)}`);

/** Frozen at run time, its type unchanged: the tool's output type is the schema's, which knows no readonly. */
const frozen = <T extends object>(v: T): T => Object.freeze(v);

const TIER_MEANING = frozen({ '1': 'read: runs at once', '2': 'low-risk change: runs and is audited', '3': 'high risk: waits for a technician\'s approval', '4': 'never runs' });

// whoami's first fields depend on the key alone. keys.ts hands out one ApiKey object while the key's row is unchanged
// (a new one once anything changed), so they are built and serialized once per such object, not per call. Every answer
// for the key shares them, and their JSON is sent as it was made: they are frozen, so that nothing can change them.
type Key = ReadContext['key'];
const factsValue = (k: Key) => ({
  keyId: k.id, name: k.name, role: k.role, scopes: frozen([...k.scopes]), tenants: frozen(k.tenants.map((t) => frozen({ slug: t.slug, name: t.name }))),
  reachableTiers: frozen(reachableTiers(k.scopes)), tierMeaning: TIER_MEANING as Record<string, string>,
});
const factsOfKey = new WeakMap<Key, { value: ReturnType<typeof factsValue>; json: JsonPart }>();

function keyFacts(k: Key): { value: ReturnType<typeof factsValue>; json: JsonPart } {
  let f = factsOfKey.get(k);
  if (!f) {
    const value = factsValue(k);
    // Its JSON without the closing brace, and the next key: the budgets follow.
    f = { value, json: new JsonPart(`${JSON.stringify(value).slice(0, -1)},"budgets":`) };
    factsOfKey.set(k, f);
  }
  return f;
}
