// The fleet at a glance, per tenant: what the AI sees through the tools, counted with grouped, prepared queries.
import type { Db } from '../store/db.ts';
import { describeWindow, windowFromRow, windowState } from '../tools/maintenanceWindow.ts';
import { ALERT_SEVERITIES, OS_NAMES, PATCH_SEVERITIES, type FleetTenantT } from './contract.ts';

interface TenantRow { id: string; slug: string; name: string }

export function createFleetView(db: Db) {
  const tenants = db.prepare('SELECT id, slug, name FROM tenants ORDER BY slug');
  const devices = db.prepare(`SELECT os, status, isolated, compliance, count(*) AS n FROM devices WHERE tenant_id = ? GROUP BY os, status, isolated, compliance`);
  const alerts = db.prepare(`SELECT severity, status, count(*) AS n FROM alerts WHERE tenant_id = ? AND status != 'resolved' GROUP BY severity, status`);
  const patches = db.prepare(`SELECT p.severity, dp.state, p.requires_reboot AS reboot, count(*) AS n, count(DISTINCT dp.device_id) AS devices
    FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id
    WHERE d.tenant_id = ? AND dp.state IN ('missing', 'failed', 'scheduled') GROUP BY p.severity, dp.state, p.requires_reboot`);
  const affected = db.prepare(`SELECT count(DISTINCT dp.device_id) AS n FROM device_patches dp JOIN devices d ON d.id = dp.device_id
    WHERE d.tenant_id = ? AND dp.state IN ('missing', 'failed')`);
  const commands = db.prepare(`SELECT count(*) AS n FROM device_commands WHERE tenant_id = ? AND status IN ('queued', 'running')`);
  const windows = db.prepare('SELECT id, name, days, start_minute, duration_minutes FROM maintenance_windows WHERE tenant_id = ? ORDER BY name, id');

  function one(t: TenantRow, now: Date): FleetTenantT {
    const dev = { total: 0, online: 0, offline: 0, isolated: 0 };
    const compliance = { compliant: 0, nonCompliant: 0, unknown: 0 };
    const byOs = new Map<string, { os: string; total: number; online: number; offline: number }>(OS_NAMES.map((os) => [os, { os, total: 0, online: 0, offline: 0 }]));
    for (const r of devices.all(t.id) as { os: string; status: string; isolated: number; compliance: string; n: number }[]) {
      dev.total += r.n;
      if (r.status === 'online') dev.online += r.n;
      else dev.offline += r.n;
      if (r.isolated) dev.isolated += r.n;
      if (r.compliance === 'compliant') compliance.compliant += r.n;
      else if (r.compliance === 'non_compliant') compliance.nonCompliant += r.n;
      else compliance.unknown += r.n;
      const o = byOs.get(r.os) ?? { os: r.os, total: 0, online: 0, offline: 0 };
      o.total += r.n;
      if (r.status === 'online') o.online += r.n;
      else o.offline += r.n;
      byOs.set(r.os, o);
    }
    const activeAlerts = { ...Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, 0])), total: 0, acknowledged: 0 } as FleetTenantT['activeAlerts'];
    for (const r of alerts.all(t.id) as { severity: (typeof ALERT_SEVERITIES)[number]; status: string; n: number }[]) {
      if (r.status === 'active') {
        activeAlerts[r.severity] += r.n;
        activeAlerts.total += r.n;
      } else activeAlerts.acknowledged += r.n;
    }
    const pendingPatches = { ...Object.fromEntries(PATCH_SEVERITIES.map((s) => [s, 0])), total: 0, devicesAffected: 0, scheduled: 0, rebootRequired: 0 } as FleetTenantT['pendingPatches'];
    for (const r of patches.all(t.id) as { severity: (typeof PATCH_SEVERITIES)[number]; state: string; reboot: number; n: number }[]) {
      if (r.state === 'scheduled') {
        pendingPatches.scheduled += r.n;
        continue;
      }
      pendingPatches[r.severity] += r.n;
      pendingPatches.total += r.n;
      if (r.reboot) pendingPatches.rebootRequired += r.n;
    }
    pendingPatches.devicesAffected = (affected.get(t.id) as { n: number }).n;
    const ws = (windows.all(t.id) as { id: string; name: string; days: string; start_minute: number; duration_minutes: number }[]).map(windowFromRow);
    const state = windowState(ws, now);
    return {
      slug: t.slug, name: t.name, devices: dev, byOs: [...byOs.values()], compliance, activeAlerts, pendingPatches,
      pendingCommands: (commands.get(t.id) as { n: number }).n,
      maintenance: { windows: ws.map((w) => ({ name: w.name, schedule: describeWindow(w) })), inside: state.inside !== null, nextStart: state.next?.start.toISOString() ?? null },
    };
  }

  return (now = new Date()) => ({ tenants: (tenants.all() as TenantRow[]).map((t) => one(t, now)), generatedAt: now.toISOString() });
}
