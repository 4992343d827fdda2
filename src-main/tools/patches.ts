import { z } from 'zod';
import { defineTool, ToolDenial, type ToolContext } from './types.ts';
import { OS, id, slugOf, tenantArg, tenantFilter } from './common.ts';
import { decodeCursor, page, pageInput, pageOutput } from './paging.ts';
import { asList, oneOrMany, tenantAndDevice } from './filters.ts';
import { deployPatches } from './patchDeploy.ts';

export const PATCH_SEVERITIES = ['critical', 'important', 'moderate', 'low'] as const;
export const PATCH_STATES = ['missing', 'scheduled', 'installing', 'installed', 'failed'] as const;

export const severityRank = (column: string) =>
  `CASE ${column} WHEN 'critical' THEN 0 WHEN 'important' THEN 1 WHEN 'moderate' THEN 2 ELSE 3 END`;

const patchRow = z.object({
  deviceId: z.string(), hostname: z.string(), tenant: z.string(), os: z.enum(OS),
  patchId: z.string().describe('Catalogue id; deploy_patches accepts it (or the externalId).'),
  externalId: z.string().describe('Vendor id, e.g. KB5044284.'),
  title: z.string(), severity: z.enum(PATCH_SEVERITIES), requiresReboot: z.boolean(), state: z.enum(PATCH_STATES),
  releasedAt: z.string(), detectedAt: z.string(), updatedAt: z.string(),
});

// "Missing" throughout Countersign (here, get_device_details, fleet tools): state missing or failed, i.e. not installed and not on its way.
const bySeverity = z.object({ critical: z.number().int(), important: z.number().int(), moderate: z.number().int(), low: z.number().int() });

interface Row {
  device_id: string; hostname: string; tenant_id: string; os: (typeof OS)[number]; patch_id: string; external_id: string; title: string;
  severity: (typeof PATCH_SEVERITIES)[number]; requires_reboot: number; state: (typeof PATCH_STATES)[number]; released_at: string;
  detected_at: string; updated_at: string;
}

export const getPatchStatus = defineTool({
  name: 'get_patch_status',
  title: 'Get patch status',
  description: 'Patch state per device and patch (missing, scheduled, installing, installed, failed) for this key\'s tenants, most severe first, '
    + 'with hostname, vendor id (e.g. KB number), title, severity and whether a reboot is needed. Filter by tenant, device, severity, state, OS. '
    + 'Also returns missingBySeverity: device-patch pairs still missing or failed, counted by severity under the tenant/device/OS filters '
    + '(ignoring the severity and state filters). Paginated.',
  input: z.object({
    tenant: tenantArg,
    deviceId: id('Device').optional().describe('Only this device.'),
    severity: oneOrMany(PATCH_SEVERITIES, 'Patch severity'),
    state: oneOrMany(PATCH_STATES, 'Patch state on the device (default: all states)'),
    os: z.enum(OS).optional().describe('Only devices with this operating system.'),
    ...pageInput,
  }),
  output: z.object({
    patches: z.array(patchRow),
    ...pageOutput,
    missingBySeverity: bySeverity.describe('Missing or failed device-patch pairs by severity (tenant/device/OS filters only).'),
  }),
  baseTier: 1,
  budget: 'read',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan(args, ctx) {
    const { selected, device } = tenantAndDevice(ctx, args.tenant, args.deviceId);
    return { tenant: device?.tenant ?? (args.tenant ? selected[0]! : null), summary: 'patch status', detail: {} };
  },
  execute(args, ctx) {
    const tf = tenantFilter(ctx.scope.select(args.tenant), 'd.tenant_id');
    const scopeWhere = [tf.sql];
    const scopeParams: unknown[] = [...tf.params];
    if (args.deviceId) scopeWhere.push('d.id = ?'), scopeParams.push(args.deviceId);
    if (args.os) scopeWhere.push('d.os = ?'), scopeParams.push(args.os);
    const where = [...scopeWhere];
    const params = [...scopeParams];
    const severities = asList(args.severity);
    if (severities) where.push(`p.severity IN (${severities.map(() => '?').join(', ')})`), params.push(...severities);
    const states = asList(args.state);
    if (states) where.push(`dp.state IN (${states.map(() => '?').join(', ')})`), params.push(...states);
    const join = 'FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id';
    const from = `${join} WHERE ${where.join(' AND ')}`;
    const offset = decodeCursor(args.cursor);
    const total = (ctx.db.prepare(`SELECT count(*) AS n ${from}`).get(...params) as { n: number }).n;
    const rows = ctx.db.prepare(`SELECT dp.device_id, d.hostname, d.tenant_id, d.os, dp.patch_id, p.external_id, p.title, p.severity,
        p.requires_reboot, dp.state, p.released_at, dp.detected_at, dp.updated_at
      ${from} ORDER BY ${severityRank('p.severity')}, d.hostname, p.external_id, dp.device_id, dp.patch_id LIMIT ? OFFSET ?`)
      .all(...params, args.limit, offset) as Row[];
    const missingBySeverity = { critical: 0, important: 0, moderate: 0, low: 0 };
    for (const r of ctx.db.prepare(`SELECT p.severity, count(*) AS n ${join} WHERE ${scopeWhere.join(' AND ')}
        AND dp.state IN ('missing', 'failed') GROUP BY p.severity`).all(...scopeParams) as { severity: keyof typeof missingBySeverity; n: number }[]) {
      missingBySeverity[r.severity] = r.n;
    }
    const { items, ...rest } = page(offset, args.limit, total, rows.map((r) => toPatchRow(ctx, r)));
    return { patches: items, ...rest, missingBySeverity };
  },
});

function toPatchRow(ctx: ToolContext, r: Row): z.infer<typeof patchRow> {
  return {
    deviceId: r.device_id, hostname: r.hostname, tenant: slugOf(ctx.scope.tenants, r.tenant_id), os: r.os, patchId: r.patch_id,
    externalId: r.external_id, title: r.title, severity: r.severity, requiresReboot: r.requires_reboot === 1, state: r.state,
    releasedAt: r.released_at, detectedAt: r.detected_at, updatedAt: r.updated_at,
  };
}

export { deployPatches };
export const patchTools = [getPatchStatus, deployPatches];
