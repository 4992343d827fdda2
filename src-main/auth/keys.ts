import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Store } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { ownerLimits, type TechnicianRole } from './technicians.ts';
import { apiKeyHolds, sealApiKey, technicianHolds, type TamperReport, type TechnicianBoundRow } from './credentialBinding.ts';
import { bindingKey } from '../governance/binding.ts';
import { AppError } from '../errors.ts';
import { hmacSha256 } from '../hmac.ts';
import { KEY_USAGE_COLUMNS, KEY_USAGE_JOINS } from '../audit/keyUsage.ts';

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
  /** Its calls and the latest of them, read from the audit log by list() and get() (audit/keyUsage.ts); a key resolved
   * for a request (check) or re-checked for an approval (current) does not read them (0 and null there): nothing on
   * those paths uses them. */
  lastUsedAt: string | null;
  callCount: number;
  /**
   * The technician the key belongs to (team mode), or null. Its scopes, role and tenants above are already narrowed to
   * what that technician may do now: a key never does more than its owner can.
   */
  owner: { id: string; name: string } | null;
  /** The tenants the key was issued for, before its owner's narrowing (the console scopes who may see or end it by them). */
  issuedTenantIds?: readonly string[];
}

export const CreateKeyInput = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1).transform((s) => [...new Set(s)]),
  tenants: z.array(z.string().min(1)).min(1, 'a key needs at least one tenant'),
  role: z.enum(ROLES).default('standard'),
  expiresDays: z.number().int().min(1).max(3650).optional(),
  readPerMinute: z.number().int().min(1).max(10_000_000).optional(),
  writePerMinute: z.number().int().min(1).max(10_000_000).optional(),
  /** The technician the key belongs to: it may not be given more than they have. */
  ownerId: z.string().min(1).optional(),
});
export type CreateKeyInput = z.input<typeof CreateKeyInput>;

interface KeyRow {
  id: string; name: string; prefix: string; hmac: string; scopes_json: string; role: Role;
  read_per_minute: number | null; write_per_minute: number | null; created_at: string;
  expires_at: string | null; revoked_at: string | null; owner_id: string | null; binding: string | null;
  /** With WITH_USAGE (audit/keyUsage.ts): the key's calls through the fold and the latest, then the log's after it. */
  folded_calls?: number | string; folded_last_used_at?: string | null; calls?: number | string | null; last_at?: string | null;
}

/** A key's row with its usage: the stored sums and what the audit log holds after them (audit/keyUsage.ts). */
const WITH_USAGE = `SELECT k.*, ${KEY_USAGE_COLUMNS} FROM api_keys k ${KEY_USAGE_JOINS}`;

const usageOf = (row: KeyRow) => ({
  callCount: Number(row.folded_calls ?? 0) + Number(row.calls ?? 0),
  lastUsedAt: row.last_at != null && (row.folded_last_used_at == null || row.last_at > row.folded_last_used_at) ? row.last_at : row.folded_last_used_at ?? null,
});

interface OwnerRow { id: string; name: string; role: TechnicianRole; all_tenants: number; disabled_at: string | null; tampered?: true }

export type KeyCheck = { ok: true; key: ApiKey } | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired'; keyId?: string; keyName?: string };

export class KeyService {
  private readonly store: Store;
  private readonly hmacKey: Buffer;
  private readonly bindKey: Buffer;
  private readonly tampered: TamperReport;
  /** Keys whose row does not match its binding: resolved to nothing, and refused at the door (check). */
  private readonly untrusted = new WeakSet<ApiKey>();
  constructor(store: Store, hmacKey: Buffer, tampered: TamperReport = () => {}) {
    this.store = store;
    this.hmacKey = hmacKey;
    this.bindKey = bindingKey(hmacKey);
    this.tampered = tampered;
  }

  // Presented secrets → their HMAC (hex, and the bytes the constant-time compare takes), so a client's repeated
  // requests skip the key setup of createHmac and the hex decoding. Bounded.
  private macs = new Map<string, { hex: string; bytes: Buffer }>();

  private presentedMac(secret: string): { hex: string; bytes: Buffer } {
    let mac = this.macs.get(secret);
    if (!mac) {
      const bytes = hmacSha256(this.hmacKey).update(secret).digest();
      mac = { hex: bytes.toString('hex'), bytes };
      if (this.macs.size >= 1024) this.macs.clear();
      this.macs.set(secret, mac);
    }
    return mac;
  }

  private hmac(secret: string): string {
    return this.presentedMac(secret).hex;
  }

  async create(input: CreateKeyInput, actor = 'cli'): Promise<{ key: ApiKey; secret: string }> {
    const p = CreateKeyInput.parse(input);
    const tenants = await resolveTenants(this.store.sql, p.tenants);
    const owner = p.ownerId ? await this.ownerRow(this.store.sql, p.ownerId) : undefined;
    if (p.ownerId && !owner) throw new AppError('BAD_INPUT', `ownerId: no technician ${p.ownerId}`);
    if (owner) {
      const limits = ownerLimits({ role: owner.role, disabledAt: owner.disabled_at });
      const beyond = p.scopes.filter((s) => !limits.scopes.includes(s));
      if (beyond.length) throw new AppError('BAD_INPUT', `scopes: ${owner.name} may not hold ${beyond.join(', ')}`);
      if (p.role === 'admin' && limits.role !== 'admin') throw new AppError('BAD_INPUT', `role: ${owner.name} may not hold an admin key`);
      const reachable = await this.ownerTenants(this.store.sql, owner);
      const outside = reachable === 'all' ? [] : tenants.filter((t) => !reachable.has(t.id));
      if (outside.length) throw new AppError('BAD_INPUT', `tenants: ${owner.name} may not act on ${outside.map((t) => t.slug).join(', ')}`);
    }
    const secret = KEY_PREFIX + randomBytes(24).toString('base64url');
    const id = randomUUID();
    const now = new Date();
    const expiresAt = p.expiresDays ? new Date(now.getTime() + p.expiresDays * 86_400_000).toISOString() : null;
    this.resolved.clear();
    await this.store.write(async (tx) => {
      await tx.sql.run(`INSERT INTO api_keys (id, name, prefix, hmac, scopes_json, role, read_per_minute, write_per_minute, created_at, expires_at, owner_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [id, p.name, secret.slice(0, 12), this.hmac(secret), JSON.stringify(p.scopes), p.role,
        p.readPerMinute ?? null, p.writePerMinute ?? null, now.toISOString(), expiresAt, owner?.id ?? null]);
      for (const t of tenants) await tx.sql.run('INSERT INTO api_key_tenants (key_id, tenant_id) VALUES (?, ?)', [id, t.id]);
      await sealApiKey(this.bindKey, tx.sql, id);
      await tx.audit({
        event: 'key', decision: 'info', outcome: 'created', keyId: id, keyName: p.name, rule: actor,
        detail: { scopes: p.scopes, role: p.role, tenants: tenants.map((t) => t.slug), expiresAt, readPerMinute: p.readPerMinute, writePerMinute: p.writePerMinute, owner: owner?.name ?? null },
      });
    });
    this.resolved.clear();
    return { key: (await this.get(id))!, secret };
  }

  /**
   * Resolved keys by HMAC, reused while the api_keys rows cannot have changed: this process changes keys only
   * through this service (which clears the cache), and the store's change counter moves when another process (the
   * CLI revoking a key, another node) commits. So a revocation takes effect on the next request, from either side.
   */
  private resolved = new Map<string, { row: KeyRow; key: ApiKey; mac: Buffer }>();
  private resolvedVersion = -1;

  private async lookup(mac: string): Promise<{ row: KeyRow; key: ApiKey; mac: Buffer } | undefined> {
    const version = await this.store.changes();
    if (version !== this.resolvedVersion) {
      this.resolved.clear();
      this.tenantsOf.clear();
      this.resolvedVersion = version;
    }
    let hit = this.resolved.get(mac);
    if (!hit) {
      const row = await this.store.sql.get<KeyRow>('SELECT * FROM api_keys WHERE hmac = ?', [mac]);
      if (!row) return undefined;
      hit = { row, key: await this.toKey(row), mac: Buffer.from(row.hmac, 'hex') };
      if (this.resolved.size >= 1024) this.resolved.clear();
      this.resolved.set(mac, hit);
    }
    return hit;
  }

  /** Resolves a presented secret. The lookup is by HMAC; the final compare is constant-time. */
  async check(presented: string | undefined): Promise<KeyCheck> {
    if (presented === undefined || presented === '') return { ok: false, reason: 'missing' };
    if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) return { ok: false, reason: 'malformed' };
    const mac = this.presentedMac(presented);
    const hit = await this.lookup(mac.hex);
    if (!hit || hit.mac.length !== mac.bytes.length || !timingSafeEqual(hit.mac, mac.bytes)) return { ok: false, reason: 'unknown' };
    const { row, key } = hit;
    if (row.revoked_at) return { ok: false, reason: 'revoked', keyId: row.id, keyName: row.name };
    if (row.expires_at && row.expires_at <= new Date().toISOString()) return { ok: false, reason: 'expired', keyId: row.id, keyName: row.name };
    // A row someone edited in the database (scopes, tenants, a cleared revocation): as if no such key existed.
    if (this.untrusted.has(key)) return { ok: false, reason: 'unknown' };
    return { ok: true, key };
  }

  async get(id: string, sql: Sql = this.store.sql): Promise<ApiKey | undefined> {
    const row = await sql.get<KeyRow>(`${WITH_USAGE} WHERE k.id = ?`, [id]);
    return row && this.toKey(row, sql);
  }

  /** The key as the database holds it now, tenants included (no cache): what an approved request is re-checked against. */
  async current(id: string): Promise<ApiKey | undefined> {
    const row = await this.store.sql.get<KeyRow>('SELECT * FROM api_keys WHERE id = ?', [id]);
    if (!row) return undefined;
    this.tenantsOf.delete(id);
    return this.toKey(row);
  }

  async list(): Promise<ApiKey[]> {
    const rows = await this.store.sql.all<KeyRow>(`${WITH_USAGE} ORDER BY k.created_at`);
    return Promise.all(rows.map((r) => this.toKey(r)));
  }

  async revoke(id: string, actor = 'cli'): Promise<ApiKey> {
    const key = await this.store.write(async (tx) => {
      const key = await this.get(id, tx.sql);
      if (!key) throw new AppError('NOT_FOUND', `no API key with id ${id}`);
      if (!key.revokedAt) {
        await tx.sql.run('UPDATE api_keys SET revoked_at = ? WHERE id = ?', [new Date().toISOString(), id]);
        await sealApiKey(this.bindKey, tx.sql, id);
        await tx.audit({ event: 'key', decision: 'info', outcome: 'revoked', keyId: id, keyName: key.name, rule: actor });
      }
      return this.get(id, tx.sql);
    });
    this.resolved.clear();
    return key!;
  }

  /** Drops every resolved key: a technician's rights changed in this process (other processes move store.changes()). */
  invalidate(): void {
    this.resolved.clear();
    this.tenantsOf.clear();
  }

  /** The owner as bound: a row that does not match its binding is a disabled viewer of no tenant (its keys get nothing). */
  private async ownerRow(sql: Sql, id: string): Promise<OwnerRow | undefined> {
    const r = await sql.get<TechnicianBoundRow & OwnerRow>('SELECT * FROM technicians WHERE id = ?', [id]);
    if (!r) return undefined;
    if (await technicianHolds(this.bindKey, sql, r)) return { id: r.id, name: r.name, role: r.role, all_tenants: r.all_tenants, disabled_at: r.disabled_at };
    return { id: r.id, name: r.name, role: 'viewer', all_tenants: 0, disabled_at: r.disabled_at ?? r.created_at, tampered: true };
  }

  private async ownerTenants(sql: Sql, o: OwnerRow): Promise<'all' | Set<string>> {
    if (o.tampered) return new Set();
    if (o.all_tenants) return 'all';
    return new Set((await sql.all<{ tenant_id: string }>('SELECT tenant_id FROM technician_tenants WHERE technician_id = ?', [o.id])).map((r) => r.tenant_id));
  }

  // A key's own tenants never change after creation, so they are read once per key, not once per request.
  private tenantsOf = new Map<string, Tenant[]>();

  private async toKey(row: KeyRow, sql: Sql = this.store.sql): Promise<ApiKey> {
    let tenants = this.tenantsOf.get(row.id);
    if (!tenants) {
      tenants = await sql.all<Tenant>(`SELECT t.id, t.slug, t.name FROM api_key_tenants k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_id = ? ORDER BY t.slug`, [row.id]);
      if (tenants.length > 0) this.tenantsOf.set(row.id, tenants);
    }
    if (!apiKeyHolds(this.bindKey, row, tenants.map((t) => t.id))) {
      this.tampered(`API key ${row.name}`, { keyId: row.id });
      const nothing: ApiKey = {
        id: row.id, name: row.name, prefix: row.prefix, scopes: [], role: 'standard', tenants: [], readPerMinute: null, writePerMinute: null, createdAt: row.created_at,
        expiresAt: row.expires_at, revokedAt: row.revoked_at, ...usageOf(row), owner: null, issuedTenantIds: [],
      };
      this.untrusted.add(nothing);
      return nothing;
    }
    const issuedTenantIds = tenants.map((t) => t.id);
    let scopes = JSON.parse(row.scopes_json) as Scope[];
    let role = row.role;
    let owner: ApiKey['owner'] = null;
    if (row.owner_id) {
      // Narrowed to what the owner may do now; an owner that is gone or disabled leaves the key nothing.
      const o = await this.ownerRow(sql, row.owner_id);
      const limits = o ? ownerLimits({ role: o.role, disabledAt: o.disabled_at }) : { scopes: [], role: 'standard' as const };
      scopes = scopes.filter((s) => limits.scopes.includes(s));
      if (limits.role !== 'admin') role = 'standard';
      const reach = o ? await this.ownerTenants(sql, o) : new Set<string>();
      if (reach !== 'all') tenants = tenants.filter((t) => reach.has(t.id));
      owner = { id: row.owner_id, name: o?.name ?? '(removed)' };
    }
    return {
      id: row.id, name: row.name, prefix: row.prefix, scopes, role, tenants,
      readPerMinute: row.read_per_minute, writePerMinute: row.write_per_minute, createdAt: row.created_at,
      expiresAt: row.expires_at, revokedAt: row.revoked_at, ...usageOf(row), owner, issuedTenantIds,
    };
  }
}


export async function resolveTenants(sql: Sql, slugs: string[]): Promise<Tenant[]> {
  const out: Tenant[] = [];
  for (const slug of new Set(slugs)) {
    const t = await sql.get<Tenant>('SELECT id, slug, name FROM tenants WHERE slug = ?', [slug]);
    if (!t) throw new AppError('NOT_FOUND', `unknown tenant '${slug}' (see: countersign tenants list)`);
    out.push(t);
  }
  return out;
}

export function listTenants(sql: Sql): Promise<Tenant[]> {
  return sql.all<Tenant>('SELECT id, slug, name FROM tenants ORDER BY slug');
}
