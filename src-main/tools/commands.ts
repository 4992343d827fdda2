import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Tenant } from '../auth/keys.ts';
import type { ToolContext } from './types.ts';
import { signQueuedCommand } from '../agentServer/signing.ts';
import { revealParameters } from './secretParams.ts';

/** Device commands are how actions reach machines: queued → running → completed | failed | timed_out. */
export const COMMAND_STATUSES = ['queued', 'running', 'completed', 'failed', 'timed_out', 'cancelled'] as const;
export type CommandKind = 'script' | 'device_action' | 'patch_install';

export const commandOutput = z.object({
  commandId: z.string(),
  deviceId: z.string(),
  hostname: z.string(),
  status: z.enum(COMMAND_STATUSES),
  notBefore: z.string().nullable(),
});

/** Queued commands wait for the device's endpoint agent (`countersign agent`); offline devices run them when they reconnect. */
export const NO_AGENT_NOTE = 'Queued for the endpoint agent. No agent has picked it up yet; poll the status tool for the result.';

export interface DeviceRef {
  id: string;
  hostname: string;
}

function withSecrets(ctx: ToolContext, payload: Record<string, unknown>): Record<string, unknown> {
  const params = payload.parameters;
  if (!ctx.secrets || !params || typeof params !== 'object') return payload;
  return { ...payload, parameters: revealParameters(ctx.db, params as Record<string, string>, ctx.secrets) };
}

export function queueExecution(
  ctx: ToolContext,
  p: { tenant: Tenant; kind: CommandKind; tool: string; summary: string; detail: Record<string, unknown>; devices: DeviceRef[]; payload: (d: DeviceRef) => unknown; notBefore?: string | null },
) {
  const executionId = randomUUID();
  const now = ctx.now.toISOString();
  ctx.db.prepare(`INSERT INTO executions (id, tenant_id, kind, tool, approval_id, key_id, summary, detail_json, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(executionId, p.tenant.id, p.kind, p.tool, ctx.approvalId ?? null, ctx.key.id, p.summary, JSON.stringify(p.detail), now);
  const insert = ctx.db.prepare(`INSERT INTO device_commands (id, execution_id, tenant_id, device_id, kind, payload_json, status, not_before, created_at)
    VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`);
  const commands = p.devices.map((d) => {
    const commandId = randomUUID();
    const payload = p.payload(d);
    insert.run(commandId, executionId, p.tenant.id, d.id, p.kind, JSON.stringify(payload), p.notBefore ?? null, now);
    // Signed here, in the same transaction as the approval that allowed it: the agent runs only this exact command. The
    // signature covers secret parameter values (stored masked, put back when the command is sent).
    signQueuedCommand(ctx.db, { commandId, deviceId: d.id, approvalId: ctx.approvalId ?? null, kind: p.kind, payload: withSecrets(ctx, payload as Record<string, unknown>), notBefore: p.notBefore ?? null }, ctx.now);
    return { commandId, deviceId: d.id, hostname: d.hostname, status: 'queued' as const, notBefore: p.notBefore ?? null };
  });
  return { executionId, commands };
}
