import { z } from 'zod';
import type { Tenant } from '../auth/keys.ts';
import { writeTool, type ReadContext } from './types.ts';
import { byHostname, idSet } from './common.ts';
import { singleTenant, type ScopedRow } from '../store/data/index.ts';
import { AppError } from '../errors.ts';
import { NO_AGENT_NOTE, commandOutput } from './commands.ts';
import { describeWindow, windowFromRow, windowState, type MaintenanceWindow, type Occurrence } from './maintenanceWindow.ts';

export const WINDOW_FITS = ['inside', 'scheduled_for_next_window', 'override'] as const;
type WindowFit = (typeof WINDOW_FITS)[number];

interface PlannedPatch { id: string; externalId: string; title: string; os: string; severity: string; requiresReboot: boolean }
interface PlannedDevice {
  id: string; hostname: string; os: string; osVersion: string; status: string; online: boolean;
  patches: { id: string; externalId: string }[]; requiresReboot: boolean;
}
interface Skipped { deviceId: string; hostname: string; patchId: string; externalId: string; reason: string }

/** A catalogue id, or a vendor id (e.g. KB5044284) standing for every catalogue entry with that external id. */
async function resolvePatches(ctx: ReadContext, refs: string[]): Promise<ScopedRow<'patch'>[]> {
  // Unknown references go through require too, so they answer with the standard NOT_FOUND.
  const ids = await ctx.data.patches.resolveRefs(refs);
  return Promise.all(ids.map((p) => ctx.data.require('patch', p)));
}

async function windowsOf(ctx: ReadContext, tenant: Tenant): Promise<MaintenanceWindow[]> {
  return (await ctx.data.windows.ofTenant(tenant.id)).map(windowFromRow);
}

const occurrenceDetail = (o: Occurrence | null) =>
  o ? { name: o.window.name, schedule: describeWindow(o.window), start: o.start.toISOString(), end: o.end.toISOString() } : null;

const SKIP_REASON: Record<string, string> = {
  installed: 'already installed',
  scheduled: 'already scheduled',
  installing: 'installation in progress',
};

export const deployPatches = writeTool({
  name: 'deploy_patches',
  title: 'Deploy patches',
  description: 'Install patches on 1-50 devices of one tenant. Tier 3: a technician approves the patch list, targets and timing first. '
    + 'patchIds are catalogue ids from get_patch_status (patchId) or vendor ids such as KB5044284 (externalId; matches every catalogue entry with it). '
    + 'Only patches for the device\'s OS that are missing or failed on that device are deployed; the rest are reported as skipped with the reason. '
    + 'Honours the tenant\'s maintenance windows: inside a window the install is queued now; outside, whenOutsideWindow "schedule" (default) queues it '
    + 'to start at the next window and "refuse" declines; overrideMaintenanceWindow true installs now regardless (shown on the approval card).',
  input: z.object({
    deviceIds: idSet('Device', 1, 50).describe('Target devices, all in one tenant (1-50).'),
    patchIds: idSet('Patch', 1, 50).describe('Catalogue ids (patchId) or vendor ids like KB5044284 (1-50).'),
    overrideMaintenanceWindow: z.boolean().default(false).describe('Install now even outside the maintenance window (the technician sees this).'),
    whenOutsideWindow: z.enum(['schedule', 'refuse']).default('schedule')
      .describe('Outside a window: "schedule" queues for the next window start, "refuse" declines the call.'),
  }),
  output: z.object({
    executionId: z.string(),
    windowFit: z.enum(WINDOW_FITS),
    notBefore: z.string().nullable().describe('Commands do not start before this time (the next window start); null: now.'),
    commands: z.array(commandOutput),
    deployed: z.array(z.object({ deviceId: z.string(), hostname: z.string(), patches: z.array(z.object({ patchId: z.string(), externalId: z.string() })) })),
    skipped: z.array(z.object({ deviceId: z.string(), hostname: z.string(), patchId: z.string(), externalId: z.string(), reason: z.string() })),
    note: z.string(),
  }),
  baseTier: 3,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async plan(args, ctx) {
    const deviceRows = byHostname(await Promise.all(args.deviceIds.map((d) => ctx.data.require('device', d))));
    const tenant = singleTenant(deviceRows, 'devices');
    const patchRows = await resolvePatches(ctx, args.patchIds);
    const patches: PlannedPatch[] = patchRows.map((p) => ({
      id: p.id, externalId: String(p.row.external_id), title: String(p.row.title), os: String(p.row.os), severity: String(p.row.severity),
      requiresReboot: p.row.requires_reboot === 1,
    }));
    const skipped: Skipped[] = [];
    const devices: PlannedDevice[] = [];
    for (const r of deviceRows) {
      const d = { id: r.id, hostname: String(r.row.hostname), os: String(r.row.os) };
      const deploy: PlannedPatch[] = [];
      for (const p of patches) {
        const skip = (reason: string) => skipped.push({ deviceId: d.id, hostname: d.hostname, patchId: p.id, externalId: p.externalId, reason });
        if (p.os !== d.os) { skip(`patch is for ${p.os}; the device runs ${d.os}`); continue; }
        const state = await ctx.data.patches.stateOn(d.id, p.id);
        if (state === undefined) skip('the device does not report this patch as applicable');
        else if (state === 'missing' || state === 'failed') deploy.push(p);
        else skip(SKIP_REASON[state] ?? state);
      }
      devices.push({
        ...d, osVersion: String(r.row.os_version), status: String(r.row.status), online: r.row.status === 'online',
        patches: deploy.map((p) => ({ id: p.id, externalId: p.externalId })), requiresReboot: deploy.some((p) => p.requiresReboot),
      });
    }
    const targets = devices.filter((d) => d.patches.length > 0);
    if (!targets.length) {
      const reasons = [...new Set(skipped.map((s) => s.reason))].join('; ');
      throw new AppError('INVALID_ARGUMENTS', `None of the patches needs deploying on these devices (${reasons}). Check get_patch_status for missing patches.`,
        'nothing_to_deploy', { skipped });
    }

    const windows = await windowsOf(ctx, tenant);
    const { inside, next } = windowState(windows, ctx.now);
    let windowFit: WindowFit;
    let notBefore: string | null = null;
    if (inside) windowFit = 'inside';
    else if (args.overrideMaintenanceWindow) windowFit = 'override';
    else if (!next) {
      throw new AppError('INVALID_ARGUMENTS', `Tenant ${tenant.slug} has no maintenance window, so the install cannot be scheduled into one. `
        + 'Ask a technician to define a window, or call again with overrideMaintenanceWindow true to install now (the technician will see the override).',
      'maintenance_window', { windows: 0 });
    } else if (args.whenOutsideWindow === 'refuse') {
      throw new AppError('INVALID_ARGUMENTS', `It is outside tenant ${tenant.slug}'s maintenance window; the next window "${next.window.name}" `
        + `(${describeWindow(next.window)}) opens at ${next.start.toISOString()}. Call again then, with whenOutsideWindow "schedule" to queue for it, `
        + 'or with overrideMaintenanceWindow true to install now.',
      'maintenance_window', { nextWindow: occurrenceDetail(next) });
    } else {
      windowFit = 'scheduled_for_next_window';
      notBefore = next.start.toISOString();
    }

    const deployCount = targets.reduce((n, d) => n + d.patches.length, 0);
    const reboot = targets.some((d) => d.requiresReboot);
    const when = windowFit === 'inside' ? `now, inside window "${inside!.window.name}"`
      : windowFit === 'override' ? 'now, OVERRIDING the maintenance window' : `at ${notBefore} (next window "${next!.window.name}")`;
    const used = new Set(targets.flatMap((d) => d.patches.map((p) => p.id)));
    return {
      tenant,
      summary: `deploy ${used.size} patch(es) (${deployCount} install(s)${reboot ? ', reboot required' : ''}) to ${targets.length} device(s) in ${tenant.slug} `
        + `${when}: ${targets.map((d) => d.hostname).join(', ')}`,
      detail: {
        windowFit,
        overrideMaintenanceWindow: args.overrideMaintenanceWindow,
        whenOutsideWindow: args.whenOutsideWindow,
        now: ctx.now.toISOString(),
        notBefore,
        currentWindow: occurrenceDetail(inside),
        nextWindow: occurrenceDetail(next),
        windows: windows.map((w) => ({ name: w.name, schedule: describeWindow(w) })),
        patches: patches.filter((p) => used.has(p.id)),
        devices: targets,
        deviceCount: targets.length,
        offlineCount: targets.filter((d) => !d.online).length,
        installCount: deployCount,
        rebootRequired: reboot,
        skipped,
      },
      deviceIds: args.deviceIds,
      effect: {
        deviceIds: args.deviceIds, patchIds: patches.map((p) => p.id).sort(),
        overrideMaintenanceWindow: args.overrideMaintenanceWindow, whenOutsideWindow: args.whenOutsideWindow,
      },
    };
  },
  async execute(_args, ctx, plan) {
    const now = ctx.now.toISOString();
    const notBefore = plan.detail.notBefore as string | null;
    const skipped = [...(plan.detail.skipped as Skipped[])];
    // Claim each planned install; one whose state changed since the plan is skipped, not deployed twice.
    const deployed: PlannedDevice[] = [];
    for (const d of plan.detail.devices as PlannedDevice[]) {
      const claimed: PlannedDevice['patches'] = [];
      for (const p of d.patches) {
        if (await ctx.data.patches.claim(d.id, p.id, now)) claimed.push(p);
        else skipped.push({ deviceId: d.id, hostname: d.hostname, patchId: p.id, externalId: p.externalId, reason: 'state changed since the plan' });
      }
      if (claimed.length) deployed.push({ ...d, patches: claimed });
    }
    if (!deployed.length) throw new AppError('CONFLICT', 'Every planned patch was scheduled or installed by someone else meanwhile; nothing was queued.', 'nothing_to_deploy');
    const reboot = new Map((plan.detail.patches as PlannedPatch[]).map((p) => [p.id, p.requiresReboot]));
    const byId = new Map(deployed.map((d) => [d.id, d]));
    const { executionId, commands } = await ctx.data.commands.queue({
      tenant: plan.tenant!, kind: 'patch_install', tool: 'deploy_patches', summary: plan.summary, detail: plan.detail, devices: deployed, notBefore,
      payload: (ref) => {
        const d = byId.get(ref.id)!;
        return {
          patches: d.patches.map((p) => p.externalId), patchIds: d.patches.map((p) => p.id),
          requiresReboot: d.patches.some((p) => reboot.get(p.id) === true), windowFit: plan.detail.windowFit, overrideMaintenanceWindow: plan.detail.overrideMaintenanceWindow,
        };
      },
    });
    return {
      executionId,
      windowFit: plan.detail.windowFit as WindowFit,
      notBefore,
      commands,
      deployed: deployed.map((d) => ({ deviceId: d.id, hostname: d.hostname, patches: d.patches.map((p) => ({ patchId: p.id, externalId: p.externalId })) })),
      skipped,
      note: notBefore ? `${NO_AGENT_NOTE} The commands wait until ${notBefore}.` : NO_AGENT_NOTE,
    };
  },
});
