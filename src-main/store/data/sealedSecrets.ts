// Sealed secret parameter values, one row per approval: written with the request, read when it runs and when its
// commands are sent, dropped in the transaction that ends it (it can no longer run or send anything).
import type { Sql } from '../sql.ts';

export const sealedSecrets = {
  async put(sql: Sql, approvalId: string, sealed: string): Promise<void> {
    await sql.run(`INSERT INTO sealed_secrets (approval_id, sealed, created_at) VALUES (?, ?, ?)
      ON CONFLICT (approval_id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at`, [approvalId, sealed, new Date().toISOString()]);
  },
  async get(sql: Sql, approvalId: string): Promise<string | undefined> {
    return (await sql.get<{ sealed: string }>('SELECT sealed FROM sealed_secrets WHERE approval_id = ?', [approvalId]))?.sealed;
  },
  async drop(sql: Sql, approvalId: string): Promise<void> {
    await sql.run('DELETE FROM sealed_secrets WHERE approval_id = ?', [approvalId]);
  },
};
