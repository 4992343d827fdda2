// The fleet at a glance, per tenant: what the AI sees through the tools, counted with grouped, prepared queries.
import type { Sql } from '../store/sql.ts';
import { describeWindow, windowFromRow, windowState } from '../tools/maintenanceWindow.ts';
import { ALERT_SEVERITIES, OS_NAMES, PATCH_SEVERITIES, type FleetTenantT } from './contract.ts';

interface TenantRow { id: string; slug: string; name: string }

export function createFleetView(sql: Sql) {
  async function one(t: TenantRow, now: Date): Promise<FleetTenantT> {
    const [devices, alerts, patches, affected, commands, windows] = await Promise.all([
      sql.all<{ os: string; status: string; isolated: number; compliance: string; n: number }>(
        `SELECT os, status, isolated, compliance, count(*) AS n FROM devices WHERE tenant_id = ? GROUP BY os, status, isolated, compliance`, [t.id]),
      sql.all<{ severity: (typeof ALERT_SEVERITIES)[number]; status: string; n: number }>(
        `SELECT severity, status, count(*) AS n FROM alerts WHERE tenant_id = ? AND status != 'resolved' GROUP BY severity, status`, [t.id]),
      sql.all<{ severity: (typeof PATCH_SEVERITIES)[number]; state: string; reboot: number; n: number }>(`SELECT p.severity, dp.state, p.requires_reboot AS reboot, count(*) AS n
        FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id
        WHERE d.tenant_id = ? AND dp.state IN ('missing', 'failed', 'scheduled') GROUP BY p.severity, dp.state, p.requires_reboot`, [t.id]),
      sql.get<{ n: number }>(`SELECT count(DISTINCT dp.device_id) AS n FROM device_patches dp JOIN devices d ON d.id = dp.device_id
        WHERE d.tenant_id = ? AND dp.state IN ('missing', 'failed')`, [t.id]),
      sql.get<{ n: number }>(`SELECT count(*) AS n FROM device_commands WHERE tenant_id = ? AND status IN ('queued', 'running')`, [t.id]),
      sql.all<{ id: string; name: string; days: string; start_minute: number; duration_minutes: number }>(
        'SELECT id, name, days, start_minute, duration_minutes FROM maintenance_windows WHERE tenant_id = ? ORDER BY name, id', [t.id]),
    ]);
    const dev = { total: 0, online: 0, offline: 0, isolated: 0 };
    const compliance = { compliant: 0, nonCompliant: 0, unknown: 0 };
    const byOs = new Map<string, { os: string; total: number; online: number; offline: number }>(OS_NAMES.map((os) => [os, { os, total: 0, online: 0, offline: 0 }]));
    for (const r of devices) {
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
    for (const r of alerts) {
      if (r.status === 'active') {
        activeAlerts[r.severity] += r.n;
        activeAlerts.total += r.n;
      } else activeAlerts.acknowledged += r.n;
    }
    const pendingPatches = { ...Object.fromEntries(PATCH_SEVERITIES.map((s) => [s, 0])), total: 0, devicesAffected: 0, scheduled: 0, rebootRequired: 0 } as FleetTenantT['pendingPatches'];
    for (const r of patches) {
      if (r.state === 'scheduled') {
        pendingPatches.scheduled += r.n;
        continue;
      }
      pendingPatches[r.severity] += r.n;
      pendingPatches.total += r.n;
      if (r.reboot) pendingPatches.rebootRequired += r.n;
    }
    pendingPatches.devicesAffected = affected!.n;
    const ws = windows.map(windowFromRow);
    const state = windowState(ws, now);
    return {
      slug: t.slug, name: t.name, devices: dev, byOs: [...byOs.values()], compliance, activeAlerts, pendingPatches,
      pendingCommands: commands!.n,
      maintenance: { windows: ws.map((w) => ({ name: w.name, schedule: describeWindow(w) })), inside: state.inside !== null, nextStart: state.next?.start.toISOString() ?? null },
    };
  }

  /** `tenantIds`: these tenants only (what a technician may see); undefined: every tenant. */
  return async (now = new Date(), tenantIds?: readonly string[]) => {
    const among = new Set(tenantIds);
    const tenants = (await sql.all<TenantRow>('SELECT id, slug, name FROM tenants ORDER BY slug')).filter((t) => !tenantIds || among.has(t.id));
    return { tenants: await Promise.all(tenants.map((t) => one(t, now))), generatedAt: now.toISOString() };
  };
}
