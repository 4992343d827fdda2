import { z } from 'zod';
import { readTool, writeTool, type ReadContext } from './types.ts';
import { OS, byHostname, id, idSet, tenantArg } from './common.ts';
import { decodePosition, page, pageInput, pageOutput } from './paging.ts';
import { singleTenant } from '../store/data/index.ts';
import type { DeviceRow } from '../store/data/devices.ts';
import { NO_AGENT_NOTE, commandOutput } from './commands.ts';
import type { Tier } from './types.ts';

const deviceSummary = z.object({
  id: z.string(), tenant: z.string(), hostname: z.string(), os: z.enum(OS), osVersion: z.string(),
  status: z.enum(['online', 'offline']), group: z.string().nullable(), compliance: z.enum(['compliant', 'non_compliant', 'unknown']),
  isolated: z.boolean(), lastSeenAt: z.string(), ipAddress: z.string().nullable(),
  hostnameConflict: z.boolean().describe('Another device of the same tenant reports this hostname too: check which one is meant before acting on it.'),
});

function toSummary(ctx: ReadContext, r: DeviceRow): z.infer<typeof deviceSummary> {
  return {
    id: r.id, tenant: ctx.data.scope.slugOf(r.tenant_id), hostname: r.hostname, os: r.os, osVersion: r.os_version, status: r.status,
    group: r.group_name, compliance: r.compliance, isolated: r.isolated === 1, lastSeenAt: r.last_seen_at, ipAddress: r.ip_address,
    hostnameConflict: r.hostname_conflict === 1,
  };
}

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

export const listDevices = readTool({
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
  annotations: READ,
  plan: async (args, ctx) => ({ tenant: args.tenant ? ctx.data.scope.select(args.tenant)[0]! : null, summary: 'list devices', detail: {} }),
  async execute(args, ctx) {
    const pos = decodePosition(args.cursor);
    const { total, rows } = await ctx.data.devices.list(args, pos, args.limit);
    const { items, ...rest } = page(pos.offset, args.limit, total, rows.map((r) => toSummary(ctx, r)), (d) => d.id);
    return { devices: items, ...rest };
  },
});

const SOFTWARE_CAP = 200;

export const getDeviceDetails = readTool({
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
  annotations: READ,
  plan: async (args, ctx) => ({ tenant: (await ctx.data.require('device', args.deviceId)).tenant, summary: `details of device ${args.deviceId}`, detail: {} }),
  async execute(args, ctx) {
    const d = await ctx.data.devices.details(args.deviceId, SOFTWARE_CAP);
    return {
      device: toSummary(ctx, d.row),
      hardware: JSON.parse(d.row.hardware_json) as Record<string, unknown>,
      software: d.software,
      softwareTotal: d.softwareTotal,
      softwareTruncated: d.softwareTotal > d.software.length,
      openAlerts: d.openAlerts,
      missingPatches: d.missingPatches,
      pendingCommands: d.pendingCommands,
    };
  },
});

const ACTION_TIERS: Record<string, Tier> = { lock: 2, reboot: 3, shutdown: 3, isolate: 3, wipe: 4 };

interface ActionDetail extends Record<string, unknown> {
  action: string;
  reason: string | null;
  devices: { id: string; hostname: string; os: string; status: string }[];
  deviceCount: number;
}

export const deviceActions = writeTool({
  name: 'device_actions',
  title: 'Device actions',
  description: 'Lock (tier 2), reboot, shutdown or network-isolate (tier 3, needs a technician\'s approval) devices of one tenant. Wipe is never allowed.',
  input: z.object({
    action: z.enum(['lock', 'reboot', 'shutdown', 'isolate', 'wipe']).describe('lock: tier 2; reboot/shutdown/isolate: tier 3 (approval); wipe: blocked.'),
    deviceIds: idSet('Device', 1, 50).describe('Target devices, all in one tenant (1-50).'),
    reason: z.string().min(1).max(500).optional().describe('Why: shown to the technician and kept in the audit log.'),
  }),
  output: z.object({ executionId: z.string(), action: z.string(), commands: z.array(commandOutput), note: z.string() }),
  baseTier: 2,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  actionField: 'action',
  actionTiers: ACTION_TIERS,
  async plan(args, ctx) {
    const rows = byHostname(await Promise.all(args.deviceIds.map((d) => ctx.data.require('device', d))));
    const tenant = singleTenant(rows, 'devices');
    const devices = rows.map((r) => ({ id: r.id, hostname: String(r.row.hostname), os: String(r.row.os), status: String(r.row.status) }));
    const detail: ActionDetail = { action: args.action, reason: args.reason ?? null, devices, deviceCount: devices.length };
    return {
      tenant,
      action: args.action,
      summary: `${args.action} ${devices.length} device(s) in ${tenant.slug}: ${devices.map((d) => d.hostname).join(', ')}`,
      detail,
      deviceIds: args.deviceIds,
      effect: { action: args.action, deviceIds: args.deviceIds },
    };
  },
  async execute(args, ctx, plan) {
    const detail = plan.detail as ActionDetail;
    const { executionId, commands } = await ctx.data.commands.queue({
      tenant: plan.tenant!, kind: 'device_action', tool: 'device_actions', summary: plan.summary, detail, devices: detail.devices,
      payload: () => ({ action: detail.action, reason: detail.reason }),
    });
    return { executionId, action: detail.action, commands, note: NO_AGENT_NOTE };
  },
});
