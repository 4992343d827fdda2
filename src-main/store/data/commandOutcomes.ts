// How a device command ends in the store: its row, the patch states it changes, the device flags an action sets.
// Only the gate's command-result path (governance/commandResults.ts) writes these, inside its transaction.
import type { Sql } from '../sql.ts';

export interface CommandInfo {
  id: string; execution_id: string; device_id: string; kind: string; payload_json: string; status: string; stderr: string | null;
  tool: string; approval_id: string | null; key_id: string | null; slug: string; hostname: string;
}

export function commandInfo(sql: Sql, commandId: string): Promise<CommandInfo | undefined> {
  return sql.get<CommandInfo>(`SELECT c.id, c.execution_id, c.device_id, c.kind, c.payload_json, c.status, c.stderr, e.tool, e.approval_id, e.key_id, t.slug, d.hostname
    FROM device_commands c JOIN executions e ON e.id = c.execution_id JOIN tenants t ON t.id = c.tenant_id JOIN devices d ON d.id = c.device_id WHERE c.id = ?`, [commandId]);
}

export async function recordOutcome(sql: Sql, c: CommandInfo, o: { status: string; exitCode: number | null; stdout: string; stderr: string }, at: string): Promise<boolean> {
  const r = await sql.run(`UPDATE device_commands SET status = ?, exit_code = ?, stdout = ?, stderr = ?, finished_at = ? WHERE id = ? AND status = ?`,
    [o.status, o.exitCode, o.stdout, o.stderr, at, c.id, c.status]);
  if (r.changes !== 1) return false;
  if (c.kind === 'patch_install') {
    const ids = (JSON.parse(c.payload_json) as { patchIds?: unknown }).patchIds;
    for (const p of Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : []) {
      await sql.run(`UPDATE device_patches SET state = ?, updated_at = ? WHERE device_id = ? AND patch_id = ? AND state IN ('scheduled','installing')`,
        [o.status === 'completed' ? 'installed' : 'failed', at, c.device_id, p]);
    }
  }
  return true;
}

export async function markIsolated(sql: Sql, deviceId: string): Promise<void> {
  await sql.run('UPDATE devices SET isolated = 1 WHERE id = ?', [deviceId]);
}
