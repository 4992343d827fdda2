import { z } from 'zod';
import { defineTool, ToolDenial, type ToolSpec } from './types.ts';
import { id } from './common.ts';
import { APPROVAL_STATUSES, ApprovalError, type Approval, type ApprovalService } from '../governance/approvals.ts';
import { reachableTiers } from '../governance/tiers.ts';
import type { Governance } from '../governance/pipeline.ts';

/** Tools about the gate itself. They need the governance objects, bound after construction. */
export interface MetaDeps {
  approvals: ApprovalService;
  governance: () => Governance;
}

const budget = z.object({ limitPerMinute: z.number(), remaining: z.number() });

function ownApproval(deps: MetaDeps, approvalId: string, keyId: string): Approval {
  const a = deps.approvals.get(approvalId);
  // Another key's approval answers exactly like a missing one.
  if (!a || a.keyId !== keyId) throw new ToolDenial('NOT_FOUND', `No approval '${approvalId}' requested by this key.`, 'tenant_isolation');
  return a;
}

function commandCounts(ctx: { db: import('../store/db.ts').Db }, approvalId: string) {
  const rows = ctx.db.prepare(`SELECT c.status, count(*) AS n FROM device_commands c JOIN executions e ON e.id = c.execution_id
    WHERE e.approval_id = ? GROUP BY c.status`).all(approvalId) as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
}

export function metaTools(deps: MetaDeps): ToolSpec[] {
  const getApprovalStatus = defineTool({
    name: 'get_approval_status',
    title: 'Get approval status',
    description: 'State of a tier-3 request this key made: pending, approved/running, completed (with the tool result), denied (with the technician\'s reason), expired or cancelled.',
    input: z.object({ approvalId: id('Approval') }),
    output: z.object({
      approvalId: z.string(), status: z.enum(APPROVAL_STATUSES), tool: z.string(), action: z.string().nullable(), tenant: z.string(), summary: z.string(),
      createdAt: z.string(), expiresAt: z.string(), decidedAt: z.string().nullable(), reason: z.string().nullable(),
      result: z.unknown().describe('The tool\'s result once approved and executed; null before.'),
      commands: z.record(z.string(), z.number()).describe('Device commands of the approved execution, counted by status.'),
      message: z.string(),
    }),
    baseTier: 1,
    budget: 'read',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    plan: (args, ctx) => ({ tenant: ctx.scope.tenantById(ownApproval(deps, args.approvalId, ctx.key.id).tenantId), summary: 'approval status', detail: {} }),
    execute(args, ctx) {
      deps.approvals.expireDue();
      const a = ownApproval(deps, args.approvalId, ctx.key.id);
      const messages: Record<string, string> = {
        pending: `Waiting for the technician; expires ${a.expiresAt}.`,
        approved: 'Approved; execution is starting.',
        running: 'Approved and executed; device commands are queued or running. Poll again, or read get_script_results for the execution.',
        completed: 'Approved and completed.',
        failed: 'Approved, but the execution failed; see result.',
        denied: `Denied by the technician: ${a.reason ?? 'no reason given'}. Do not retry the same call.`,
        expired: 'Expired without a decision; nothing ran.',
        cancelled: 'Cancelled by this key; nothing ran.',
      };
      return {
        approvalId: a.id, status: a.status, tool: a.tool, action: a.action, tenant: a.tenant, summary: a.summary, createdAt: a.createdAt, expiresAt: a.expiresAt,
        decidedAt: a.decidedAt, reason: a.reason, result: a.result ?? null, commands: commandCounts(ctx, a.id), message: messages[a.status]!,
      };
    },
  });

  const cancelApproval = defineTool({
    name: 'cancel_approval',
    title: 'Cancel approval request',
    description: 'Withdraw a pending tier-3 request this key made (for example when the plan changed). Decided requests cannot be cancelled.',
    input: z.object({ approvalId: id('Approval') }),
    output: z.object({ approvalId: z.string(), status: z.enum(APPROVAL_STATUSES) }),
    baseTier: 1,
    budget: 'read',
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    plan: (args, ctx) => ({ tenant: ctx.scope.tenantById(ownApproval(deps, args.approvalId, ctx.key.id).tenantId), summary: `cancel approval ${args.approvalId}`, detail: {} }),
    execute(args, ctx) {
      try {
        const a = deps.approvals.cancel(args.approvalId, ctx.key);
        return { approvalId: a.id, status: a.status };
      } catch (e) {
        if (e instanceof ApprovalError) throw new ToolDenial(e.status === 404 ? 'NOT_FOUND' : 'CONFLICT', e.message, 'approval_state');
        throw e;
      }
    },
  });

  const whoami = defineTool({
    name: 'whoami',
    title: 'Who am I',
    description: 'This key\'s name, scopes, role, tenants, the risk tiers it can reach and its current rate-limit budgets.',
    input: z.object({}),
    output: z.object({
      keyId: z.string(), name: z.string(), role: z.enum(['admin', 'standard']), scopes: z.array(z.string()),
      tenants: z.array(z.object({ slug: z.string(), name: z.string() })), reachableTiers: z.array(z.number()),
      tierMeaning: z.record(z.string(), z.string()), budgets: z.object({ read: budget, write: budget }), expiresAt: z.string().nullable(),
    }),
    baseTier: 1,
    budget: 'read',
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    plan: () => ({ tenant: null, summary: 'whoami', detail: {} }),
    execute(_args, ctx) {
      const k = ctx.key;
      return {
        keyId: k.id, name: k.name, role: k.role, scopes: k.scopes, tenants: k.tenants.map((t) => ({ slug: t.slug, name: t.name })),
        reachableTiers: reachableTiers(k.scopes),
        tierMeaning: { '1': 'read: runs at once', '2': 'low-risk change: runs and is audited', '3': 'high risk: waits for a technician\'s approval', '4': 'never runs' },
        budgets: deps.governance().budgets(k), expiresAt: k.expiresAt,
      };
    },
  });

  return [getApprovalStatus, cancelApproval, whoami] as unknown as ToolSpec[];
}
