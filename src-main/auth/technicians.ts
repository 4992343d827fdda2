// Technician accounts (team mode): a name, a scrypt passphrase, a role and the tenants each may act on. Every change is
// audited naming who made it. API keys may belong to a technician; such a key can never do more than its owner can now
// (ownerLimits: the owner's tenants, scopes and role, read at every key resolution; see KeyService).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Sql } from '../store/sql.ts';
import type { Store } from '../store/store.ts';
import { hashPassphrase, MIN_PASSPHRASE_LENGTH, unmatchableHash, verifyPassphrase } from './passphrase.ts';
import type { Role, Scope, Tenant } from './keys.ts';
import { actorName, assertMayChange, assertOwnerRemains, assertWithinTenants, managesAccounts, type AccountActor } from './accountRules.ts';
import { sealTechnician, technicianHolds, type TamperReport } from './credentialBinding.ts';
import { TechnicianName } from './technicianName.ts';

export const TECHNICIAN_ROLES = ['owner', 'admin', 'technician', 'viewer'] as const;
export type TechnicianRole = (typeof TECHNICIAN_ROLES)[number];

export interface Technician {
  id: string;
  name: string;
  role: TechnicianRole;
  /** 'all': every tenant, present and future; otherwise these. */
  tenants: 'all' | Tenant[];
  createdAt: string;
  disabledAt: string | null;
  /** The stored row does not match its binding: it counts as a disabled viewer of no tenant (see credentialBinding.ts). */
  tampered?: true;
}

/** What a technician may do; a key they own never exceeds it. */
export const CAN = {
  /** Approve or deny requests (of their tenants). */
  decide: (r: TechnicianRole) => r !== 'viewer',
  /** Create and revoke API keys (their own: always within their tenants). */
  keys: (r: TechnicianRole) => r !== 'viewer',
  /** Policy, tier overrides, four-eyes rules, enrollment tokens, any technician's keys. */
  administer: (r: TechnicianRole) => r === 'owner' || r === 'admin',
  /** Technician accounts themselves (an admin neither makes nor touches an owner: accountRules.ts). */
  accounts: managesAccounts,
};


export const CreateTechnicianInput = z.object({
  name: TechnicianName,
  passphrase: z.string().min(MIN_PASSPHRASE_LENGTH, `at least ${MIN_PASSPHRASE_LENGTH} characters`).max(1000),
  role: z.enum(TECHNICIAN_ROLES),
  tenants: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]),
});
export type CreateTechnicianInput = z.input<typeof CreateTechnicianInput>;

/** An account as the console lists it: with its live keys and its passkeys counted. */
export interface TechnicianListing extends Technician { keys: number; passkeys: number }

interface Row { id: string; name: string; passphrase_hash: string; role: TechnicianRole; all_tenants: number; created_at: string; disabled_at: string | null; binding: string | null }

/** The scopes and key role a technician's keys may have at most. */
export function ownerLimits(t: Pick<Technician, 'role' | 'disabledAt'>): { scopes: readonly Scope[]; role: Role } {
  if (t.disabledAt) return { scopes: [], role: 'standard' };
  if (t.role === 'viewer') return { scopes: ['ai:read'], role: 'standard' };
  return { scopes: ['ai:read', 'ai:write', 'ai:execute'], role: CAN.administer(t.role) ? 'admin' : 'standard' };
}

/** True when the technician may act on this tenant. */
export const reaches = (t: Pick<Technician, 'tenants'>, tenantId: string) => t.tenants === 'all' || t.tenants.some((x) => x.id === tenantId);

export class TechnicianService {
  /** 'changed' after any account change commits: caches of keys and sessions drop what they hold. */
  readonly events = new EventEmitter();
  private readonly store: Store;
  private readonly key: Buffer;
  readonly reportTampered: TamperReport;
  /** `bindingKey`: binding.ts's key of the install; `reportTampered`: told of each row that does not verify. */
  constructor(store: Store, bindingKey: Buffer, reportTampered: TamperReport = () => {}) {
    this.store = store;
    this.key = bindingKey;
    this.reportTampered = reportTampered;
  }

  private async toTechnician(r: Row, sql: Sql): Promise<Technician> {
    if (!(await technicianHolds(this.key, sql, r))) {
      this.reportTampered('technician account', { technicianId: r.id, name: r.name });
      return { id: r.id, name: r.name, role: 'viewer', tenants: [], createdAt: r.created_at, disabledAt: r.disabled_at ?? r.created_at, tampered: true };
    }
    const tenants = r.all_tenants ? 'all' as const
      : await sql.all<Tenant>(`SELECT t.id, t.slug, t.name FROM technician_tenants x JOIN tenants t ON t.id = x.tenant_id WHERE x.technician_id = ? ORDER BY t.slug`, [r.id]);
    return { id: r.id, name: r.name, role: r.role, tenants, createdAt: r.created_at, disabledAt: r.disabled_at };
  }

  async count(): Promise<number> {
    return (await this.store.sql.get<{ n: number }>('SELECT count(*) AS n FROM technicians WHERE disabled_at IS NULL'))!.n;
  }

  async get(id: string, sql: Sql = this.store.sql): Promise<Technician | undefined> {
    const r = await sql.get<Row>('SELECT * FROM technicians WHERE id = ?', [id]);
    return r && this.toTechnician(r, sql);
  }

  async list(): Promise<Technician[]> {
    const rows = await this.store.sql.all<Row>('SELECT * FROM technicians ORDER BY name');
    return Promise.all(rows.map((r) => this.toTechnician(r, this.store.sql)));
  }

  /** The technician for a name and passphrase, or undefined (a disabled account, a wrong passphrase: the same answer). */
  async authenticate(name: string, passphrase: string): Promise<Technician | undefined> {
    const r = await this.store.sql.get<Row>('SELECT * FROM technicians WHERE name = ?', [name.trim()]);
    // A missing account costs the same scrypt as a wrong passphrase: timing does not tell names apart.
    const ok = await verifyPassphrase(passphrase, r?.passphrase_hash ?? unmatchableHash());
    if (!r || !ok || r.disabled_at) return undefined;
    const t = await this.toTechnician(r, this.store.sql);
    return t.tampered ? undefined : t;
  }

  /** Every account with how many live keys and passkeys it holds. */
  async listing(): Promise<TechnicianListing[]> {
    const sql = this.store.sql;
    const keys = await sql.all<{ id: string; n: number }>('SELECT owner_id AS id, count(*) AS n FROM api_keys WHERE owner_id IS NOT NULL AND revoked_at IS NULL GROUP BY owner_id');
    const passkeys = await sql.all<{ id: string; n: number }>('SELECT technician_id AS id, count(*) AS n FROM technician_passkeys GROUP BY technician_id');
    const k = new Map(keys.map((r) => [r.id, Number(r.n)]));
    const pk = new Map(passkeys.map((r) => [r.id, Number(r.n)]));
    return (await this.list()).map((t) => ({ ...t, keys: k.get(t.id) ?? 0, passkeys: pk.get(t.id) ?? 0 }));
  }

  async create(input: CreateTechnicianInput, actor: AccountActor): Promise<Technician> {
    const p = CreateTechnicianInput.parse(input);
    assertMayChange(actor, undefined, p.role, 'create accounts');
    assertWithinTenants(actor, undefined, p.tenants);
    const hash = await hashPassphrase(p.passphrase);
    const id = randomUUID();
    const t = await this.store.write(async (tx) => {
      if (await tx.sql.get('SELECT 1 AS x FROM technicians WHERE name = ?', [p.name])) throw new AppError('CONFLICT', `a technician named ${p.name} exists`);
      const tenants = p.tenants === 'all' ? [] : await tenantsBySlug(tx.sql, p.tenants);
      await tx.sql.run('INSERT INTO technicians (id, name, passphrase_hash, role, all_tenants, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [id, p.name, hash, p.role, p.tenants === 'all' ? 1 : 0, new Date().toISOString()]);
      for (const x of tenants) await tx.sql.run('INSERT INTO technician_tenants (technician_id, tenant_id) VALUES (?, ?)', [id, x.id]);
      await sealTechnician(this.key, tx.sql, id);
      await tx.audit({ event: 'console', decision: 'info', outcome: 'technician created', rule: actorName(actor),
        detail: { technicianId: id, name: p.name, role: p.role, tenants: p.tenants === 'all' ? 'all' : tenants.map((x) => x.slug) } });
      return (await this.get(id, tx.sql))!;
    });
    this.events.emit('changed');
    return t;
  }

  /** Changes a technician's role and tenants: their keys are narrowed (or widened back) at their next call. */
  async update(id: string, change: { role?: TechnicianRole; tenants?: 'all' | string[]; disabled?: boolean }, actor: AccountActor): Promise<Technician> {
    const t = await this.store.write(async (tx) => {
      const before = await this.get(id, tx.sql);
      if (!before) throw new AppError('NOT_FOUND', `no technician ${id}`);
      // Tenants first: a limited actor is told nothing of an account outside them, a tampered one (no tenants) included.
      assertWithinTenants(actor, before, change.tenants);
      if (before.tampered) throw tamperedAccount(before);
      assertMayChange(actor, before, change.role, 'change accounts');
      const owners = await enabledOwners(tx.sql);
      if (change.role) await tx.sql.run('UPDATE technicians SET role = ? WHERE id = ?', [change.role, id]);
      if (change.tenants) {
        const tenants = change.tenants === 'all' ? [] : await tenantsBySlug(tx.sql, change.tenants);
        await tx.sql.run('UPDATE technicians SET all_tenants = ? WHERE id = ?', [change.tenants === 'all' ? 1 : 0, id]);
        await tx.sql.run('DELETE FROM technician_tenants WHERE technician_id = ?', [id]);
        for (const x of tenants) await tx.sql.run('INSERT INTO technician_tenants (technician_id, tenant_id) VALUES (?, ?)', [id, x.id]);
      }
      if (change.disabled !== undefined) await tx.sql.run('UPDATE technicians SET disabled_at = ? WHERE id = ?', [change.disabled ? new Date().toISOString() : null, id]);
      await sealTechnician(this.key, tx.sql, id);
      const after = (await this.get(id, tx.sql))!;
      assertOwnerRemains(owners, await enabledOwners(tx.sql), before.name);
      await tx.audit({ event: 'console', decision: 'info', outcome: 'technician changed', rule: actorName(actor),
        detail: { technicianId: id, name: after.name, before: summary(before), after: summary(after) } });
      return after;
    });
    this.events.emit('changed');
    return t;
  }

  /** Sets a new passphrase; the account's open console sessions end (whoever held the old one is signed out). */
  async resetPassphrase(id: string, passphrase: string, actor: AccountActor): Promise<Technician> {
    const p = CreateTechnicianInput.shape.passphrase.parse(passphrase);
    const hash = await hashPassphrase(p);
    const t = await this.store.write(async (tx) => {
      const before = await this.get(id, tx.sql);
      if (!before) throw new AppError('NOT_FOUND', `no technician ${id}`);
      // Only the CLI (the data directory's holder) re-binds a tampered row: it then holds the role, tenants and state
      // stored now, named in the audit entry, with the new passphrase.
      assertWithinTenants(actor, before, undefined);
      if (before.tampered && typeof actor !== 'string') throw tamperedAccount(before);
      assertMayChange(actor, before, undefined, 'reset passphrases');
      await tx.sql.run('UPDATE technicians SET passphrase_hash = ? WHERE id = ?', [hash, id]);
      await sealTechnician(this.key, tx.sql, id);
      const ended = await tx.sql.run('DELETE FROM console_sessions WHERE technician_id = ?', [id]);
      const rebound = before.tampered ? { rebound: summary((await this.get(id, tx.sql))!) } : {};
      await tx.audit({ event: 'console', decision: 'info', outcome: before.tampered ? 'technician re-bound with a new passphrase' : 'technician passphrase reset', rule: actorName(actor),
        detail: { technicianId: id, name: before.name, sessionsEnded: ended.changes, ...rebound } });
      return before;
    });
    this.events.emit('changed');
    return t;
  }

  /**
   * Removes an account that has left nothing in the record. One that owns keys or approved requests stays (the
   * record names it): disable it instead, which ends its sessions and leaves its keys nothing.
   */
  async remove(id: string, actor: AccountActor): Promise<Technician> {
    const t = await this.store.write(async (tx) => {
      const before = await this.get(id, tx.sql);
      if (!before) throw new AppError('NOT_FOUND', `no technician ${id}`);
      assertWithinTenants(actor, before, undefined);
      assertMayChange(actor, before, undefined, 'remove accounts');
      const owners = await enabledOwners(tx.sql);
      const keys = Number((await tx.sql.get<{ n: number }>('SELECT count(*) AS n FROM api_keys WHERE owner_id = ?', [id]))!.n);
      const votes = Number((await tx.sql.get<{ n: number }>('SELECT count(*) AS n FROM approval_votes WHERE technician_id = ?', [id]))!.n);
      if (keys + votes > 0) throw new AppError('CONFLICT', `${before.name} owns ${keys} key(s) and approved ${votes} request(s): the record names them, so disable the account instead`);
      for (const table of ['console_sessions', 'technician_passkeys', 'technician_tenants']) await tx.sql.run(`DELETE FROM ${table} WHERE technician_id = ?`, [id]);
      await tx.sql.run('DELETE FROM technicians WHERE id = ?', [id]);
      assertOwnerRemains(owners, await enabledOwners(tx.sql), before.name);
      await tx.audit({ event: 'console', decision: 'info', outcome: 'technician removed', rule: actorName(actor),
        detail: { technicianId: id, name: before.name, was: summary(before) } });
      return before;
    });
    this.events.emit('changed');
    return t;
  }
}

const enabledOwners = async (sql: Sql) => Number((await sql.get<{ n: number }>(`SELECT count(*) AS n FROM technicians WHERE role = 'owner' AND disabled_at IS NULL`))!.n);

const tamperedAccount = (t: Technician) => new AppError('CONFLICT',
  `${t.name}'s stored account does not match its binding (changed in the database?): remove it, or re-bind it with: countersign technicians reset-passphrase`, 'credential_binding');

const summary = (t: Technician) => ({ role: t.role, tenants: t.tenants === 'all' ? 'all' : t.tenants.map((x) => x.slug), disabled: !!t.disabledAt });

async function tenantsBySlug(sql: Sql, slugs: string[]): Promise<Tenant[]> {
  const out: Tenant[] = [];
  for (const slug of new Set(slugs)) {
    const t = await sql.get<Tenant>('SELECT id, slug, name FROM tenants WHERE slug = ?', [slug]);
    if (!t) throw new AppError('BAD_INPUT', `unknown tenant '${slug}'`);
    out.push(t);
  }
  return out;
}

