// The version each agent runs, as it says on every connection: kept on its row, and audited when it changes (an upgrade).
import type { Store } from '../store/store.ts';
import type { AgentRow } from './enroll.ts';

export async function recordAgentVersion(store: Store, agent: AgentRow, version: string, remote: string): Promise<void> {
  await store.write(async (tx) => {
    const row = await tx.sql.get<{ agent_version: string | null }>('SELECT agent_version FROM agents WHERE id = ?', [agent.id]);
    if (!row || row.agent_version === version) return;
    await tx.sql.run('UPDATE agents SET agent_version = ? WHERE id = ?', [version, agent.id]);
    await tx.audit({ event: 'session', decision: 'info', outcome: 'agent version changed', rule: 'agent_version', tenant: agent.slug, remote,
      detail: { agentId: agent.id, deviceId: agent.device_id, from: row.agent_version, to: version } });
  });
}
