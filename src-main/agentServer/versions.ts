// The version each agent runs, as it says on every connection: kept on its row, and audited when it changes (an upgrade).
import type { Db } from '../store/db.ts';
import { auditLogFor } from '../audit/log.ts';
import { writeTx } from '../store/tx.ts';
import type { AgentRow } from './enroll.ts';

export function recordAgentVersion(db: Db, agent: AgentRow, version: string, remote: string): void {
  writeTx(db, () => {
    const row = db.prepare('SELECT agent_version FROM agents WHERE id = ?').get(agent.id) as { agent_version: string | null } | undefined;
    if (!row || row.agent_version === version) return;
    db.prepare('UPDATE agents SET agent_version = ? WHERE id = ?').run(version, agent.id);
    auditLogFor(db).append({ event: 'session', decision: 'info', outcome: 'agent version changed', rule: 'agent_version', tenant: agent.slug, remote,
      detail: { agentId: agent.id, deviceId: agent.device_id, from: row.agent_version, to: version } });
  });
}
