import { z } from 'zod';
import { readTool } from './types.ts';
import { OS, tenantArg } from './common.ts';
import type { DeviceFacts } from '../store/data/fleet.ts';

const STALE_HOURS = 24;

export const HEALTH_RULE = 'Health score: start at 100 and subtract 25 x (share of devices non-compliant), 20 x (share of devices missing a critical '
  + `patch), 15 x (share of devices not seen for over ${STALE_HOURS} hours), 10 x (share of devices offline), 5 per open critical alert (at most 20) `
  + 'and 2 per open high alert (at most 10); round, floor at 0. Grade: A >= 90, B >= 80, C >= 70, D >= 60, else F. A tenant without devices scores '
  + 'on its alerts alone.';

export const PROBLEM_RULE = `Problem points per device: not seen for over ${STALE_HOURS} hours 3 (else offline 1), non-compliant 3, each open critical `
  + 'alert 3, each open high alert 2, each missing critical patch 2, each failed patch install 1, network-isolated 1. Devices with 0 points are not problems.';

const GRADES: [number, string][] = [[90, 'A'], [80, 'B'], [70, 'C'], [60, 'D']];
export const gradeOf = (score: number) => GRADES.find(([min]) => score >= min)?.[1] ?? 'F';

const sevCounts = <K extends string>(keys: readonly K[], devices: DeviceFacts[], pick: (d: DeviceFacts) => Record<string, number>) => {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const d of devices) for (const k of keys) out[k] += pick(d)[k] ?? 0;
  return out;
};

const ALERT_SEV = ['critical', 'high', 'medium', 'low', 'info'] as const;
const PATCH_SEV = ['critical', 'important', 'moderate', 'low'] as const;
const count = z.number().int();
const osCounts = z.object({ os: z.enum(OS), total: count, online: count, offline: count });
const problemDevice = z.object({
  deviceId: z.string(), hostname: z.string(), os: z.enum(OS), status: z.enum(['online', 'offline']), points: count, reasons: z.array(z.string()),
});

const tenantHealth = z.object({
  tenant: z.string(), name: z.string(),
  devices: z.object({ total: count, online: count, offline: count, isolated: count, byOs: z.array(osCounts) }),
  notSeenOver24h: count.describe(`Devices whose last check-in is more than ${STALE_HOURS} hours old.`),
  openAlerts: z.object({ critical: count, high: count, medium: count, low: count, info: count, total: count }).describe('Active or acknowledged alerts.'),
  missingPatches: z.object({ critical: count, important: count, moderate: count, low: count, total: count, devicesAffected: count })
    .describe('Device-patch pairs missing or failed, by patch severity.'),
  compliance: z.object({ compliant: count, nonCompliant: count, unknown: count }),
  pendingCommands: count.describe('Device commands queued or running.'),
  problemDevices: z.array(problemDevice).describe('Worst devices first.'),
  problemDeviceTotal: count,
  problemDevicesTruncated: z.boolean(),
  health: z.object({ score: count, grade: z.enum(['A', 'B', 'C', 'D', 'F']), deductions: z.array(z.object({ factor: z.string(), points: z.number() })) }),
});

function problemsOf(d: DeviceFacts, staleBefore: string): { points: number; reasons: string[] } {
  let points = 0;
  const reasons: string[] = [];
  const add = (p: number, reason: string) => { points += p; reasons.push(reason); };
  if (d.last_seen_at < staleBefore) add(3, `not seen since ${d.last_seen_at}`);
  else if (d.status === 'offline') add(1, 'offline');
  if (d.compliance === 'non_compliant') add(3, 'non-compliant');
  if (d.alerts.critical) add(3 * d.alerts.critical, `${d.alerts.critical} open critical alert(s)`);
  if (d.alerts.high) add(2 * d.alerts.high, `${d.alerts.high} open high alert(s)`);
  if (d.missing.critical) add(2 * d.missing.critical, `${d.missing.critical} missing critical patch(es)`);
  if (d.failed) add(d.failed, `${d.failed} failed patch install(s)`);
  if (d.isolated) add(1, 'network-isolated');
  return { points, reasons };
}

export function healthOf(devices: DeviceFacts[], openCritical: number, openHigh: number, staleBefore: string) {
  const n = devices.length;
  const share = (f: (d: DeviceFacts) => boolean) => (n ? devices.filter(f).length / n : 0);
  const round1 = (x: number) => Math.round(x * 10) / 10;
  const deductions = [
    { factor: 'non-compliant devices', points: round1(25 * share((d) => d.compliance === 'non_compliant')) },
    { factor: 'devices missing a critical patch', points: round1(20 * share((d) => (d.missing.critical ?? 0) > 0)) },
    { factor: `devices not seen for over ${STALE_HOURS}h`, points: round1(15 * share((d) => d.last_seen_at < staleBefore)) },
    { factor: 'offline devices', points: round1(10 * share((d) => d.status === 'offline')) },
    { factor: 'open critical alerts', points: Math.min(20, 5 * openCritical) },
    { factor: 'open high alerts', points: Math.min(10, 2 * openHigh) },
  ].filter((x) => x.points > 0);
  const score = Math.max(0, Math.round(100 - deductions.reduce((s, x) => s + x.points, 0)));
  return { score, grade: gradeOf(score) as 'A' | 'B' | 'C' | 'D' | 'F', deductions };
}

export const fleetHealthCheck = readTool({
  name: 'fleet_health_check',
  title: 'Fleet health check',
  description: 'One health overview per tenant: devices online/offline by OS, devices silent for over 24 hours, open alerts and missing patches by '
    + 'severity, compliance, pending device commands, the worst devices with reasons, and a health score and grade. '
    + `${HEALTH_RULE} ${PROBLEM_RULE}`,
  input: z.object({
    tenant: tenantArg,
    topDevices: z.number().int().min(1).max(25).default(5).describe('How many problem devices to list per tenant (1-25).'),
  }),
  output: z.object({ generatedAt: z.string(), healthRule: z.string(), tenants: z.array(tenantHealth) }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: async (args, ctx) => ({ tenant: args.tenant ? ctx.data.scope.select(args.tenant)[0]! : null, summary: 'fleet health check', detail: {} }),
  async execute(args, ctx) {
    const staleBefore = new Date(ctx.now.getTime() - STALE_HOURS * 3_600_000).toISOString();
    const tenants: z.infer<typeof tenantHealth>[] = [];
    for (const t of ctx.data.scope.select(args.tenant)) {
      const devices = await ctx.data.fleet.tenantFacts(t.id);
      const openAlerts = sevCounts(ALERT_SEV, devices, (d) => d.alerts);
      const missing = sevCounts(PATCH_SEV, devices, (d) => d.missing);
      const problems = devices.map((d) => ({ d, ...problemsOf(d, staleBefore) })).filter((p) => p.points > 0)
        .sort((a, b) => b.points - a.points || a.d.hostname.localeCompare(b.d.hostname) || a.d.id.localeCompare(b.d.id));
      const byOs = OS.map((os) => {
        const of = devices.filter((d) => d.os === os);
        return { os, total: of.length, online: of.filter((d) => d.status === 'online').length, offline: of.filter((d) => d.status === 'offline').length };
      }).filter((x) => x.total > 0);
      const online = devices.filter((d) => d.status === 'online').length;
      tenants.push({
        tenant: t.slug, name: t.name,
        devices: { total: devices.length, online, offline: devices.length - online, isolated: devices.filter((d) => d.isolated).length, byOs },
        notSeenOver24h: devices.filter((d) => d.last_seen_at < staleBefore).length,
        openAlerts: { ...openAlerts, total: Object.values<number>(openAlerts).reduce((a, b) => a + b, 0) },
        missingPatches: {
          ...missing, total: Object.values<number>(missing).reduce((a, b) => a + b, 0),
          devicesAffected: devices.filter((d) => Object.keys(d.missing).length > 0).length,
        },
        compliance: {
          compliant: devices.filter((d) => d.compliance === 'compliant').length,
          nonCompliant: devices.filter((d) => d.compliance === 'non_compliant').length,
          unknown: devices.filter((d) => d.compliance === 'unknown').length,
        },
        pendingCommands: devices.reduce((s, d) => s + d.pending, 0),
        problemDevices: problems.slice(0, args.topDevices).map((p) => ({
          deviceId: p.d.id, hostname: p.d.hostname, os: p.d.os, status: p.d.status, points: p.points, reasons: p.reasons,
        })),
        problemDeviceTotal: problems.length,
        problemDevicesTruncated: problems.length > args.topDevices,
        health: healthOf(devices, openAlerts.critical, openAlerts.high, staleBefore),
      });
    }
    return { generatedAt: ctx.now.toISOString(), healthRule: HEALTH_RULE, tenants };
  },
});

const complianceDevice = z.object({
  deviceId: z.string(), hostname: z.string(), os: z.enum(OS), status: z.enum(['online', 'offline']),
  compliance: z.enum(['compliant', 'non_compliant', 'unknown']), lastSeenAt: z.string(),
  missingCriticalPatches: count, missingPatches: count, openCriticalAlerts: count,
});
const percent = (part: number, whole: number) => (whole ? Math.round((part / whole) * 1000) / 10 : null);

const complianceTenant = z.object({
  tenant: z.string(), name: z.string(), total: count, compliant: count, nonCompliant: count, unknown: count,
  compliantPercent: z.number().nullable().describe('compliant / total x 100, one decimal; null without devices.'),
  nonCompliantDevices: z.array(complianceDevice), nonCompliantTruncated: z.boolean(),
  devicesMissingCriticalPatches: count,
  criticalPatchDevices: z.array(complianceDevice).describe('Devices missing at least one critical patch, most missing first.'),
  criticalPatchDevicesTruncated: z.boolean(),
});
type ComplianceTenant = z.infer<typeof complianceTenant>;

export const complianceSummary = readTool({
  name: 'compliance_summary',
  title: 'Compliance summary',
  description: 'Compliance posture per tenant as reported by the RMM: compliant, non-compliant and unknown device counts with the compliant percentage '
    + '(of all devices, unknown included in the denominator; null without devices), the non-compliant devices, and the devices missing a critical '
    + 'patch (missing or failed install). Each list holds at most `listLimit` devices, worst first, with its total and a truncated flag.',
  input: z.object({
    tenant: tenantArg,
    listLimit: z.number().int().min(1).max(100).default(25).describe('Devices listed per list and tenant (1-100); totals are always complete.'),
  }),
  output: z.object({
    overall: z.object({ total: count, compliant: count, nonCompliant: count, unknown: count, compliantPercent: z.number().nullable() }),
    tenants: z.array(complianceTenant),
  }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: async (args, ctx) => ({ tenant: args.tenant ? ctx.data.scope.select(args.tenant)[0]! : null, summary: 'compliance summary', detail: {} }),
  async execute(args, ctx) {
    const toDevice = (d: DeviceFacts): z.infer<typeof complianceDevice> => ({
      deviceId: d.id, hostname: d.hostname, os: d.os, status: d.status, compliance: d.compliance, lastSeenAt: d.last_seen_at,
      missingCriticalPatches: d.missing.critical ?? 0, missingPatches: Object.values(d.missing).reduce((a, b) => a + b, 0),
      openCriticalAlerts: d.alerts.critical ?? 0,
    });
    const tenants: ComplianceTenant[] = [];
    for (const t of ctx.data.scope.select(args.tenant)) {
      const devices = (await ctx.data.fleet.tenantFacts(t.id)).map(toDevice);
      const worst = (a: z.infer<typeof complianceDevice>, b: z.infer<typeof complianceDevice>) =>
        b.missingCriticalPatches - a.missingCriticalPatches || b.missingPatches - a.missingPatches || a.hostname.localeCompare(b.hostname) || a.deviceId.localeCompare(b.deviceId);
      const nonCompliant = devices.filter((d) => d.compliance === 'non_compliant').sort(worst);
      const critical = devices.filter((d) => d.missingCriticalPatches > 0).sort(worst);
      const compliant = devices.filter((d) => d.compliance === 'compliant').length;
      tenants.push({
        tenant: t.slug, name: t.name, total: devices.length, compliant, nonCompliant: nonCompliant.length,
        unknown: devices.length - compliant - nonCompliant.length, compliantPercent: percent(compliant, devices.length),
        nonCompliantDevices: nonCompliant.slice(0, args.listLimit), nonCompliantTruncated: nonCompliant.length > args.listLimit,
        devicesMissingCriticalPatches: critical.length,
        criticalPatchDevices: critical.slice(0, args.listLimit), criticalPatchDevicesTruncated: critical.length > args.listLimit,
      });
    }
    const sum = (f: (t: (typeof tenants)[number]) => number) => tenants.reduce((s, t) => s + f(t), 0);
    const total = sum((t) => t.total);
    const compliant = sum((t) => t.compliant);
    return {
      overall: { total, compliant, nonCompliant: sum((t) => t.nonCompliant), unknown: sum((t) => t.unknown), compliantPercent: percent(compliant, total) },
      tenants,
    };
  },
});

