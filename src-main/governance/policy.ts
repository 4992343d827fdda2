import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { auditLogFor, writeTx } from '../audit/log.ts';
import type { Tier } from './tiers.ts';

/** Governance settings: stored in the database for the console, pinned by environment variables when set. */
export const PolicySchema = z.object({
  requireExecuteAdmin: z.boolean(),
  /** null: every tier-3 tool may be requested; a list: only these. */
  executeAllowlist: z.array(z.string().min(1)).nullable(),
  defaultReadPerMinute: z.number().int().min(1).max(100_000),
  defaultWritePerMinute: z.number().int().min(1).max(100_000),
  approvalTtlMinutes: z.number().int().min(1).max(7 * 24 * 60),
  approvalWaitSeconds: z.number().int().min(0).max(50),
  bulkDeviceThreshold: z.number().int().min(1).max(10_000),
  httpRequestsPerSecond: z.number().int().min(1).max(100_000),
  /** Signed audit checkpoints (audit/anchor.ts): after this many entries, or this many minutes, whichever comes first. */
  auditCheckpointEveryEntries: z.number().int().min(1).max(1_000_000),
  auditCheckpointEveryMinutes: z.number().int().min(1).max(24 * 60),
});
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyName = keyof Policy;

export const DEFAULT_POLICY: Policy = {
  requireExecuteAdmin: false,
  executeAllowlist: null,
  defaultReadPerMinute: 600,
  defaultWritePerMinute: 60,
  approvalTtlMinutes: 30,
  approvalWaitSeconds: 25,
  bulkDeviceThreshold: 10,
  httpRequestsPerSecond: 200,
  auditCheckpointEveryEntries: 1000,
  auditCheckpointEveryMinutes: 60,
};

const bool = (v: string) => /^(1|true|yes|on)$/i.test(v.trim());
const ENV: { [K in PolicyName]: [string, (v: string) => Policy[K]] } = {
  requireExecuteAdmin: ['MCP_REQUIRE_EXECUTE_ADMIN', bool],
  executeAllowlist: ['MCP_EXECUTE_TOOL_ALLOWLIST', (v) => (v.trim() === '*' ? null : v.split(',').map((s) => s.trim()).filter(Boolean))],
  defaultReadPerMinute: ['COUNTERSIGN_READ_PER_MINUTE', Number],
  defaultWritePerMinute: ['COUNTERSIGN_WRITE_PER_MINUTE', Number],
  approvalTtlMinutes: ['COUNTERSIGN_APPROVAL_TTL_MINUTES', Number],
  approvalWaitSeconds: ['COUNTERSIGN_APPROVAL_WAIT_SECONDS', Number],
  bulkDeviceThreshold: ['COUNTERSIGN_BULK_DEVICE_THRESHOLD', Number],
  httpRequestsPerSecond: ['COUNTERSIGN_HTTP_RPS', Number],
  auditCheckpointEveryEntries: ['COUNTERSIGN_CHECKPOINT_EVERY_ENTRIES', Number],
  auditCheckpointEveryMinutes: ['COUNTERSIGN_CHECKPOINT_EVERY_MINUTES', Number],
};

export interface TierOverride {
  id: string;
  tool: string;
  action: string | null;
  tenantId: string | null;
  tenant: string | null;
  tier: Tier;
  createdAt: string;
}

export interface EffectivePolicy {
  values: Policy;
  /** Settings fixed by an environment variable: shown read-only in the console, named here. */
  pinned: Partial<Record<PolicyName, string>>;
}

export class PolicyService {
  private cache: EffectivePolicy | undefined;

  private readonly db: Db;
  private readonly env: NodeJS.ProcessEnv;
  constructor(db: Db, env: NodeJS.ProcessEnv = process.env) {
    this.db = db;
    this.env = env;
    this.pinnedFromEnv(); // fail at start, not at first call, on a malformed variable
  }

  private pinnedFromEnv(): { values: Partial<Policy>; pinned: Partial<Record<PolicyName, string>> } {
    const values: Partial<Policy> = {};
    const pinned: Partial<Record<PolicyName, string>> = {};
    for (const name of Object.keys(ENV) as PolicyName[]) {
      const [variable, parse] = ENV[name];
      const raw = this.env[variable];
      if (raw === undefined || raw === '') continue;
      const parsed = PolicySchema.shape[name].safeParse(parse(raw));
      if (!parsed.success) throw new Error(`${variable}=${raw} is not a valid value for ${name}: ${parsed.error.issues[0]?.message}`);
      (values as Record<string, unknown>)[name] = parsed.data;
      pinned[name] = variable;
    }
    return { values, pinned };
  }

  get(): EffectivePolicy {
    if (this.cache) return this.cache;
    const stored: Partial<Policy> = {};
    for (const row of this.db.prepare('SELECT name, value_json FROM settings').all() as { name: string; value_json: string }[]) {
      if (row.name in DEFAULT_POLICY) {
        const parsed = PolicySchema.shape[row.name as PolicyName].safeParse(JSON.parse(row.value_json));
        if (parsed.success) (stored as Record<string, unknown>)[row.name] = parsed.data;
      }
    }
    const env = this.pinnedFromEnv();
    this.cache = { values: { ...DEFAULT_POLICY, ...stored, ...env.values }, pinned: env.pinned };
    return this.cache;
  }

  get values(): Policy {
    return this.get().values;
  }

  update(patch: Partial<Policy>, actor: string): EffectivePolicy {
    const parsed = PolicySchema.partial().strict().parse(patch);
    const { pinned } = this.get();
    const blocked = Object.keys(parsed).filter((k) => k in pinned);
    if (blocked.length) throw new Error(`pinned by environment: ${blocked.map((k) => pinned[k as PolicyName]).join(', ')}`);
    writeTx(this.db, () => {
      const upsert = this.db.prepare(`INSERT INTO settings (name, value_json, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`);
      for (const [name, value] of Object.entries(parsed)) upsert.run(name, JSON.stringify(value), new Date().toISOString());
      auditLogFor(this.db).append({ event: 'policy', decision: 'info', outcome: 'updated', rule: actor, detail: parsed });
    });
    this.cache = undefined;
    return this.get();
  }

  private overrides: TierOverride[] | undefined;

  /** All overrides, cached: they are read twice per call and change only through this service. */
  listOverrides(): TierOverride[] {
    this.overrides ??= (this.db.prepare(`SELECT o.id, o.tool, o.action, o.tenant_id AS tenantId, t.slug AS tenant, o.tier, o.created_at AS createdAt
      FROM tier_overrides o LEFT JOIN tenants t ON t.id = o.tenant_id ORDER BY o.tool, o.action, t.slug`).all() as TierOverride[]);
    return this.overrides;
  }

  /** Tier overrides raise only: the highest matching override for (tool, action, tenant), wildcards as NULL. */
  overrideTier(tool: string, action: string | undefined, tenantId: string | undefined): Tier | undefined {
    let top: Tier | undefined;
    for (const o of this.listOverrides()) {
      if (o.tool === tool && (o.action === null || o.action === action) && (o.tenantId === null || o.tenantId === tenantId)) top = Math.max(top ?? 1, o.tier) as Tier;
    }
    return top;
  }

  /** Highest override for a tool under any action/tenant: used to decide what tools/list may hide or widen. */
  maxOverrideTier(tool: string): Tier | undefined {
    let top: Tier | undefined;
    for (const o of this.listOverrides()) if (o.tool === tool) top = Math.max(top ?? 1, o.tier) as Tier;
    return top;
  }

  removeOverride(id: string, actor: string): boolean {
    const removed = writeTx(this.db, () => {
      const o = this.listOverrides().find((x) => x.id === id);
      if (!o) return false;
      this.db.prepare('DELETE FROM tier_overrides WHERE id = ?').run(id);
      auditLogFor(this.db).append({ event: 'policy', decision: 'info', outcome: 'tier_override_removed', rule: actor, tool: o.tool, action: o.action, tier: o.tier, detail: o });
      return true;
    });
    this.overrides = undefined;
    return removed;
  }

  setOverride(o: { tool: string; action?: string; tenantId?: string; tier: Tier }, actor: string): void {
    writeTx(this.db, () => {
      // UNIQUE treats NULLs as distinct, so the wildcard rows are matched with IS, not by ON CONFLICT.
      const existing = this.db.prepare('SELECT id FROM tier_overrides WHERE tool = ? AND action IS ? AND tenant_id IS ?').get(o.tool, o.action ?? null, o.tenantId ?? null) as { id: string } | undefined;
      if (existing) this.db.prepare('UPDATE tier_overrides SET tier = ? WHERE id = ?').run(o.tier, existing.id);
      else this.db.prepare(`INSERT INTO tier_overrides (id, tool, action, tenant_id, tier, created_at) VALUES (lower(hex(randomblob(16))), ?, ?, ?, ?, ?)`)
        .run(o.tool, o.action ?? null, o.tenantId ?? null, o.tier, new Date().toISOString());
      auditLogFor(this.db).append({ event: 'policy', decision: 'info', outcome: 'tier_override_set', rule: actor, tool: o.tool, action: o.action ?? null, tier: o.tier, detail: o });
    });
    this.overrides = undefined;
  }
}
