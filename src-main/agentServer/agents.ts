// Enrolled agents as the console sees them; revoking one closes its connection and refuses every later one.
import type { Db } from '../store/db.ts';
import { auditLogFor } from '../audit/log.ts';
import { writeTx } from '../store/tx.ts';

export interface AgentInfo {
  id: string; deviceId: string; hostname: string; tenant: string; os: string; osVersion: string | null; status: 'online' | 'offline'; agentVersion: string | null;
  enrolledAt: string; lastConnectedAt: string | null; lastHeartbeatAt: string | null; remote: string | null; revokedAt: string | null;
}

const SELECT = `SELECT a.id, a.device_id AS deviceId, d.hostname, t.slug AS tenant, d.os, d.os_version AS osVersion, d.status, a.agent_version AS agentVersion, a.created_at AS enrolledAt,
  a.last_connected_at AS lastConnectedAt, a.last_heartbeat_at AS lastHeartbeatAt, a.remote, a.revoked_at AS revokedAt
  FROM agents a JOIN devices d ON d.id = a.device_id JOIN tenants t ON t.id = a.tenant_id`;

export function getAgent(db: Db, id: string): AgentInfo | undefined {
  return db.prepare(`${SELECT} WHERE a.id = ? OR a.device_id = ?`).get(id, id) as AgentInfo | undefined;
}

export function listAgents(db: Db): AgentInfo[] {
  return db.prepare(`${SELECT} ORDER BY t.slug, d.hostname, a.id`).all() as AgentInfo[];
}

export function revokeAgent(db: Db, id: string, actor = 'cli'): AgentInfo {
  return writeTx(db, () => {
    const a = db.prepare(`${SELECT} WHERE a.id = ? OR a.device_id = ?`).get(id, id) as AgentInfo | undefined;
    if (!a) throw new Error(`no agent or device ${id}`);
    db.prepare('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(new Date().toISOString(), a.id);
    auditLogFor(db).append({ event: 'key', decision: 'info', outcome: 'agent revoked', rule: actor, tenant: a.tenant, detail: { agentId: a.id, deviceId: a.deviceId, hostname: a.hostname } });
    return db.prepare(`${SELECT} WHERE a.id = ?`).get(a.id) as AgentInfo;
  });
}
