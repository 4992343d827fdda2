// Per-device facts of one tenant, the basis of fleet_health_check and compliance_summary.
import { ScopedData } from './scope.ts';
import { OPEN_ALERT, PENDING_COMMAND, PENDING_PATCH } from './predicates.ts';

export interface DeviceFacts {
  id: string; hostname: string; os: 'windows' | 'macos' | 'linux'; status: 'online' | 'offline'; compliance: 'compliant' | 'non_compliant' | 'unknown';
  isolated: number; last_seen_at: string;
  alerts: Record<string, number>; missing: Record<string, number>; failed: number; pending: number;
}

export class Fleet extends ScopedData {

  /** Every device of one tenant with its open alerts, missing patches (missing or failed) and pending commands. */
  async tenantFacts(tenantId: string): Promise<DeviceFacts[]> {
    this.scope.tenantById(tenantId);
    const devices = await this.sql.all<Omit<DeviceFacts, 'alerts' | 'missing' | 'failed' | 'pending'>>(
      'SELECT id, hostname, os, status, compliance, isolated, last_seen_at FROM devices WHERE tenant_id = ? ORDER BY hostname, id', [tenantId]);
    const byId = new Map(devices.map((d) => [d.id, { ...d, alerts: {}, missing: {}, failed: 0, pending: 0 } as DeviceFacts]));
    for (const r of await this.sql.all<{ device_id: string; severity: string; n: number }>(
      `SELECT device_id, severity, count(*) AS n FROM alerts WHERE tenant_id = ? AND ${OPEN_ALERT} GROUP BY device_id, severity`, [tenantId])) {
      const d = byId.get(r.device_id);
      if (d) d.alerts[r.severity] = r.n;
    }
    for (const r of await this.sql.all<{ device_id: string; severity: string; failed: number; n: number }>(
      `SELECT dp.device_id, p.severity, sum(CASE WHEN dp.state = 'failed' THEN 1 ELSE 0 END) AS failed, count(*) AS n
        FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id
        WHERE d.tenant_id = ? AND dp.${PENDING_PATCH} GROUP BY dp.device_id, p.severity`, [tenantId])) {
      const d = byId.get(r.device_id);
      if (d) d.missing[r.severity] = r.n, d.failed += r.failed;
    }
    for (const r of await this.sql.all<{ device_id: string; n: number }>(
      `SELECT device_id, count(*) AS n FROM device_commands WHERE tenant_id = ? AND ${PENDING_COMMAND} GROUP BY device_id`, [tenantId])) {
      const d = byId.get(r.device_id);
      if (d) d.pending = r.n;
    }
    return [...byId.values()];
  }
}
