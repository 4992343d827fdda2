// Approval rows. Only the approval lifecycle (governance/approvals.ts) calls these: it owns every state change.
import { placeholders, type Sql } from '../sql.ts';

export interface ApprovalRow {
  id: string; digest: string; key_id: string; key_name: string | null; tenant_id: string; tenant_slug: string; tool: string; action: string | null;
  args_json: string; summary: string; detail_json: string; status: string; reason: string | null; client_name: string | null;
  client_version: string | null; session_id: string | null; created_at: string; expires_at: string; decided_at: string | null;
  decided_by: string | null; finished_at: string | null; result_json: string | null; binding: string | null; effect_json: string | null;
  decision_code: string | null; approvers_required: number;
}

export type NewApprovalRow = Omit<ApprovalRow, 'key_name' | 'tenant_slug' | 'status' | 'reason' | 'decided_at' | 'decided_by' | 'finished_at' | 'result_json' | 'decision_code'>;

const SELECT = `SELECT a.*, t.slug AS tenant_slug, k.name AS key_name FROM approvals a
  JOIN tenants t ON t.id = a.tenant_id LEFT JOIN api_keys k ON k.id = a.key_id`;

export const approvalRows = {
  get: (sql: Sql, id: string) => sql.get<ApprovalRow>(`${SELECT} WHERE a.id = ?`, [id]),

  /** The pending row for a digest (at most one: a unique index). */
  pendingByDigest: (sql: Sql, digest: string) => sql.get<ApprovalRow>(`${SELECT} WHERE a.digest = ? AND a.status = 'pending'`, [digest]),

  /**
   * Newest first, paged on (created_at, id). Expiry is read, not only swept: a pending row past its expiry is listed
   * as expired, never as pending.
   */
  list(sql: Sql, o: { statuses: readonly string[]; now: string; limit: number; beforeAt: string | null; beforeId: string; tenantIds?: readonly string[] }) {
    if (o.tenantIds?.length === 0) return Promise.resolve([]);
    const terms: string[] = [];
    const params: unknown[] = [];
    const plain = o.statuses.filter((s) => s !== 'pending' && s !== 'expired');
    if (plain.length) terms.push(`a.status IN (${placeholders(plain.length)})`), params.push(...plain);
    if (o.statuses.includes('pending')) terms.push(`(a.status = 'pending' AND a.expires_at > ?)`), params.push(o.now);
    if (o.statuses.includes('expired')) terms.push(`(a.status = 'expired' OR (a.status = 'pending' AND a.expires_at <= ?))`), params.push(o.now);
    if (!terms.length) return Promise.resolve([]);
    const page = o.beforeAt === null ? '' : ' AND (a.created_at, a.id) < (?, ?)';
    const among = o.tenantIds ? ` AND a.tenant_id IN (${placeholders(o.tenantIds.length)})` : '';
    return sql.all<ApprovalRow>(`${SELECT} WHERE (${terms.join(' OR ')})${page}${among} ORDER BY a.created_at DESC, a.id DESC LIMIT ?`,
      [...params, ...(o.beforeAt === null ? [] : [o.beforeAt, o.beforeId]), ...(o.tenantIds ?? []), o.limit]);
  },

  /** `tenantIds`: only these tenants' requests (a technician's count); undefined: every tenant's. */
  async pendingCount(sql: Sql, now: string, tenantIds?: readonly string[]): Promise<number> {
    if (tenantIds?.length === 0) return 0;
    const among = tenantIds ? ` AND tenant_id IN (${tenantIds.map(() => '?').join(', ')})` : '';
    return Number((await sql.get<{ n: number }>(`SELECT count(*) AS n FROM approvals WHERE status = 'pending' AND expires_at > ?${among}`, [now, ...(tenantIds ?? [])]))!.n);
  },

  dueForExpiry: (sql: Sql, now: string) => sql.all<{ id: string }>(`SELECT id FROM approvals WHERE status = 'pending' AND expires_at <= ?`, [now]),

  async insert(sql: Sql, r: NewApprovalRow): Promise<void> {
    await sql.run(`INSERT INTO approvals (id, digest, key_id, tenant_id, tool, action, tier, args_json, summary, detail_json, status,
      client_name, client_version, session_id, created_at, expires_at, binding, effect_json, approvers_required) VALUES (?, ?, ?, ?, ?, ?, 3, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)`,
    [r.id, r.digest, r.key_id, r.tenant_id, r.tool, r.action, r.args_json, r.summary, r.detail_json, r.client_name, r.client_version, r.session_id,
      r.created_at, r.expires_at, r.binding, r.effect_json, r.approvers_required]);
  },

  /** Moves a row from one status to another; false when it was no longer in `from` (decided concurrently). */
  async move(sql: Sql, id: string, from: string, to: string, set: { reason?: string | null; decidedAt?: string; decidedBy?: string; finishedAt?: string | null; result?: string; code?: string | null }): Promise<boolean> {
    const r = await sql.run(`UPDATE approvals SET status = ?,
        reason = coalesce(?, reason), decided_at = coalesce(?, decided_at), decided_by = coalesce(?, decided_by),
        finished_at = ?, result_json = coalesce(?, result_json), decision_code = coalesce(?, decision_code)
      WHERE id = ? AND status = ?`,
    [to, set.reason ?? null, set.decidedAt ?? null, set.decidedBy ?? null, set.finishedAt ?? null, set.result ?? null, set.code ?? null, id, from]);
    return r.changes === 1;
  },

  /** Device commands of an approval's executions, counted by status. */
  async commandCounts(sql: Sql, approvalId: string): Promise<Record<string, number>> {
    const rows = await sql.all<{ status: string; n: number }>(`SELECT c.status, count(*) AS n FROM device_commands c JOIN executions e ON e.id = c.execution_id
      WHERE e.approval_id = ? GROUP BY c.status`, [approvalId]);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  },
};
