// Patch state per device of the call's tenants, the catalogue lookups deploy_patches plans with, and its install claims.
import { placeholders } from '../sql.ts';
import { ScopedData } from './scope.ts';
import { PENDING_PATCH } from './predicates.ts';

export type PatchSeverity = 'critical' | 'important' | 'moderate' | 'low';
export type PatchState = 'missing' | 'scheduled' | 'installing' | 'installed' | 'failed';

export interface PatchStatusRow {
  device_id: string; hostname: string; tenant_id: string; os: 'windows' | 'macos' | 'linux'; patch_id: string; external_id: string; title: string;
  severity: PatchSeverity; requires_reboot: number; state: PatchState; released_at: string; detected_at: string; updated_at: string;
}

export interface PatchFilter {
  tenant?: string;
  deviceId?: string;
  os?: string;
  severities?: readonly PatchSeverity[];
  states?: readonly PatchState[];
}

export const severityRank = (column: string) =>
  `CASE ${column} WHEN 'critical' THEN 0 WHEN 'important' THEN 1 WHEN 'moderate' THEN 2 ELSE 3 END`;

const JOIN = 'FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id';

export class Patches extends ScopedData {

  /** One page of device-patch rows, plus the missing ones by severity under the tenant/device/OS filters alone. */
  async status(f: PatchFilter, offset: number, limit: number) {
    const tf = this.scope.filter('d.tenant_id', f.tenant);
    const scopeWhere = [tf.sql];
    const scopeParams: unknown[] = [...tf.params];
    if (f.deviceId) scopeWhere.push('d.id = ?'), scopeParams.push(f.deviceId);
    if (f.os) scopeWhere.push('d.os = ?'), scopeParams.push(f.os);
    const where = [...scopeWhere];
    const params = [...scopeParams];
    if (f.severities) where.push(`p.severity IN (${placeholders(f.severities.length)})`), params.push(...f.severities);
    if (f.states) where.push(`dp.state IN (${placeholders(f.states.length)})`), params.push(...f.states);
    const from = `${JOIN} WHERE ${where.join(' AND ')}`;
    const total = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n ${from}`, params))!.n;
    const rows = await this.sql.all<PatchStatusRow>(`SELECT dp.device_id, d.hostname, d.tenant_id, d.os, dp.patch_id, p.external_id, p.title, p.severity,
        p.requires_reboot, dp.state, p.released_at, dp.detected_at, dp.updated_at
      ${from} ORDER BY ${severityRank('p.severity')}, d.hostname, p.external_id, dp.device_id, dp.patch_id LIMIT ? OFFSET ?`, [...params, limit, offset]);
    const missingBySeverity: Record<PatchSeverity, number> = { critical: 0, important: 0, moderate: 0, low: 0 };
    for (const r of await this.sql.all<{ severity: PatchSeverity; n: number }>(`SELECT p.severity, count(*) AS n ${JOIN} WHERE ${scopeWhere.join(' AND ')}
        AND dp.${PENDING_PATCH} GROUP BY p.severity`, scopeParams)) missingBySeverity[r.severity] = r.n;
    return { total, rows, missingBySeverity };
  }

  /**
   * Catalogue ids a reference stands for: the id itself, or every entry with that vendor id (e.g. KB5044284).
   * The catalogue is shared by every tenant; an unknown reference comes back as itself so that the caller's
   * scope check answers NOT_FOUND for it.
   */
  async resolveRefs(refs: readonly string[]): Promise<string[]> {
    const ids = new Set<string>();
    for (const ref of new Set(refs)) {
      const exact = await this.sql.get<{ id: string }>('SELECT id FROM patches WHERE id = ?', [ref]);
      const matches = exact ? [ref] : (await this.sql.all<{ id: string }>('SELECT id FROM patches WHERE lower(external_id) = lower(?) ORDER BY os, id', [ref])).map((r) => r.id);
      for (const m of matches.length ? matches : [ref]) ids.add(m);
    }
    return [...ids];
  }

  /** The state of a patch on a device in scope (undefined when the device does not report it). */
  async stateOn(deviceId: string, patchId: string): Promise<PatchState | undefined> {
    const tf = this.scope.filter('d.tenant_id');
    return (await this.sql.get<{ state: PatchState }>(`SELECT dp.state FROM device_patches dp JOIN devices d ON d.id = dp.device_id
      WHERE dp.device_id = ? AND dp.patch_id = ? AND ${tf.sql}`, [deviceId, patchId, ...tf.params]))?.state;
  }

  /** Claims a planned install (missing | failed → scheduled); false when its state changed since the plan. */
  async claim(deviceId: string, patchId: string, at: string): Promise<boolean> {
    const tf = this.scope.filter('tenant_id');
    const r = await this.sql.run(`UPDATE device_patches SET state = 'scheduled', updated_at = ? WHERE device_id = ? AND patch_id = ? AND ${PENDING_PATCH}
      AND device_id IN (SELECT id FROM devices WHERE ${tf.sql})`, [at, deviceId, patchId, ...tf.params]);
    return r.changes === 1;
  }
}
