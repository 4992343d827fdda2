import { z } from 'zod';
import { readTool, type ReadContext } from './types.ts';
import { OS, id, tenantArg } from './common.ts';
import { decodeCursor, page, pageInput, pageOutput } from './paging.ts';
import { asList, oneOrMany, tenantAndDevice } from './filters.ts';
import { deployPatches } from './patchDeploy.ts';
import type { PatchStatusRow } from '../store/data/patches.ts';

export const PATCH_SEVERITIES = ['critical', 'important', 'moderate', 'low'] as const;
export const PATCH_STATES = ['missing', 'scheduled', 'installing', 'installed', 'failed'] as const;

const patchRow = z.object({
  deviceId: z.string(), hostname: z.string(), tenant: z.string(), os: z.enum(OS),
  patchId: z.string().describe('Catalogue id; deploy_patches accepts it (or the externalId).'),
  externalId: z.string().describe('Vendor id, e.g. KB5044284.'),
  title: z.string(), severity: z.enum(PATCH_SEVERITIES), requiresReboot: z.boolean(), state: z.enum(PATCH_STATES),
  releasedAt: z.string(), detectedAt: z.string(), updatedAt: z.string(),
});

// "Missing" throughout Countersign (here, get_device_details, fleet tools): state missing or failed, i.e. not installed and not on its way.
const bySeverity = z.object({ critical: z.number().int(), important: z.number().int(), moderate: z.number().int(), low: z.number().int() });

export const getPatchStatus = readTool({
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
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async plan(args, ctx) {
    const { selected, device } = await tenantAndDevice(ctx, args.tenant, args.deviceId);
    return { tenant: device?.tenant ?? (args.tenant ? selected[0]! : null), summary: 'patch status', detail: {} };
  },
  async execute(args, ctx) {
    const offset = decodeCursor(args.cursor);
    const { total, rows, missingBySeverity } = await ctx.data.patches.status({
      tenant: args.tenant, deviceId: args.deviceId, os: args.os, severities: asList(args.severity), states: asList(args.state),
    }, offset, args.limit);
    const { items, ...rest } = page(offset, args.limit, total, rows.map((r) => toPatchRow(ctx, r)));
    return { patches: items, ...rest, missingBySeverity };
  },
});

function toPatchRow(ctx: ReadContext, r: PatchStatusRow): z.infer<typeof patchRow> {
  return {
    deviceId: r.device_id, hostname: r.hostname, tenant: ctx.data.scope.slugOf(r.tenant_id), os: r.os, patchId: r.patch_id,
    externalId: r.external_id, title: r.title, severity: r.severity, requiresReboot: r.requires_reboot === 1, state: r.state,
    releasedAt: r.released_at, detectedAt: r.detected_at, updatedAt: r.updated_at,
  };
}

export { deployPatches };
