// Per-tenant enrollment tokens: stored as HMACs, expiring, revocable, limited uses. Consumed atomically at enrollment.
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Store } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { formatToken } from '../agent/protocol.ts';
import { hmacSha256 } from '../hmac.ts';

export const CreateTokenInput = z.object({
  tenant: z.string().min(2).max(40),
  uses: z.number().int().min(1).max(10_000).default(1),
  expiresHours: z.number().min(0.001).max(24 * 365).default(24),
});

export interface TokenInfo {
  id: string; tenant: string; prefix: string; maxUses: number; uses: number; createdAt: string; expiresAt: string; revokedAt: string | null;
  state: 'active' | 'expired' | 'revoked' | 'used_up';
}

interface Row { id: string; slug: string; prefix: string; max_uses: number; uses: number; created_at: string; expires_at: string; revoked_at: string | null; tenant_id: string }

export type Consumed = { ok: true; tokenId: string; tenantId: string; tenant: string } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'used_up'; tokenId?: string; tenant?: string };

export const hmacOf = (key: Buffer, secret: string) => hmacSha256(key).update(secret).digest('hex');

function stateOf(r: Row, now: string): TokenInfo['state'] {
  if (r.revoked_at) return 'revoked';
  if (r.expires_at <= now) return 'expired';
  return r.uses >= r.max_uses ? 'used_up' : 'active';
}

const SELECT = 'SELECT e.*, t.slug FROM enrollment_tokens e JOIN tenants t ON t.id = e.tenant_id';

export class EnrollmentTokens {
  private readonly store: Store;
  private readonly key: Buffer;
  constructor(store: Store, hmacKey: Buffer) {
    this.store = store;
    this.key = hmacKey;
  }

  private info(r: Row, now = new Date().toISOString()): TokenInfo {
    return { id: r.id, tenant: r.slug, prefix: r.prefix, maxUses: r.max_uses, uses: r.uses, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at, state: stateOf(r, now) };
  }

  /** The token is returned once; only its HMAC is kept. It embeds the pin of the agent listener's certificate. */
  async create(input: z.input<typeof CreateTokenInput>, certSha256: string, actor = 'cli'): Promise<{ token: string; info: TokenInfo }> {
    const p = CreateTokenInput.parse(input);
    const tenant = await this.store.sql.get<{ id: string; slug: string }>('SELECT id, slug FROM tenants WHERE slug = ?', [p.tenant]);
    if (!tenant) throw new Error(`unknown tenant '${p.tenant}'`);
    const secret = randomBytes(24).toString('base64url');
    const id = randomUUID();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + p.expiresHours * 3_600_000).toISOString();
    await this.store.write(async (tx) => {
      await tx.sql.run(`INSERT INTO enrollment_tokens (id, tenant_id, hmac, prefix, max_uses, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [id, tenant.id, hmacOf(this.key, secret), `cset.${secret.slice(0, 6)}`, p.uses, now.toISOString(), expiresAt]);
      await tx.audit({ event: 'key', decision: 'info', outcome: 'enrollment token created', rule: actor, tenant: tenant.slug, detail: { tokenId: id, maxUses: p.uses, expiresAt } });
    });
    return { token: formatToken(secret, certSha256), info: (await this.get(id))! };
  }

  async get(id: string, sql: Sql = this.store.sql): Promise<TokenInfo | undefined> {
    const r = await sql.get<Row>(`${SELECT} WHERE e.id = ?`, [id]);
    return r && this.info(r);
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.store.sql.all<Row>(`${SELECT} ORDER BY e.created_at DESC, e.id`)).map((r) => this.info(r));
  }

  revoke(id: string, actor = 'cli'): Promise<TokenInfo> {
    return this.store.write(async (tx) => {
      const t = await this.get(id, tx.sql);
      if (!t) throw new Error(`no enrollment token ${id}`);
      await tx.sql.run('UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [new Date().toISOString(), id]);
      await tx.audit({ event: 'key', decision: 'info', outcome: 'enrollment token revoked', rule: actor, tenant: t.tenant, detail: { tokenId: id } });
      return (await this.get(id, tx.sql))!;
    });
  }

  /** Takes one use of the token; call inside the enrollment's write transaction (`sql` is its `tx.sql`). */
  async consume(sql: Sql, secret: string, now = new Date()): Promise<Consumed> {
    const r = await sql.get<Row>(`${SELECT} WHERE e.hmac = ?`, [hmacOf(this.key, secret)]);
    if (!r) return { ok: false, reason: 'unknown' };
    const state = stateOf(r, now.toISOString());
    if (state !== 'active') return { ok: false, reason: state, tokenId: r.id, tenant: r.slug };
    const took = await sql.run(`UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ? AND uses < max_uses AND revoked_at IS NULL AND expires_at > ?`,
      [r.id, now.toISOString()]);
    if (took.changes !== 1) return { ok: false, reason: 'used_up', tokenId: r.id, tenant: r.slug };
    return { ok: true, tokenId: r.id, tenantId: r.tenant_id, tenant: r.slug };
  }
}
