import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { auditLogFor } from '../audit/log.ts';
import { writeTx } from '../store/tx.ts';
import { AppError } from '../errors.ts';

export const SCOPES = ['ai:read', 'ai:write', 'ai:execute'] as const;
export type Scope = (typeof SCOPES)[number];
export const ROLES = ['admin', 'standard'] as const;
export type Role = (typeof ROLES)[number];

const KEY_PREFIX = 'csk_';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  role: Role;
  tenants: Tenant[];
  readPerMinute: number | null;
  writePerMinute: number | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  callCount: number;
}

export const CreateKeyInput = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1).transform((s) => [...new Set(s)]),
  tenants: z.array(z.string().min(1)).min(1, 'a key needs at least one tenant'),
  role: z.enum(ROLES).default('standard'),
  expiresDays: z.number().int().min(1).max(3650).optional(),
  readPerMinute: z.number().int().min(1).max(10_000_000).optional(),
  writePerMinute: z.number().int().min(1).max(10_000_000).optional(),
});
export type CreateKeyInput = z.input<typeof CreateKeyInput>;

interface KeyRow {
  id: string; name: string; prefix: string; hmac: string; scopes_json: string; role: Role;
  read_per_minute: number | null; write_per_minute: number | null; created_at: string;
  expires_at: string | null; revoked_at: string | null; last_used_at: string | null; call_count: number;
}

export type KeyCheck = { ok: true; key: ApiKey } | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired'; keyId?: string; keyName?: string };

export class KeyService {
  private readonly db: Db;
  private readonly hmacKey: Buffer;
  constructor(db: Db, hmacKey: Buffer) {
    this.db = db;
    this.hmacKey = hmacKey;
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  // Presented secrets → their HMAC, so a client's repeated requests skip the key setup of createHmac. Bounded.
  private macs = new Map<string, string>();

  private hmac(secret: string): string {
    let mac = this.macs.get(secret);
    if (!mac) {
      mac = createHmac('sha256', this.hmacKey).update(secret).digest('hex');
      if (this.macs.size >= 1024) this.macs.clear();
      this.macs.set(secret, mac);
    }
    return mac;
  }

  create(input: CreateKeyInput, actor = 'cli'): { key: ApiKey; secret: string } {
    const p = CreateKeyInput.parse(input);
    const tenants = resolveTenants(this.db, p.tenants);
    const secret = KEY_PREFIX + randomBytes(24).toString('base64url');
    const id = randomUUID();
    const now = new Date();
    const expiresAt = p.expiresDays ? new Date(now.getTime() + p.expiresDays * 86_400_000).toISOString() : null;
    this.resolved.clear();
    writeTx(this.db, () => {
      this.db.prepare(`INSERT INTO api_keys (id, name, prefix, hmac, scopes_json, role, read_per_minute, write_per_minute, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(id, p.name, secret.slice(0, 12), this.hmac(secret), JSON.stringify(p.scopes), p.role,
        p.readPerMinute ?? null, p.writePerMinute ?? null, now.toISOString(), expiresAt);
      const link = this.db.prepare('INSERT INTO api_key_tenants (key_id, tenant_id) VALUES (?, ?)');
      for (const t of tenants) link.run(id, t.id);
      auditLogFor(this.db).append({
        event: 'key', decision: 'info', outcome: 'created', keyId: id, keyName: p.name, rule: actor,
        detail: { scopes: p.scopes, role: p.role, tenants: tenants.map((t) => t.slug), expiresAt, readPerMinute: p.readPerMinute, writePerMinute: p.writePerMinute },
      });
    });
    return { key: this.get(id)!, secret };
  }

  /**
   * Resolved keys by HMAC, reused while the api_keys rows cannot have changed: this connection changes keys only
   * through this service (which clears the cache), and `PRAGMA data_version` moves when any other connection
   * (the CLI revoking a key) commits. So a revocation takes effect on the next request, from either side.
   */
  private resolved = new Map<string, { row: KeyRow; key: ApiKey }>();
  private resolvedVersion = -1;
  private readonly dataVersion;

  private lookup(mac: string): { row: KeyRow; key: ApiKey } | undefined {
    const version = this.dataVersion.get() as number;
    if (version !== this.resolvedVersion) {
      this.resolved.clear();
      this.resolvedVersion = version;
    }
    let hit = this.resolved.get(mac);
    if (!hit) {
      const row = this.db.prepare('SELECT * FROM api_keys WHERE hmac = ?').get(mac) as KeyRow | undefined;
      if (!row) return undefined;
      hit = { row, key: this.toKey(row) };
      if (this.resolved.size >= 1024) this.resolved.clear();
      this.resolved.set(mac, hit);
    }
    return hit;
  }

  /** Resolves a presented secret. The lookup is by HMAC; the final compare is constant-time. */
  check(presented: string | undefined): KeyCheck {
    if (presented === undefined || presented === '') return { ok: false, reason: 'missing' };
    if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) return { ok: false, reason: 'malformed' };
    const mac = this.hmac(presented);
    const hit = this.lookup(mac);
    if (!hit || !timingSafeEqual(Buffer.from(hit.row.hmac, 'hex'), Buffer.from(mac, 'hex'))) return { ok: false, reason: 'unknown' };
    const { row, key } = hit;
    if (row.revoked_at) return { ok: false, reason: 'revoked', keyId: row.id, keyName: row.name };
    if (row.expires_at && row.expires_at <= new Date().toISOString()) return { ok: false, reason: 'expired', keyId: row.id, keyName: row.name };
    return { ok: true, key };
  }

  get(id: string): ApiKey | undefined {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    return row && this.toKey(row);
  }

  /** The key as the database holds it now, tenants included (no cache): what an approved request is re-checked against. */
  current(id: string): ApiKey | undefined {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    if (!row) return undefined;
    this.tenantsOf.delete(id);
    return this.toKey(row);
  }

  list(): ApiKey[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at').all() as KeyRow[]).map((r) => this.toKey(r));
  }

  revoke(id: string, actor = 'cli'): ApiKey {
    return writeTx(this.db, () => {
      const key = this.get(id);
      if (!key) throw new AppError('NOT_FOUND', `no API key with id ${id}`);
      if (!key.revokedAt) {
        this.resolved.clear();
        this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(new Date().toISOString(), id);
        auditLogFor(this.db).append({ event: 'key', decision: 'info', outcome: 'revoked', keyId: id, keyName: key.name, rule: actor });
      }
      return this.get(id)!;
    });
  }

  // Calls counted since the last write, per key: written once per group commit (see flushUse), not once per call.
  private uses = new Map<string, number>();

  /** Counts one call; the count reaches the database with the next flushUse, in the same transaction as its audit entry. */
  noteUse(id: string): void {
    this.uses.set(id, (this.uses.get(id) ?? 0) + 1);
  }

  /** Writes the counted calls (last_used_at, call_count). Group commit runs it inside each batch's transaction. */
  flushUse(): void {
    if (this.uses.size === 0) return;
    const at = new Date().toISOString();
    const stmt = this.db.prepare('UPDATE api_keys SET last_used_at = ?, call_count = call_count + ? WHERE id = ?');
    for (const [id, n] of this.uses) stmt.run(at, n, id);
    this.uses.clear();
  }

  /** The batch holding the counted calls did not commit: they did not happen. */
  discardUse(): void {
    this.uses.clear();
  }

  // A key's tenants never change after creation, so they are read once per key, not once per request.
  private tenantsOf = new Map<string, Tenant[]>();

  private toKey(row: KeyRow): ApiKey {
    let tenants = this.tenantsOf.get(row.id);
    if (!tenants) {
      tenants = this.db.prepare(`SELECT t.id, t.slug, t.name FROM api_key_tenants k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_id = ? ORDER BY t.slug`).all(row.id) as Tenant[];
      if (tenants.length > 0) this.tenantsOf.set(row.id, tenants);
    }
    return {
      id: row.id, name: row.name, prefix: row.prefix, scopes: JSON.parse(row.scopes_json) as Scope[], role: row.role, tenants,
      readPerMinute: row.read_per_minute, writePerMinute: row.write_per_minute, createdAt: row.created_at,
      expiresAt: row.expires_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at, callCount: row.call_count,
    };
  }
}


export function resolveTenants(db: Db, slugs: string[]): Tenant[] {
  const stmt = db.prepare('SELECT id, slug, name FROM tenants WHERE slug = ?');
  return [...new Set(slugs)].map((slug) => {
    const t = stmt.get(slug) as Tenant | undefined;
    if (!t) throw new AppError('NOT_FOUND', `unknown tenant '${slug}' (see: countersign tenants list)`);
    return t;
  });
}

export function listTenants(db: Db): Tenant[] {
  return db.prepare('SELECT id, slug, name FROM tenants ORDER BY slug').all() as Tenant[];
}
