import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../store/canonical.ts';
import type { TamperReport } from '../auth/credentialBinding.ts';
import type { Store, Tx } from '../store/store.ts';
import { AppError } from '../errors.ts';
import { foreignTriggers, lockPolicy, policyHolds, readPolicyRows, restorePolicy, sameRows, sealPolicy, stricterOfStored, whole, type PolicyRows } from './policyBinding.ts';
import type { ApprovalRule } from './fourEyes.ts';
import { DEFAULT_POLICY, pinnedFromEnv, PolicySchema, type Policy, type PolicyName } from './policyValues.ts';
import type { Tier } from './tiers.ts';

export interface TierOverride {
  id: string;
  tool: string;
  action: string | null;
  tenantId: string | null;
  tenant: string | null;
  tier: Tier;
  createdAt: string;
}

/** 'tampered': the stored policy does not match its binding (policyBinding.ts); the stricter values apply, changes pause. */
export type PolicyIntegrity = 'bound' | 'tampered';

export interface EffectivePolicy {
  values: Policy;
  /** Settings fixed by an environment variable: shown read-only in the console, named here. */
  pinned: Partial<Record<PolicyName, string>>;
  integrity: PolicyIntegrity;
  /** Of the values, overrides and four-eyes rules in force: what an acceptance names (accept). */
  digest: string;
}

/**
 * The policy in force. Reads are synchronous and cached (every call reads it); this process changes it only through
 * this service, which reloads after each change. Changes are audited and bound in the transaction that makes them.
 */
export class PolicyService {
  private cache: EffectivePolicy | undefined;
  private overrides: TierOverride[] = [];
  /** The stored rows the policy in force stands for: what a change writes back first if it finds the rows edited. */
  private trusted: PolicyRows = { settings: [], overrides: [], rules: [] };
  /** Four-eyes rules (fourEyes.ts), read and verified with the rest of the policy. */
  private rules: ApprovalRule[] = [];
  /** The binding the policy in force was read with: another node's change moves it (refresh). */
  private loadedBinding: string | null = null;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private loading: Promise<unknown> = Promise.resolve();

  private readonly store: Store;
  private readonly env: NodeJS.ProcessEnv;
  private readonly key: Buffer;
  private readonly tampered: TamperReport | undefined;
  /** `key`: the binding key (governance/binding.ts bindingKey of the install secret). */
  constructor(store: Store, env: NodeJS.ProcessEnv, key: Buffer, tampered?: TamperReport) {
    this.store = store;
    this.env = env;
    this.key = key;
    this.tampered = tampered;
    pinnedFromEnv(this.env); // fail at start, not at first call, on a malformed variable
  }

  /** True when the stored policy does not match its binding: the gate pauses changes (decide.ts). */
  get unverified(): boolean {
    return this.get().integrity === 'tampered';
  }

  /**
   * Reads the stored policy in one snapshot and checks its binding; call once before use, and after every change. Loads
   * run one at a time, and each sets the policy in force at once, from the rows it verified.
   */
  load(): Promise<this> {
    return this.queued(() => this.loadOnce(false));
  }

  private queued(fn: () => Promise<this>): Promise<this> {
    const run = this.loading.then(fn);
    this.loading = run.catch(() => {});
    return run;
  }

  /**
   * `keepVerified`: a read that fails its binding does not replace a verified policy in force (refresh: a binding that
   * moved without a valid seal is someone's edit, not another node's change); it is reported, and the next start finds it.
   */
  private async loadOnce(keepVerified: boolean): Promise<this> {
    const rows = await readPolicyRows(this.store.sql);
    const slugs = new Map((await this.store.sql.all<{ id: string; slug: string }>('SELECT id, slug FROM tenants')).map((x) => [x.id, x.slug]));
    const holds = policyHolds(this.key, rows);
    const stored: Partial<Policy> = {};
    for (const row of rows.settings) {
      let value: unknown;
      try {
        value = JSON.parse(row.value_json);
      } catch {
        continue;
      }
      // A stored value that no longer validates (an edited row) is ignored: the default stands.
      const parsed = PolicySchema.shape[row.name as PolicyName].safeParse(value);
      if (parsed.success) (stored as Record<string, unknown>)[row.name] = parsed.data;
    }
    const base = holds ? { ...DEFAULT_POLICY, ...stored } : stricterOfStored(stored);
    const env = pinnedFromEnv(this.env);
    // Rows the gate could not read as written (a tier or count out of range) count for nothing; bound, there are none.
    if (!holds && keepVerified && this.cache?.integrity === 'bound') {
      this.loadedBinding = rows.binding;
      this.tampered?.('policy', { binding: rows.binding ? 'differs' : 'missing', kept: 'the verified policy in force', overrides: rows.overrides.length, fourEyesRules: rows.rules.length });
      return this;
    }
    const overrides = rows.overrides.filter((o) => whole(o.tier, 1, 4) !== undefined);
    const rules = rows.rules.filter((r) => whole(r.approvers, 1, 5) !== undefined && (r.tier === null || whole(r.tier, 3, 3) !== undefined));
    const sortKey = (x: { tool: string | null; action: string | null; tenant: string | null }) => `${x.tool ?? ''}\0${x.action ?? ''}\0${x.tenant ?? ''}`;
    const order = (a: Parameters<typeof sortKey>[0], b: Parameters<typeof sortKey>[0]) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);
    const slug = (id: string | null) => (id === null ? null : slugs.get(id) ?? null);
    this.overrides = overrides.map((o) => ({ id: o.id, tool: o.tool, action: o.action, tenantId: o.tenantId, tenant: slug(o.tenantId), tier: whole(o.tier, 1, 4) as Tier, createdAt: o.createdAt }))
      .sort(order);
    this.rules = rules.map((r): ApprovalRule => ({ id: r.id, tool: r.tool, action: r.action, tier: r.tier === null ? null : 3, tenantId: r.tenantId, tenant: slug(r.tenantId),
      approvers: whole(r.approvers, 1, 5)!, createdAt: r.createdAt })).sort(order);
    // What a change writes back is what is in force: unbound, the stricter values, and the overrides and four-eyes rules
    // (they only raise), without rows the gate could not read.
    // An id stored twice (a table rebuilt without its key) is kept once: what is written back must be writable.
    const once = <R extends { id: string }>(xs: R[]) => [...new Map(xs.map((x) => [x.id, x])).values()];
    this.trusted = { settings: holds ? rows.settings : Object.entries(base).map(([name, v]) => ({ name, value_json: JSON.stringify(v) })),
      overrides: once(overrides), rules: once(rules) };
    this.loadedBinding = rows.binding;
    const values = { ...base, ...env.values };
    // What the console shows, as one digest: an acceptance names it, so that what is kept is what was reviewed.
    // What is kept on acceptance, as one digest: the values in force and the rows a change writes back (a pinned setting's
    // stored value too). An acceptance names it, so that what is kept is what was reviewed.
    const digest = createHash('sha256').update(canonicalJson({ values, trusted: this.trusted })).digest('hex');
    this.cache = { values, pinned: env.pinned, integrity: holds ? 'bound' : 'tampered', digest };
    if (!holds) {
      this.tampered?.('policy', { binding: rows.binding ? 'differs' : 'missing', settings: rows.settings.map((x) => x.name).sort(), overrides: rows.overrides.length,
        fourEyesRules: rows.rules.length });
    }
    return this;
  }

  /**
   * Team mode: another node may have changed the policy. Reads it again when the stored binding moved (every change
   * moves it); calls made while one runs share it, and one more follows. Rows edited without moving the binding leave
   * the policy in force as it was read, verified.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const now = await this.store.sql.get<{ binding: string }>('SELECT binding FROM policy_binding WHERE id = 1');
        if ((now?.binding ?? null) !== this.loadedBinding) await this.queued(() => this.loadOnce(true));
      } while (this.refreshAgain);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Runs a change to the stored policy in its transaction, and binds the result. Rows edited since this process read
   * them are first put back to the policy in force, audited: a technician's change never seals someone else's edit.
   * While the policy this process read fails its binding, only an admin's acceptance of what is shown binds it: any
   * other change (a setting, an override, the CLI's four-eyes rule) is refused, as it would seal rows nobody reviewed.
   */
  private async bound<T>(tx: Tx, change: () => Promise<T>, accepting = false, stillShown?: () => void): Promise<T> {
    if (this.get().integrity === 'tampered' && !accepting) {
      throw new AppError('POLICY_UNVERIFIED', 'The stored governance policy does not match its binding (it was edited without the install secret): '
        + 'an admin must review it on the console\'s Policy page and keep it before it can be changed.', 'policy_binding');
    }
    await lockPolicy(tx.sql);
    stillShown?.();
    const foreign = await foreignTriggers(tx.sql);
    if (foreign.length) {
      throw new AppError('POLICY_UNVERIFIED', `The database holds triggers or rules Countersign did not make (${foreign.slice(0, 5).join(', ')}): they could rewrite `
        + 'the policy inside this change, so it is not changed. Remove them (they were written into the database without Countersign) and try again.', 'policy_binding');
    }
    if (!policyHolds(this.key, await readPolicyRows(tx.sql))) {
      await restorePolicy(tx.sql, this.trusted);
      const now = await readPolicyRows(tx.sql);
      if (now.duplicated || !sameRows(now, this.trusted)) {
        throw new AppError('POLICY_UNVERIFIED', 'The stored governance policy was changed in the database and could not be put back as it was: nothing was changed. '
          + 'Restart Countersign and review the policy on the console\'s Policy page.', 'policy_binding');
      }
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'stored policy put back to the policy in force', rule: 'policy_binding',
        detail: { was: this.get().integrity, settings: this.trusted.settings.map((x) => x.name), overrides: this.trusted.overrides.length,
          fourEyesRules: this.trusted.rules.length } });
    }
    const result = await change();
    await sealPolicy(this.key, tx.sql);
    return result;
  }

  /** A change to a part of the policy another service owns (four-eyes rules): in one transaction, bound, then read again. */
  async change<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.store.write((tx) => this.bound(tx, () => fn(tx)));
    await this.load();
    return result;
  }

  /** The four-eyes rules in force. */
  listApprovalRules(): ApprovalRule[] {
    return this.rules;
  }

  /** Approvers a tier-3 request of this tool/action/tenant needs: the most any matching rule asks for, at least 1. */
  approversRequired(tool: string, action: string | undefined, tenantId: string): number {
    let n = 1;
    for (const r of this.rules) {
      if ((r.tool === null || r.tool === tool) && (r.action === null || r.action === action) && (r.tenantId === null || r.tenantId === tenantId)) n = Math.max(n, r.approvers);
    }
    return n;
  }

  /**
   * After a failed binding: keeps the policy shown (the stricter values) as the trusted one. `shown`: the digest of the
   * policy the admin reviewed; if it changed since (another read), nothing is kept.
   */
  async accept(actor: string, shown: string): Promise<EffectivePolicy> {
    const stale = () => new AppError('CONFLICT', 'The policy changed since it was shown: review it again before keeping it.', 'policy_binding');
    if (shown !== this.get().digest) throw stale();
    // Checked again inside the transaction: a re-read (refresh) may replace the policy while the write waits its turn.
    await this.store.write((tx) => this.bound(tx, async () => {
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'policy accepted as shown', rule: actor, detail: { was: this.get().integrity } });
    }, true, () => {
      if (shown !== this.get().digest) throw stale();
    }));
    await this.load();
    return this.get();
  }

  get(): EffectivePolicy {
    if (!this.cache) throw new Error('policy not loaded');
    return this.cache;
  }

  get values(): Policy {
    return this.get().values;
  }

  async update(patch: Partial<Policy>, actor: string): Promise<EffectivePolicy> {
    const parsed = PolicySchema.partial().strict().parse(patch);
    const { pinned } = this.get();
    const blocked = Object.keys(parsed).filter((k) => k in pinned);
    if (blocked.length) throw new AppError('PINNED', `pinned by environment: ${blocked.map((k) => pinned[k as PolicyName]).join(', ')}`);
    await this.store.write((tx) => this.bound(tx, async () => {
      for (const [name, value] of Object.entries(parsed)) {
        await tx.sql.run(`INSERT INTO settings (name, value_json, updated_at) VALUES (?, ?, ?)
          ON CONFLICT(name) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`, [name, JSON.stringify(value), new Date().toISOString()]);
      }
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'updated', rule: actor, detail: parsed });
    }));
    await this.load();
    return this.get();
  }

  /** All overrides: they are read twice per call and change only through this service. */
  listOverrides(): TierOverride[] {
    return this.overrides;
  }

  /** Tier overrides raise only: the highest matching override for (tool, action, tenant), wildcards as NULL. */
  overrideTier(tool: string, action: string | undefined, tenantId: string | undefined): Tier | undefined {
    return overrideTierOf(this.overrides, tool, action, tenantId);
  }

  /** Highest override for a tool under any action/tenant: used to decide what tools/list may hide or widen. */
  maxOverrideTier(tool: string): Tier | undefined {
    let top: Tier | undefined;
    for (const o of this.overrides) if (o.tool === tool) top = Math.max(top ?? 1, o.tier) as Tier;
    return top;
  }

  async removeOverride(id: string, actor: string): Promise<boolean> {
    const o = this.overrides.find((x) => x.id === id);
    if (!o) return false;
    await this.store.write((tx) => this.bound(tx, async () => {
      await tx.sql.run('DELETE FROM tier_overrides WHERE id = ?', [id]);
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'tier_override_removed', rule: actor, tool: o.tool, action: o.action, tier: o.tier, detail: o });
    }));
    await this.load();
    return true;
  }

  async setOverride(o: { tool: string; action?: string; tenantId?: string; tier: Tier }, actor: string): Promise<void> {
    await this.store.write((tx) => this.bound(tx, async () => {
      // UNIQUE treats NULLs as distinct, so the wildcard rows are matched with IS, not by ON CONFLICT.
      const existing = await tx.sql.get<{ id: string }>('SELECT id FROM tier_overrides WHERE tool = ? AND action IS NOT DISTINCT FROM ? AND tenant_id IS NOT DISTINCT FROM ?', [o.tool, o.action ?? null, o.tenantId ?? null]);
      if (existing) await tx.sql.run('UPDATE tier_overrides SET tier = ? WHERE id = ?', [o.tier, existing.id]);
      else await tx.sql.run(`INSERT INTO tier_overrides (id, tool, action, tenant_id, tier, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
        [randomBytes(16).toString('hex'), o.tool, o.action ?? null, o.tenantId ?? null, o.tier, new Date().toISOString()]);
      await tx.audit({ event: 'policy', decision: 'info', outcome: 'tier_override_set', rule: actor, tool: o.tool, action: o.action ?? null, tier: o.tier, detail: o });
    }));
    await this.load();
  }
}

/** The highest of the overrides matching (tool, action, tenant), wildcards as null: the policy's and a draft's alike. */
export function overrideTierOf(overrides: readonly Pick<TierOverride, 'tool' | 'action' | 'tenantId' | 'tier'>[], tool: string, action: string | undefined, tenantId: string | undefined): Tier | undefined {
  let top: Tier | undefined;
  for (const o of overrides) {
    if (o.tool === tool && (o.action === null || o.action === action) && (o.tenantId === null || o.tenantId === tenantId)) top = Math.max(top ?? 1, o.tier) as Tier;
  }
  return top;
}
