// Grant rows and the device facts a grant's envelope is checked against. Only governance/grants.ts calls these.
import { placeholders, type Sql } from '../sql.ts';

export interface GrantRow {
  id: string; key_id: string; key_name: string | null; tenant_id: string; tenant_slug: string; tool: string; action: string | null;
  envelope_json: string; source_approval_id: string | null; created_at: string; created_by: string; expires_at: string;
  max_uses: number | null; uses: number; revoked_at: string | null; revoked_by: string | null; binding: string;
}

export type NewGrantRow = Omit<GrantRow, 'key_name' | 'tenant_slug' | 'uses' | 'revoked_at' | 'revoked_by'>;

const SELECT = `SELECT g.*, t.slug AS tenant_slug, k.name AS key_name FROM grants g
  JOIN tenants t ON t.id = g.tenant_id LEFT JOIN api_keys k ON k.id = g.key_id`;

export const grantRows = {
  get: (sql: Sql, id: string) => sql.get<GrantRow>(`${SELECT} WHERE g.id = ?`, [id]),

  /** Grants of one key, tenant and tool that are neither revoked nor past their expiry, soonest to expire first. */
  live: (sql: Sql, keyId: string, tenantId: string, tool: string, now: string) => sql.all<GrantRow>(`${SELECT}
    WHERE g.key_id = ? AND g.tenant_id = ? AND g.tool = ? AND g.revoked_at IS NULL AND g.expires_at > ?
      AND (g.max_uses IS NULL OR g.uses < g.max_uses) ORDER BY g.expires_at, g.id`, [keyId, tenantId, tool, now]),

  /** The grant made from one card, if any. */
  bySource: (sql: Sql, approvalId: string) => sql.get<GrantRow>(`${SELECT} WHERE g.source_approval_id = ? ORDER BY g.created_at DESC LIMIT 1`, [approvalId]),

  /** Every grant of a key that is not revoked nor past its expiry nor used up (whoami). */
  async liveOfKey(sql: Sql, keyId: string, now: string): Promise<GrantRow[]> {
    // whoami asks on every call, and most keys hold no grant: a one-table probe answers that case (a join costs
    // several times a one-table read even when it finds nothing).
    const WHERE = 'WHERE g.key_id = ? AND g.revoked_at IS NULL AND g.expires_at > ? AND (g.max_uses IS NULL OR g.uses < g.max_uses)';
    if (!(await sql.get(`SELECT 1 AS found FROM grants g ${WHERE} LIMIT 1`, [keyId, now]))) return [];
    return sql.all<GrantRow>(`${SELECT} ${WHERE} ORDER BY g.expires_at, g.id`, [keyId, now]);
  },

  /** Newest first; `live` leaves out revoked, expired and used-up grants. */
  /** `tenantIds`: these tenants' grants only (what a technician may see); undefined: every tenant's. */
  list: (sql: Sql, o: { live: boolean; now: string; limit: number; tenantIds?: readonly string[] }) => o.tenantIds?.length === 0 ? Promise.resolve([]) : sql.all<GrantRow>(`${SELECT}
    WHERE (? = 0 OR (g.revoked_at IS NULL AND g.expires_at > ? AND (g.max_uses IS NULL OR g.uses < g.max_uses)))${o.tenantIds ? ` AND g.tenant_id IN (${placeholders(o.tenantIds.length)})` : ''}
    ORDER BY g.created_at DESC, g.id DESC LIMIT ?`, [o.live ? 1 : 0, o.now, ...(o.tenantIds ?? []), o.limit]),

  async insert(sql: Sql, r: NewGrantRow): Promise<void> {
    await sql.run(`INSERT INTO grants (id, key_id, tenant_id, tool, action, envelope_json, source_approval_id, created_at, created_by, expires_at, max_uses, binding)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [r.id, r.key_id, r.tenant_id, r.tool, r.action, r.envelope_json, r.source_approval_id, r.created_at, r.created_by, r.expires_at, r.max_uses, r.binding]);
  },

  /** Counts one use if the grant is still live; false when it was revoked, expired or used up meanwhile. */
  async use(sql: Sql, id: string, now: string): Promise<boolean> {
    const r = await sql.run(`UPDATE grants SET uses = uses + 1 WHERE id = ? AND revoked_at IS NULL AND expires_at > ?
      AND (max_uses IS NULL OR uses < max_uses)`, [id, now]);
    return r.changes === 1;
  },

  async revoke(sql: Sql, id: string, now: string, by: string): Promise<boolean> {
    const r = await sql.run('UPDATE grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL', [now, by, id]);
    return r.changes === 1;
  },
};

/** Each device's group (null when it has none), for the devices of one tenant. */
export async function deviceGroups(sql: Sql, tenantId: string, deviceIds: readonly string[]): Promise<Map<string, string | null>> {
  if (!deviceIds.length) return new Map();
  const rows = await sql.all<{ id: string; group_id: string | null }>(
    `SELECT id, group_id FROM devices WHERE tenant_id = ? AND id IN (${placeholders(deviceIds.length)})`, [tenantId, ...deviceIds]);
  return new Map(rows.map((r) => [r.id, r.group_id]));
}

/** A device group of a tenant with its size, or undefined. */
export function groupInfo(sql: Sql, tenantId: string, groupId: string) {
  return sql.get<{ id: string; name: string; devices: number }>(`SELECT g.id, g.name, (SELECT count(*) FROM devices d WHERE d.group_id = g.id) AS devices
    FROM device_groups g WHERE g.tenant_id = ? AND g.id = ?`, [tenantId, groupId]);
}

/** Every device of every tenant with its group: the simulator's view of group membership (as it is now). */
export function allDeviceGroups(sql: Sql) {
  return sql.all<{ id: string; tenant_id: string; group_id: string | null }>('SELECT id, tenant_id, group_id FROM devices');
}
