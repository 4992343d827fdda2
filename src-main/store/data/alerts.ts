// Alerts of the call's tenants: the filtered list, and the acknowledge and resolve transitions.
import { placeholders } from '../sql.ts';
import { ScopedData } from './scope.ts';

export type AlertSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type AlertStatus = 'active' | 'acknowledged' | 'resolved';

export interface AlertRow {
  id: string; tenant_id: string; device_id: string; hostname: string; severity: AlertSeverity; status: AlertStatus; title: string; message: string;
  triggered_at: string; acknowledged_at: string | null; acknowledged_by: string | null; resolved_at: string | null; resolved_by: string | null;
  resolution_note: string | null;
}

export interface AlertFilter {
  tenant?: string;
  deviceId?: string;
  statuses: readonly AlertStatus[];
  severities?: readonly AlertSeverity[];
  /** ISO times in the stored form (UTC toISOString), so text order is time order. */
  since?: string;
  until?: string;
}

export class Alerts extends ScopedData {

  async list(f: AlertFilter, offset: number, limit: number): Promise<{ total: number; rows: AlertRow[] }> {
    const tf = this.scope.filter('a.tenant_id', f.tenant);
    const where = [tf.sql, `a.status IN (${placeholders(f.statuses.length)})`];
    const params: unknown[] = [...tf.params, ...f.statuses];
    if (f.severities) where.push(`a.severity IN (${placeholders(f.severities.length)})`), params.push(...f.severities);
    if (f.deviceId) where.push('a.device_id = ?'), params.push(f.deviceId);
    if (f.since) where.push('a.triggered_at >= ?'), params.push(f.since);
    if (f.until) where.push('a.triggered_at < ?'), params.push(f.until);
    const from = `FROM alerts a JOIN devices d ON d.id = a.device_id WHERE ${where.join(' AND ')}`;
    const total = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n ${from}`, params))!.n;
    const rows = await this.sql.all<AlertRow>(`SELECT a.*, d.hostname ${from} ORDER BY a.triggered_at DESC, a.id DESC LIMIT ? OFFSET ?`, [...params, limit, offset]);
    return { total, rows };
  }

  /** Current status of an alert in scope (undefined outside it). */
  async status(id: string): Promise<AlertStatus | undefined> {
    const tf = this.scope.filter('tenant_id');
    return (await this.sql.get<{ status: AlertStatus }>(`SELECT status FROM alerts WHERE id = ? AND ${tf.sql}`, [id, ...tf.params]))?.status;
  }

  /** active → acknowledged; false when the alert was not active (or not in scope). */
  async acknowledge(id: string, at: string, by: string): Promise<boolean> {
    const tf = this.scope.filter('tenant_id');
    const r = await this.sql.run(`UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ? AND status = 'active' AND ${tf.sql}`,
      [at, by, id, ...tf.params]);
    return r.changes === 1;
  }

  /** active | acknowledged → resolved, with its note; false when it was already resolved (or not in scope). */
  async resolve(id: string, at: string, by: string, note: string): Promise<boolean> {
    const tf = this.scope.filter('tenant_id');
    const r = await this.sql.run(`UPDATE alerts SET status = 'resolved', resolved_at = ?, resolved_by = ?, resolution_note = ?
      WHERE id = ? AND status IN ('active', 'acknowledged') AND ${tf.sql}`, [at, by, note, id, ...tf.params]);
    return r.changes === 1;
  }
}
