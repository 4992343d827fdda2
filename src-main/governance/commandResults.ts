// An agent's result (or a refusal, a lease that ran out, an undeliverable command) reaches the fleet through the
// gate: the command row, its patch states, its audit entry and the approval's roll-up commit together.
import { OUTPUT_KEEP } from '../agent/protocol.ts';
import { commandInfo, markIsolated, recordOutcome } from '../store/data/commandOutcomes.ts';
import type { Gate } from './gate.ts';

export type FinalStatus = 'completed' | 'failed' | 'timed_out';
export interface Outcome { status: FinalStatus; exitCode: number | null; stdout: string; stderr: string; durationMs?: number }
/** `expired`: a queued command past its validity (agent/protocol.ts), failed by the console instead of being sent. */
export interface OutcomeSource { cause: 'result' | 'refused' | 'lease_expired' | 'undeliverable' | 'expired'; code?: string; remote?: string | null }

/** How a lease-expired failure's stderr starts (a late real result may replace it). */
export const LEASE_EXPIRED = 'lease expired:';

const cap = (s: string) => (s.length > OUTPUT_KEEP ? `${s.slice(0, OUTPUT_KEEP)}\n[… output cut at ${OUTPUT_KEEP} characters]` : s);

/**
 * Records the end of a running command of `deviceId` (or of a queued one, when it expired before it was sent) and, when it was the last of an approval's commands, rolls the
 * approval up through its lifecycle. Anything else (another device's command, one already final) is ignored: false.
 */
export async function finishCommand(gate: Gate, commandId: string, deviceId: string, o: Outcome, src: OutcomeSource): Promise<boolean> {
  return gate.d.store.write(async (tx) => {
    const c = await commandInfo(tx.sql, commandId);
    if (!c || c.device_id !== deviceId) return false;
    // A real result that arrives after its lease ran out still wins over the guess 'lease expired'.
    const late = src.cause === 'result' && c.status === 'failed' && (c.stderr ?? '').startsWith(LEASE_EXPIRED);
    const expiredUnsent = src.cause === 'expired' && c.status === 'queued';
    if (c.status !== 'running' && !late && !expiredUnsent) return false;
    const at = new Date().toISOString();
    if (!(await recordOutcome(tx.sql, c, { ...o, stdout: cap(o.stdout), stderr: cap(o.stderr) }, at))) return false;
    const action = c.kind === 'device_action' ? String((JSON.parse(c.payload_json) as { action?: unknown }).action ?? '') : null;
    if (c.kind === 'device_action' && o.status === 'completed' && action === 'isolate') await markIsolated(tx.sql, c.device_id);
    await tx.audit({
      event: 'execution', decision: src.cause === 'refused' ? 'rejected' : o.status === 'completed' ? 'completed' : 'failed',
      code: src.code ?? (o.status === 'completed' ? null : o.status === 'timed_out' ? 'COMMAND_TIMED_OUT' : 'COMMAND_FAILED'), rule: `agent_${src.cause}${late ? '_late' : ''}`,
      keyId: c.key_id, tenant: c.slug, tool: c.tool, action, approvalId: c.approval_id, outcome: o.status, durationMs: o.durationMs ?? null, remote: src.remote ?? null,
      detail: { commandId, executionId: c.execution_id, deviceId: c.device_id, hostname: c.hostname, exitCode: o.exitCode, stdoutChars: o.stdout.length, stderrChars: o.stderr.length,
        ...(src.cause === 'result' ? {} : { reason: o.stderr.slice(0, 500) }) },
    });
    if (c.approval_id) await gate.d.approvals.rollUp(tx, c.approval_id);
    return true;
  });
}
