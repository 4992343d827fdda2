// How a device command ends: the row, its patches, its audit entry, and the roll-up of its approval.
import type { Db } from '../store/db.ts';
import { auditLogFor, writeTx } from '../audit/log.ts';
import type { ApprovalService } from '../governance/approvals.ts';
import { OUTPUT_KEEP } from '../agent/protocol.ts';

export type FinalStatus = 'completed' | 'failed' | 'timed_out';
export interface Outcome { status: FinalStatus; exitCode: number | null; stdout: string; stderr: string; durationMs?: number }

/** How a lease-expired failure's stderr starts (a late real result may replace it). */
export const LEASE_EXPIRED = 'lease expired:';

interface CommandRow {
  id: string; execution_id: string; device_id: string; kind: string; payload_json: string; status: string; stderr: string | null;
  tool: string; approval_id: string | null; key_id: string | null; slug: string; hostname: string;
}

const SELECT = `SELECT c.id, c.execution_id, c.device_id, c.kind, c.payload_json, c.status, c.stderr, e.tool, e.approval_id, e.key_id, t.slug, d.hostname
  FROM device_commands c JOIN executions e ON e.id = c.execution_id JOIN tenants t ON t.id = c.tenant_id JOIN devices d ON d.id = c.device_id WHERE c.id = ?`;

export function commandInfo(db: Db, commandId: string): CommandRow | undefined {
  return db.prepare(SELECT).get(commandId) as CommandRow | undefined;
}

const cap = (s: string) => (s.length > OUTPUT_KEEP ? `${s.slice(0, OUTPUT_KEEP)}\n[… output cut at ${OUTPUT_KEEP} characters]` : s);
const actionOf = (c: CommandRow) => (c.kind === 'device_action' ? String((JSON.parse(c.payload_json) as { action?: unknown }).action ?? '') : null);

/**
 * Records the end of a running command (result, refusal or lease expiry) and, when it was the last of an approval's
 * commands, rolls the approval up to completed/failed. Only a running command of `deviceId` can end: anything else is ignored.
 */
export function finishCommand(db: Db, approvals: ApprovalService | undefined, commandId: string, deviceId: string, o: Outcome,
  audit: { cause: 'result' | 'refused' | 'lease_expired' | 'undeliverable'; code?: string; remote?: string | null }): boolean {
  let rolled: string | null = null;
  const done = writeTx(db, () => {
    const c = commandInfo(db, commandId);
    if (!c || c.device_id !== deviceId) return false;
    // A real result that arrives after its lease ran out still wins over the guess 'lease expired'.
    const late = audit.cause === 'result' && c.status === 'failed' && (c.stderr ?? '').startsWith(LEASE_EXPIRED);
    if (c.status !== 'running' && !late) return false;
    const now = new Date().toISOString();
    db.prepare(`UPDATE device_commands SET status = ?, exit_code = ?, stdout = ?, stderr = ?, finished_at = ? WHERE id = ? AND status = ?`)
      .run(o.status, o.exitCode, cap(o.stdout), cap(o.stderr), now, commandId, c.status);
    if (c.kind === 'patch_install') {
      const ids = (JSON.parse(c.payload_json) as { patchIds?: string[] }).patchIds ?? [];
      const st = db.prepare(`UPDATE device_patches SET state = ?, updated_at = ? WHERE device_id = ? AND patch_id = ? AND state IN ('scheduled','installing')`);
      for (const p of ids) st.run(o.status === 'completed' ? 'installed' : 'failed', now, c.device_id, p);
    }
    const action = actionOf(c);
    if (c.kind === 'device_action' && o.status === 'completed' && action === 'isolate') db.prepare('UPDATE devices SET isolated = 1 WHERE id = ?').run(c.device_id);
    auditLogFor(db).append({
      event: 'execution', decision: audit.cause === 'refused' ? 'rejected' : o.status === 'completed' ? 'completed' : 'failed',
      code: audit.code ?? (o.status === 'completed' ? null : o.status === 'timed_out' ? 'COMMAND_TIMED_OUT' : 'COMMAND_FAILED'), rule: `agent_${audit.cause}${late ? '_late' : ''}`,
      keyId: c.key_id, tenant: c.slug, tool: c.tool, action, approvalId: c.approval_id, outcome: o.status, durationMs: o.durationMs ?? null, remote: audit.remote ?? null,
      detail: { commandId, executionId: c.execution_id, deviceId: c.device_id, hostname: c.hostname, exitCode: o.exitCode, stdoutChars: o.stdout.length, stderrChars: o.stderr.length,
        ...(audit.cause === 'result' ? {} : { reason: o.stderr.slice(0, 500) }) },
    });
    if (c.approval_id && rollUp(db, c.approval_id)) rolled = c.approval_id;
    return true;
  });
  if (rolled && approvals) {
    const a = approvals.get(rolled);
    if (a) approvals.events.emit('decided', a);
  }
  return done;
}

/**
 * An approval whose execution queued commands stays 'running' until every command is final; then completed or failed.
 * A failed roll-up is recomputed when a late result changes one of its commands.
 */
export function rollUp(db: Db, approvalId: string): boolean {
  const a = db.prepare(`SELECT a.status, a.key_id, a.tool, a.action, t.slug FROM approvals a JOIN tenants t ON t.id = a.tenant_id WHERE a.id = ?`)
    .get(approvalId) as { status: string; key_id: string; tool: string; action: string | null; slug: string } | undefined;
  if (!a || (a.status !== 'running' && a.status !== 'failed')) return false;
  const rows = db.prepare(`SELECT c.status, count(*) AS n FROM device_commands c JOIN executions e ON e.id = c.execution_id WHERE e.approval_id = ? GROUP BY c.status`)
    .all(approvalId) as { status: string; n: number }[];
  const counts = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  if ((counts.queued ?? 0) + (counts.running ?? 0) > 0 || rows.length === 0) return false;
  const status = Object.keys(counts).every((s) => s === 'completed') ? 'completed' : 'failed';
  if (status === a.status) return false;
  const now = new Date().toISOString();
  db.prepare(`UPDATE approvals SET status = ?, finished_at = ? WHERE id = ? AND status = ?`).run(status, now, approvalId, a.status);
  auditLogFor(db).append({ event: 'approval', decision: status, outcome: status, rule: 'device_commands_finished', keyId: a.key_id, tenant: a.slug, tool: a.tool, action: a.action, tier: 3, approvalId, detail: { commands: counts } });
  return true;
}
