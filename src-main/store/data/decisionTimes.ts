// How long each card was on screen before the technician decided it. Written with the decision, read for the console's
// per-day counts, medians and rubber-stamping flags.
import { placeholders, type Sql } from '../sql.ts';

export interface DecisionTimeRow {
  approval_id: string; decision: 'approved' | 'denied'; decided_at: string; decided_by: string; viewed_ms: number | null;
  tool: string; action: string | null; tenant_slug: string; key_name: string | null;
}

export const decisionTimes = {
  async record(sql: Sql, r: { approvalId: string; decision: 'approved' | 'denied'; decidedAt: string; decidedBy: string; viewedMs: number | null }): Promise<void> {
    await sql.run(`INSERT INTO decision_times (approval_id, decision, decided_at, decided_by, viewed_ms) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(approval_id) DO NOTHING`, [r.approvalId, r.decision, r.decidedAt, r.decidedBy, r.viewedMs]);
  },

  /** Decisions since a time, oldest first. */
  since: (sql: Sql, from: string) => sql.all<DecisionTimeRow>(`SELECT d.*, a.tool, a.action, t.slug AS tenant_slug, k.name AS key_name
    FROM decision_times d JOIN approvals a ON a.id = d.approval_id JOIN tenants t ON t.id = a.tenant_id LEFT JOIN api_keys k ON k.id = a.key_id
    WHERE d.decided_at >= ? ORDER BY d.decided_at, d.approval_id`, [from]),

  /** The recorded times of some approvals (the console's history rows). */
  async of(sql: Sql, ids: readonly string[]): Promise<Map<string, number | null>> {
    if (!ids.length) return new Map();
    const rows = await sql.all<{ approval_id: string; viewed_ms: number | null }>(
      `SELECT approval_id, viewed_ms FROM decision_times WHERE approval_id IN (${placeholders(ids.length)})`, ids);
    return new Map(rows.map((r) => [r.approval_id, r.viewed_ms]));
  },
};
