// Devices of the call's tenants: the list with its filters, one device's details, and hostnames by id.
import { AppError } from '../../errors.ts';
import { ScopedData } from './scope.ts';
import { OPEN_ALERT, PENDING_COMMAND, PENDING_PATCH, likeContains, likePattern } from './predicates.ts';

export interface DeviceRow {
  id: string; tenant_id: string; hostname: string; os: 'windows' | 'macos' | 'linux'; os_version: string; status: 'online' | 'offline';
  group_name: string | null; compliance: 'compliant' | 'non_compliant' | 'unknown'; isolated: number; last_seen_at: string; ip_address: string | null;
  hardware_json: string; hostname_conflict: number;
}

export interface DeviceFilter {
  tenant?: string;
  status?: 'online' | 'offline';
  os?: string;
  group?: string;
  compliance?: string;
  search?: string;
}

export interface DeviceDetails {
  row: DeviceRow;
  softwareTotal: number;
  software: { name: string; version: string; publisher: string | null }[];
  openAlerts: Record<'critical' | 'high' | 'medium' | 'low' | 'info', number>;
  missingPatches: number;
  pendingCommands: number;
}

const FROM = 'FROM devices d LEFT JOIN device_groups g ON g.id = d.group_id';
const FROM_SEARCH = 'FROM device_search s CROSS JOIN devices d ON d.rowid = s.rowid LEFT JOIN device_groups g ON g.id = d.group_id';

/** What the trigram index answers: three characters or more, none a LIKE wildcard or escape. */
const trigramSearchable = (s: string) => s.length >= 3 && !/[%_\\]/.test(s);

export class Devices extends ScopedData {

  async list(f: DeviceFilter, offset: number, limit: number): Promise<{ total: number; rows: DeviceRow[] }> {
    const tf = this.scope.filter('d.tenant_id', f.tenant);
    const where = [tf.sql];
    const params: unknown[] = [...tf.params];
    if (f.status) where.push('d.status = ?'), params.push(f.status);
    if (f.os) where.push('d.os = ?'), params.push(f.os);
    if (f.group) where.push('lower(g.name) = lower(?)'), params.push(f.group);
    if (f.compliance) where.push('d.compliance = ?'), params.push(f.compliance);
    // A search of three or more plain characters starts from the trigram index's candidates (CROSS JOIN keeps that
    // order: the planner would rather walk the tenant's devices and test each); the LIKE keeps the exact meaning
    // (case-insensitive substring) either way.
    const indexed = !!f.search && this.sql.dialect === 'sqlite' && trigramSearchable(f.search);
    if (indexed) where.unshift('s.hostname LIKE ?'), params.unshift(`%${f.search}%`);
    if (f.search) where.push(likeContains('d.hostname', this.sql.dialect)), params.push(likePattern(f.search));
    const from = `${indexed ? FROM_SEARCH : FROM} WHERE ${where.join(' AND ')}`;
    const total = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n ${from}`, params))!.n;
    const rows = await this.sql.all<DeviceRow>(`SELECT d.*, g.name AS group_name ${from} ORDER BY d.hostname, d.id LIMIT ? OFFSET ?`, [...params, limit, offset]);
    return { total, rows };
  }

  async details(id: string, softwareCap: number): Promise<DeviceDetails> {
    const tf = this.scope.filter('d.tenant_id');
    const row = await this.sql.get<DeviceRow>(`SELECT d.*, g.name AS group_name ${FROM} WHERE d.id = ? AND ${tf.sql}`, [id, ...tf.params]);
    if (!row) throw new AppError('NOT_FOUND', `No device with id '${id}' in the tenants this key can reach.`, 'tenant_isolation', { kind: 'device', id });
    const softwareTotal = (await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM device_software WHERE device_id = ?', [id]))!.n;
    const software = await this.sql.all<DeviceDetails['software'][number]>('SELECT name, version, publisher FROM device_software WHERE device_id = ? ORDER BY name LIMIT ?', [id, softwareCap]);
    const openAlerts = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const a of await this.sql.all<{ severity: keyof typeof openAlerts; n: number }>(
      `SELECT severity, count(*) AS n FROM alerts WHERE device_id = ? AND ${OPEN_ALERT} GROUP BY severity`, [id])) openAlerts[a.severity] = a.n;
    const count = async (q: string) => (await this.sql.get<{ n: number }>(q, [id]))!.n;
    return {
      row, softwareTotal, software, openAlerts,
      missingPatches: await count(`SELECT count(*) AS n FROM device_patches WHERE device_id = ? AND ${PENDING_PATCH}`),
      pendingCommands: await count(`SELECT count(*) AS n FROM device_commands WHERE device_id = ? AND ${PENDING_COMMAND}`),
    };
  }

  /** The endpoint agent enrolled for a device in scope, if any. */
  async agentOf(deviceId: string): Promise<{ agent_version: string | null; revoked_at: string | null; box_public_key: string | null } | undefined> {
    const tf = this.scope.filter('tenant_id');
    return this.sql.get(`SELECT agent_version, revoked_at, box_public_key FROM agents WHERE device_id = ? AND ${tf.sql}`, [deviceId, ...tf.params]);
  }

  /** Hostnames of devices in scope, by id (ids outside the scope are left out). */
  async hostnames(ids: readonly string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const tf = this.scope.filter('tenant_id');
    const rows = await this.sql.all<{ id: string; hostname: string }>(
      `SELECT id, hostname FROM devices WHERE id IN (${ids.map(() => '?').join(', ')}) AND ${tf.sql}`, [...ids, ...tf.params]);
    return new Map(rows.map((r) => [r.id, r.hostname]));
  }
}
