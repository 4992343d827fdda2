// Approved plans: the approval that showed every step, and how far the calls that followed it got. Only
// governance/plans.ts calls these.
import { placeholders, type Sql } from '../sql.ts';

export interface PlanRow {
  id: string; approval_id: string; key_id: string; tenant_id: string; tenant_slug: string; key_name: string | null; step_count: number; next_step: number;
  status: 'active' | 'completed' | 'stopped'; created_at: string; expires_at: string; ended_at: string | null; end_reason: string | null; binding: string;
}

export type NewPlanRow = Omit<PlanRow, 'tenant_slug' | 'key_name' | 'next_step' | 'status' | 'ended_at' | 'end_reason'>;

const SELECT = `SELECT p.*, t.slug AS tenant_slug, k.name AS key_name FROM plans p JOIN tenants t ON t.id = p.tenant_id LEFT JOIN api_keys k ON k.id = p.key_id`;

export const planRows = {
  get: (sql: Sql, id: string) => sql.get<PlanRow>(`${SELECT} WHERE p.id = ?`, [id]),

  /** The active plans of a key in a tenant (at most one is kept active; an older one is superseded). */
  active: (sql: Sql, keyId: string, tenantId: string) => sql.all<PlanRow>(`${SELECT} WHERE p.key_id = ? AND p.tenant_id = ? AND p.status = 'active' ORDER BY p.created_at`, [keyId, tenantId]),

  async activeOfKey(sql: Sql, keyId: string, now: string): Promise<PlanRow[]> {
    // As grants' liveOfKey: whoami asks on every call, and a one-table probe answers the usual "none".
    const WHERE = `WHERE p.key_id = ? AND p.status = 'active' AND p.expires_at > ?`;
    if (!(await sql.get(`SELECT 1 AS found FROM plans p ${WHERE} LIMIT 1`, [keyId, now]))) return [];
    return sql.all<PlanRow>(`${SELECT} ${WHERE} ORDER BY p.created_at`, [keyId, now]);
  },

  /** `tenantIds`: these tenants' plans only (what a technician may see); undefined: every tenant's. */
  list: (sql: Sql, o: { live: boolean; now: string; limit: number; tenantIds?: readonly string[] }) => o.tenantIds?.length === 0 ? Promise.resolve([]) : sql.all<PlanRow>(`${SELECT}
    WHERE (? = 0 OR (p.status = 'active' AND p.expires_at > ?))${o.tenantIds ? ` AND p.tenant_id IN (${placeholders(o.tenantIds.length)})` : ''}
    ORDER BY p.created_at DESC, p.id DESC LIMIT ?`, [o.live ? 1 : 0, o.now, ...(o.tenantIds ?? []), o.limit]),

  async insert(sql: Sql, r: NewPlanRow): Promise<void> {
    await sql.run(`INSERT INTO plans (id, approval_id, key_id, tenant_id, step_count, status, created_at, expires_at, binding) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)`,
      [r.id, r.approval_id, r.key_id, r.tenant_id, r.step_count, r.created_at, r.expires_at, r.binding]);
  },

  /** Moves an active, unexpired plan past step `step`; false when another call took that step or it ended meanwhile. */
  async advance(sql: Sql, id: string, step: number, now: string): Promise<boolean> {
    const r = await sql.run(`UPDATE plans SET next_step = next_step + 1,
        status = CASE WHEN next_step + 1 = step_count THEN 'completed' ELSE status END,
        ended_at = CASE WHEN next_step + 1 = step_count THEN ? ELSE ended_at END
      WHERE id = ? AND status = 'active' AND next_step = ? AND expires_at > ?`, [now, id, step, now]);
    return r.changes === 1;
  },

  async stop(sql: Sql, id: string, now: string, reason: string): Promise<boolean> {
    const r = await sql.run(`UPDATE plans SET status = 'stopped', ended_at = ?, end_reason = ? WHERE id = ? AND status = 'active'`, [now, reason, id]);
    return r.changes === 1;
  },
};
