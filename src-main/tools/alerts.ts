import { z } from 'zod';
import { readTool, writeTool, type ReadContext } from './types.ts';
import { id, idSet, tenantArg } from './common.ts';
import { asList, oneOrMany, tenantAndDevice } from './filters.ts';
import { decodeCursor, page, pageInput, pageOutput } from './paging.ts';
import { singleTenant } from '../store/data/index.ts';
import type { AlertRow } from '../store/data/alerts.ts';
import { AppError } from '../errors.ts';

export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const ALERT_STATUSES = ['active', 'acknowledged', 'resolved'] as const;
type Severity = (typeof ALERT_SEVERITIES)[number];
type Status = (typeof ALERT_STATUSES)[number];

/** Caller identity recorded on the alert: the key's name. */
export const actorOf = (ctx: ReadContext) => `key:${ctx.key.name}`;

const alertOutput = z.object({
  id: z.string(), tenant: z.string(), deviceId: z.string(), hostname: z.string(), severity: z.enum(ALERT_SEVERITIES), status: z.enum(ALERT_STATUSES),
  title: z.string(), message: z.string(), triggeredAt: z.string(),
  acknowledgedAt: z.string().nullable(), acknowledgedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(), resolvedBy: z.string().nullable(), resolutionNote: z.string().nullable(),
});

const toAlert = (ctx: ReadContext, r: AlertRow): z.infer<typeof alertOutput> => ({
  id: r.id, tenant: ctx.data.scope.slugOf(r.tenant_id), deviceId: r.device_id, hostname: r.hostname, severity: r.severity, status: r.status,
  title: r.title, message: r.message, triggeredAt: r.triggered_at, acknowledgedAt: r.acknowledged_at, acknowledgedBy: r.acknowledged_by,
  resolvedAt: r.resolved_at, resolvedBy: r.resolved_by, resolutionNote: r.resolution_note,
});

const isoTime = (what: string) => z.iso.datetime({ offset: true }).optional()
  .describe(`${what} (ISO 8601 with Z or offset, e.g. 2026-11-20T00:00:00Z), compared with the alert's triggered time.`);

export const getAlerts = readTool({
  name: 'get_alerts',
  title: 'Get alerts',
  description: 'List alerts of this key\'s tenants, newest first. By default only open alerts (active and acknowledged); pass status '
    + '"resolved" (or a list) to see closed ones. Filter by tenant, device, severity and a triggered-time range. Paginated.',
  input: z.object({
    tenant: tenantArg,
    deviceId: id('Device').optional().describe('Only alerts of this device.'),
    severity: oneOrMany(ALERT_SEVERITIES, 'Severity'),
    status: oneOrMany(ALERT_STATUSES, 'Status (default: active and acknowledged, i.e. not resolved)'),
    since: isoTime('Only alerts triggered at or after this time'),
    until: isoTime('Only alerts triggered before this time'),
    ...pageInput,
  }),
  output: z.object({ alerts: z.array(alertOutput), ...pageOutput }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async plan(args, ctx) {
    const { selected, device } = await tenantAndDevice(ctx, args.tenant, args.deviceId);
    if (args.since && args.until && Date.parse(args.since) >= Date.parse(args.until)) {
      throw new AppError('INVALID_ARGUMENTS', '`since` must be earlier than `until`.', 'invalid_time_range');
    }
    return { tenant: device?.tenant ?? (args.tenant ? selected[0]! : null), summary: 'list alerts', detail: {} };
  },
  async execute(args, ctx) {
    const offset = decodeCursor(args.cursor);
    const { total, rows } = await ctx.data.alerts.list({
      tenant: args.tenant, deviceId: args.deviceId, statuses: asList(args.status) ?? ['active', 'acknowledged'], severities: asList(args.severity),
      // Stored times are UTC toISOString() text; inputs are normalised to the same form so text order is time order.
      since: args.since ? new Date(args.since).toISOString() : undefined, until: args.until ? new Date(args.until).toISOString() : undefined,
    }, offset, args.limit);
    const { items, ...rest } = page(offset, args.limit, total, rows.map((r) => toAlert(ctx, r)));
    return { alerts: items, ...rest };
  },
});

const alertIds = idSet('Alert', 1, 100).describe('Alerts to change (1-100), all in one tenant.');

/** Checks every id against the key's tenants and describes the alerts for the approval card and audit log. */
async function planAlerts(ctx: ReadContext, ids: string[], verb: string) {
  const rows = await Promise.all(ids.map((a) => ctx.data.require('alert', a)));
  const tenant = singleTenant(rows, 'alerts');
  const hostnames = await ctx.data.devices.hostnames(rows.map((r) => String(r.row.device_id)));
  const alerts = rows.map((r) => ({
    id: r.id, title: String(r.row.title), severity: String(r.row.severity), status: String(r.row.status),
    deviceId: String(r.row.device_id), hostname: hostnames.get(String(r.row.device_id)) ?? '',
  }));
  const titles = alerts.slice(0, 5).map((a) => `${a.severity} "${a.title}" on ${a.hostname}`).join('; ');
  const more = alerts.length > 5 ? `; and ${alerts.length - 5} more` : '';
  return { tenant, alerts, summary: `${verb} ${alerts.length} alert(s) in ${tenant.slug}: ${titles}${more}` };
}

const outcome = z.object({
  alertId: z.string(),
  outcome: z.enum(['acknowledged', 'resolved', 'unchanged', 'skipped']),
  status: z.enum(ALERT_STATUSES).describe('Status after the call.'),
  reason: z.string().nullable().describe('Why an alert was left unchanged or skipped.'),
});
type Outcome = z.infer<typeof outcome>;

const counts = (results: Outcome[]) => ({
  changed: results.filter((r) => r.outcome === 'acknowledged' || r.outcome === 'resolved').length,
  unchanged: results.filter((r) => r.outcome === 'unchanged').length,
  skipped: results.filter((r) => r.outcome === 'skipped').length,
});
const countsOutput = z.object({ changed: z.number().int(), unchanged: z.number().int(), skipped: z.number().int() });

export const acknowledgeAlerts = writeTool({
  name: 'acknowledge_alerts',
  title: 'Acknowledge alerts',
  description: 'Mark active alerts as acknowledged (someone is on it), recording the time and this key as acknowledger. Tier 2. '
    + 'Already-acknowledged alerts are reported as unchanged; resolved alerts cannot be acknowledged and are reported as skipped. '
    + 'The optional note is kept in the audit log entry of this call (alerts have no acknowledgement-note field).',
  input: z.object({
    alertIds,
    note: z.string().min(1).max(1000).optional().describe('Why or by whom it is being handled; recorded in the audit log.'),
  }),
  output: z.object({ results: z.array(outcome), counts: countsOutput, acknowledgedAt: z.string(), acknowledgedBy: z.string() }),
  baseTier: 2,
  // Only fills in acknowledgement fields and moves active → acknowledged; nothing is removed. A repeat changes nothing.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async plan(args, ctx) {
    const { tenant, alerts, summary } = await planAlerts(ctx, args.alertIds, 'acknowledge');
    return { tenant, summary, detail: { alerts, alertCount: alerts.length, note: args.note ?? null }, effect: { alertIds: args.alertIds } };
  },
  async execute(args, ctx) {
    const at = ctx.now.toISOString();
    const by = actorOf(ctx);
    const results: Outcome[] = [];
    for (const alertId of args.alertIds) {
      if (await ctx.data.alerts.acknowledge(alertId, at, by)) {
        results.push({ alertId, outcome: 'acknowledged', status: 'acknowledged', reason: null });
        continue;
      }
      const current = (await ctx.data.alerts.status(alertId)) as Status;
      if (current === 'resolved') results.push({ alertId, outcome: 'skipped', status: current, reason: 'already resolved; resolved alerts cannot be acknowledged' });
      else results.push({ alertId, outcome: 'unchanged', status: current, reason: 'already acknowledged' });
    }
    return { results, counts: counts(results), acknowledgedAt: at, acknowledgedBy: by };
  },
});

export const resolveAlerts = writeTool({
  name: 'resolve_alerts',
  title: 'Resolve alerts',
  description: 'Close active or acknowledged alerts with a resolution note (kept on the alert), recording the time and this key as resolver. '
    + 'Tier 2. Already-resolved alerts are reported as unchanged and keep their original note. There is no tool to reopen an alert.',
  input: z.object({
    alertIds,
    resolutionNote: z.string().trim().min(1).max(2000).describe('What fixed it or why it is closed (1-2000 characters); stored on each alert.'),
  }),
  output: z.object({ results: z.array(outcome), counts: countsOutput, resolvedAt: z.string(), resolvedBy: z.string() }),
  baseTier: 2,
  // Closing is irreversible through the tools (no reopen), so it is not reported as purely additive. A repeat changes nothing.
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async plan(args, ctx) {
    const { tenant, alerts, summary } = await planAlerts(ctx, args.alertIds, 'resolve');
    return { tenant, summary, detail: { alerts, alertCount: alerts.length, resolutionNote: args.resolutionNote }, effect: { alertIds: args.alertIds } };
  },
  async execute(args, ctx) {
    const at = ctx.now.toISOString();
    const by = actorOf(ctx);
    const results: Outcome[] = [];
    for (const alertId of args.alertIds) {
      if (await ctx.data.alerts.resolve(alertId, at, by, args.resolutionNote)) results.push({ alertId, outcome: 'resolved', status: 'resolved', reason: null });
      else results.push({ alertId, outcome: 'unchanged', status: 'resolved', reason: 'already resolved' });
    }
    return { results, counts: counts(results), resolvedAt: at, resolvedBy: by };
  },
});

