// Enrolled agents as the console sees them; revoking one closes its connection and refuses every later one.
import type { Store } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';

export interface AgentInfo {
  id: string; deviceId: string; hostname: string; tenant: string; os: string; osVersion: string | null; status: 'online' | 'offline'; agentVersion: string | null;
  enrolledAt: string; lastConnectedAt: string | null; lastHeartbeatAt: string | null; remote: string | null; revokedAt: string | null;
}

const SELECT = `SELECT a.id, a.device_id AS "deviceId", d.hostname, t.slug AS tenant, d.os, d.os_version AS "osVersion", d.status, a.agent_version AS "agentVersion", a.created_at AS "enrolledAt",
  a.last_connected_at AS "lastConnectedAt", a.last_heartbeat_at AS "lastHeartbeatAt", a.remote, a.revoked_at AS "revokedAt"
  FROM agents a JOIN devices d ON d.id = a.device_id JOIN tenants t ON t.id = a.tenant_id`;

export function getAgent(sql: Sql, id: string): Promise<AgentInfo | undefined> {
  return sql.get<AgentInfo>(`${SELECT} WHERE a.id = ? OR a.device_id = ?`, [id, id]);
}

export function listAgents(sql: Sql): Promise<AgentInfo[]> {
  return sql.all<AgentInfo>(`${SELECT} ORDER BY t.slug, d.hostname, a.id`);
}

export function revokeAgent(store: Store, id: string, actor = 'cli'): Promise<AgentInfo> {
  return store.write(async (tx) => {
    const a = await getAgent(tx.sql, id);
    if (!a) throw new Error(`no agent or device ${id}`);
    await tx.sql.run('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [new Date().toISOString(), a.id]);
    await tx.audit({ event: 'key', decision: 'info', outcome: 'agent revoked', rule: actor, tenant: a.tenant, detail: { agentId: a.id, deviceId: a.deviceId, hostname: a.hostname } });
    return (await tx.sql.get<AgentInfo>(`${SELECT} WHERE a.id = ?`, [a.id]))!;
  });
}
