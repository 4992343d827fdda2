import { z } from 'zod';
import { defineTool, ToolDenial, type ToolContext } from './types.ts';
import { OS, id, slugOf, tenantArg, tenantFilter } from './common.ts';
import { decodeCursor, page, pageInput, pageOutput } from './paging.ts';
import { singleTenant } from '../governance/scope.ts';
import { NO_AGENT_NOTE, commandOutput, queueExecution } from './commands.ts';
import type { Tier } from '../governance/tiers.ts';

const deviceSummary = z.object({
  id: z.string(), tenant: z.string(), hostname: z.string(), os: z.enum(OS), osVersion: z.string(),
  status: z.enum(['online', 'offline']), group: z.string().nullable(), compliance: z.enum(['compliant', 'non_compliant', 'unknown']),
  isolated: z.boolean(), lastSeenAt: z.string(), ipAddress: z.string().nullable(),
  hostnameConflict: z.boolean().describe('Another device of the same tenant reports this hostname too: check which one is meant before acting on it.'),
});

interface DeviceRow {
  id: string; tenant_id: string; hostname: string; os: (typeof OS)[number]; os_version: string; status: 'online' | 'offline';
  group_name: string | null; compliance: 'compliant' | 'non_compliant' | 'unknown'; isolated: number; last_seen_at: string; ip_address: string | null;
  hardware_json: string; hostname_conflict: number;
}

const DEVICE_SELECT = `SELECT d.*, g.name AS group_name FROM devices d LEFT JOIN device_groups g ON g.id = d.group_id`;

function toSummary(ctx: ToolContext, r: DeviceRow): z.infer<typeof deviceSummary> {
  return {
    id: r.id, tenant: slugOf(ctx.scope.tenants, r.tenant_id), hostname: r.hostname, os: r.os, osVersion: r.os_version, status: r.status,
    group: r.group_name, compliance: r.compliance, isolated: r.isolated === 1, lastSeenAt: r.last_seen_at, ipAddress: r.ip_address,
    hostnameConflict: r.hostname_conflict === 1,
  };
}

export const listDevices = defineTool({
  name: 'list_devices',
  title: 'List devices',
  description: 'List managed devices of this key\'s tenants, filtered by status, OS, group, compliance posture or hostname text. Paginated.',
  input: z.object({
    tenant: tenantArg,
    status: z.enum(['online', 'offline']).optional(),
    os: z.enum(OS).optional(),
    group: z.string().min(1).max(100).optional().describe('Device group name, e.g. "Servers".'),
    compliance: z.enum(['compliant', 'non_compliant', 'unknown']).optional(),
    search: z.string().min(1).max(100).optional().describe('Case-insensitive substring of the hostname.'),
    ...pageInput,
  }),
  output: z.object({ devices: z.array(deviceSummary), ...pageOutput }),
  baseTier: 1,
  budget: 'read',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: (args, ctx) => {
    ctx.scope.select(args.tenant);
    return { tenant: args.tenant ? ctx.scope.select(args.tenant)[0]! : null, summary: 'list devices', detail: {} };
  },
  execute(args, ctx) {
    const tf = tenantFilter(ctx.scope.select(args.tenant), 'd.tenant_id');
    const where = [tf.sql];
    const params: unknown[] = [...tf.params];
    if (args.status) where.push('d.status = ?'), params.push(args.status);
    if (args.os) where.push('d.os = ?'), params.push(args.os);
    if (args.group) where.push('g.name = ? COLLATE NOCASE'), params.push(args.group);
    if (args.compliance) where.push('d.compliance = ?'), params.push(args.compliance);
    if (args.search) where.push("d.hostname LIKE ? ESCAPE '\\' COLLATE NOCASE"), params.push(`%${args.search.replace(/[\\%_]/g, '\\$&')}%`);
    const offset = decodeCursor(args.cursor);
    const from = `FROM devices d LEFT JOIN device_groups g ON g.id = d.group_id WHERE ${where.join(' AND ')}`;
    const total = (ctx.db.prepare(`SELECT count(*) AS n ${from}`).get(...params) as { n: number }).n;
    const rows = ctx.db.prepare(`SELECT d.*, g.name AS group_name ${from} ORDER BY d.hostname, d.id LIMIT ? OFFSET ?`)
      .all(...params, args.limit, offset) as DeviceRow[];
    const { items, ...rest } = page(offset, args.limit, total, rows.map((r) => toSummary(ctx, r)));
    return { devices: items, ...rest };
  },
});

const SOFTWARE_CAP = 200;

export const getDeviceDetails = defineTool({
  name: 'get_device_details',
  title: 'Get device details',
  description: 'Hardware, installed software, open alerts, missing patches and pending commands of one device.',
  input: z.object({ deviceId: id('Device') }),
  output: z.object({
    device: deviceSummary,
    hardware: z.record(z.string(), z.unknown()),
    software: z.array(z.object({ name: z.string(), version: z.string(), publisher: z.string().nullable() })),
    softwareTotal: z.number().int(),
    softwareTruncated: z.boolean(),
    openAlerts: z.object({ critical: z.number(), high: z.number(), medium: z.number(), low: z.number(), info: z.number() }),
    missingPatches: z.number().int(),
    pendingCommands: z.number().int(),
  }),
  baseTier: 1,
  budget: 'read',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: (args, ctx) => ({ tenant: ctx.scope.require('device', args.deviceId).tenant, summary: `details of device ${args.deviceId}`, detail: {} }),
  execute(args, ctx) {
    const r = ctx.db.prepare(`${DEVICE_SELECT} WHERE d.id = ?`).get(args.deviceId) as DeviceRow;
    const softwareTotal = (ctx.db.prepare('SELECT count(*) AS n FROM device_software WHERE device_id = ?').get(r.id) as { n: number }).n;
    const software = ctx.db.prepare('SELECT name, version, publisher FROM device_software WHERE device_id = ? ORDER BY name LIMIT ?')
      .all(r.id, SOFTWARE_CAP) as { name: string; version: string; publisher: string | null }[];
    const openAlerts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const a of ctx.db.prepare(`SELECT severity, count(*) AS n FROM alerts WHERE device_id = ? AND status != 'resolved' GROUP BY severity`)
      .all(r.id) as { severity: keyof typeof openAlerts; n: number }[]) openAlerts[a.severity] = a.n;
    const count = (sql: string) => (ctx.db.prepare(sql).get(r.id) as { n: number }).n;
    return {
      device: toSummary(ctx, r),
      hardware: JSON.parse(r.hardware_json) as Record<string, unknown>,
      software,
      softwareTotal,
      softwareTruncated: softwareTotal > software.length,
      openAlerts,
      missingPatches: count(`SELECT count(*) AS n FROM device_patches WHERE device_id = ? AND state IN ('missing','failed')`),
      pendingCommands: count(`SELECT count(*) AS n FROM device_commands WHERE device_id = ? AND status IN ('queued','running')`),
    };
  },
});

const ACTION_TIERS: Record<string, Tier> = { lock: 2, reboot: 3, shutdown: 3, isolate: 3, wipe: 4 };

export const deviceActions = defineTool({
  name: 'device_actions',
  title: 'Device actions',
  description: 'Lock (tier 2), reboot, shutdown or network-isolate (tier 3, needs a technician\'s approval) devices of one tenant. Wipe is never allowed.',
  input: z.object({
    action: z.enum(['lock', 'reboot', 'shutdown', 'isolate', 'wipe']).describe('lock: tier 2; reboot/shutdown/isolate: tier 3 (approval); wipe: blocked.'),
    deviceIds: z.array(id('Device')).min(1).max(50).describe('Target devices, all in one tenant (1-50).'),
    reason: z.string().min(1).max(500).optional().describe('Why: shown to the technician and kept in the audit log.'),
  }),
  output: z.object({ executionId: z.string(), action: z.string(), commands: z.array(commandOutput), note: z.string() }),
  baseTier: 2,
  budget: 'write',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  actionField: 'action',
  actionTiers: ACTION_TIERS,
  plan(args, ctx) {
    const ids = [...new Set(args.deviceIds)];
    const rows = ids.map((d) => ctx.scope.require('device', d));
    const tenant = singleTenant(rows, 'devices');
    const devices = rows.map((r) => ({ id: r.id, hostname: String(r.row.hostname), os: String(r.row.os), status: String(r.row.status) }));
    const bulk = devices.length > ctx.services.bulkDeviceThreshold();
    return {
      tenant,
      action: args.action,
      argTier: bulk ? 3 : undefined,
      summary: `${args.action} ${devices.length} device(s) in ${tenant.slug}: ${devices.map((d) => d.hostname).join(', ')}`,
      detail: { action: args.action, reason: args.reason ?? null, devices, deviceCount: devices.length, bulkEscalated: bulk },
    };
  },
  execute(args, ctx, plan) {
    if (!plan.tenant) throw new ToolDenial('INVALID_ARGUMENTS', 'no tenant');
    const devices = (plan.detail.devices as { id: string; hostname: string }[]);
    const { executionId, commands } = queueExecution(ctx, {
      tenant: plan.tenant, kind: 'device_action', tool: 'device_actions', summary: plan.summary, detail: plan.detail, devices,
      payload: () => ({ action: args.action, reason: args.reason ?? null }),
    });
    return { executionId, action: args.action, commands, note: NO_AGENT_NOTE };
  },
});
