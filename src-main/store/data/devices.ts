// Devices of the call's tenants: the list with its filters, one device's details, and hostnames by id.
import { AppError } from '../../errors.ts';
import { ScopedData } from './scope.ts';
import { OPEN_ALERT, PENDING_COMMAND, PENDING_PATCH } from './predicates.ts';
import { listDevices, type ListPosition } from './deviceList.ts';

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

export class Devices extends ScopedData {

  /** Devices passing the filters, in hostname order: the total, and the page at `pos` (an offset, or the number itself). */
  list(f: DeviceFilter, pos: ListPosition | number, limit: number): Promise<{ total: number; rows: DeviceRow[] }> {
    return listDevices(this.sql, this.scope, f, typeof pos === 'number' ? { offset: pos } : pos, limit);
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
