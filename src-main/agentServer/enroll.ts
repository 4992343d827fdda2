// POST /agent/v1/enroll: one use of a tenant's token → a new device row, an agent identity and its secret (returned once).
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { EnrollRequest, parseToken, type EnrollResponse } from '../agent/protocol.ts';
import { EnrollmentTokens, hmacOf, type Consumed } from './tokens.ts';
import { HttpError } from '../http/util.ts';
import { noteHostnameConflict } from './inventory.ts';
import { checkBoxPublicKey } from '../agent/sealed.ts';

export interface AgentRow { id: string; device_id: string; tenant_id: string; slug: string; revoked_at: string | null; secret_hmac: string }

export async function enroll(store: Store, hmacKey: Buffer, consolePublicKey: string, body: unknown, remote: string): Promise<EnrollResponse> {
  const parsed = EnrollRequest.safeParse(body);
  if (!parsed.success) throw new HttpError(400, `invalid enrollment request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const req = parsed.data;
  if (req.boxPublicKey !== undefined) {
    try {
      checkBoxPublicKey(req.boxPublicKey);
    } catch {
      throw new HttpError(400, 'invalid enrollment request: boxPublicKey: not an X25519 public key');
    }
  }
  const token = parseToken(req.token);
  const tokens = new EnrollmentTokens(store, hmacKey);
  const out = await store.write(async (tx) => {
    const took: Consumed = token ? await tokens.consume(tx.sql, token.secret) : { ok: false, reason: 'malformed' };
    if (!took.ok) {
      await tx.audit({ event: 'auth', decision: 'denied', code: `ENROLL_TOKEN_${took.reason.toUpperCase()}`, rule: 'agent_enroll', tenant: took.tenant ?? null, remote,
        detail: { tokenId: took.tokenId ?? null, hostname: req.facts.hostname } });
      return null;
    }
    const now = new Date().toISOString();
    const deviceId = randomUUID();
    const agentId = randomUUID();
    const secret = `csa_${randomBytes(32).toString('base64url')}`;
    await tx.sql.run(`INSERT INTO devices (id, tenant_id, group_id, hostname, os, os_version, status, isolated, compliance, last_seen_at, ip_address, hardware_json, enrolled_at)
      VALUES (?, ?, NULL, ?, ?, ?, 'offline', 0, 'unknown', ?, ?, ?, ?)`,
      [deviceId, took.tenantId, req.facts.hostname, req.facts.os, req.facts.osVersion, now, req.facts.ip, JSON.stringify(req.hardware), now]);
    await tx.sql.run(`INSERT INTO agents (id, device_id, tenant_id, token_id, secret_hmac, agent_version, created_at, remote, box_public_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [agentId, deviceId, took.tenantId, took.tokenId, hmacOf(hmacKey, secret), req.agentVersion, now, remote, req.boxPublicKey ?? null]);
    await tx.audit({ event: 'auth', decision: 'allowed', outcome: 'agent enrolled', rule: 'agent_enroll', tenant: took.tenant, remote,
      detail: { tokenId: took.tokenId, agentId, deviceId, hostname: req.facts.hostname, os: req.facts.os, osVersion: req.facts.osVersion, sealedParameters: req.boxPublicKey !== undefined } });
    await noteHostnameConflict(tx, deviceId, { agentId, enrolled: true });
    return { agentId, deviceId, secret, tenant: took.tenant, consolePublicKey };
  });
  // The refusal is audited (committed above) before the caller hears it; the reason is not told to the caller.
  if (!out) throw new HttpError(403, 'enrollment refused: the token is unknown, expired, revoked or used up');
  return out;
}

/** `Authorization: Bearer <agentId>.<secret>` on the WebSocket upgrade, checked against the stored HMAC in constant time. */
export async function authenticateAgent(sql: Sql, hmacKey: Buffer, req: IncomingMessage): Promise<{ ok: true; agent: AgentRow } | { ok: false; reason: string; agentId?: string }> {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer ([0-9a-f-]{36})\.(csa_[A-Za-z0-9_-]{43})$/.exec(h) : null;
  if (!m) return { ok: false, reason: h ? 'malformed' : 'missing' };
  const agent = await sql.get<AgentRow>(`SELECT a.id, a.device_id, a.tenant_id, a.revoked_at, a.secret_hmac, t.slug FROM agents a JOIN tenants t ON t.id = a.tenant_id WHERE a.id = ?`, [m[1]]);
  const presented = Buffer.from(hmacOf(hmacKey, m[2]!), 'hex');
  const stored = Buffer.from(agent?.secret_hmac ?? '0'.repeat(64), 'hex');
  const match = stored.length === presented.length && timingSafeEqual(stored, presented);
  if (!agent || !match) return { ok: false, reason: 'unknown', agentId: m[1] };
  if (agent.revoked_at) return { ok: false, reason: 'revoked', agentId: agent.id };
  return { ok: true, agent };
}
