// The governance policy's binding: one HMAC (under the install secret, never in the database) over every policy setting,
// every tier override and every four-eyes rule, so that someone who can write the database but not read secrets.json
// cannot loosen a limit, clear the allowlist or admin-only rule, or delete a tier raise or a four-eyes rule unseen. One record, not one
// per row: a deleted row changes it too. When it does not hold, the true values are unknown, so the policy in force is
// the stricter of each stored value and its default, and changes (tier 2) pause until a technician accepts what is shown.
import { bindRecord, recordHolds } from './binding.ts';
import { DEFAULT_POLICY, type Policy, type PolicyName } from './policyValues.ts';
import type { Sql } from '../store/sql.ts';
import type { Store } from '../store/store.ts';

export interface SettingRow { name: string; value_json: string }
export interface OverrideRow { id: string; tool: string; action: string | null; tenantId: string | null; tier: number; createdAt: string }
/** A four-eyes rule (governance/fourEyes.ts): how many technicians a tier-3 request in its scope needs. */
export interface RuleRow { id: string; tool: string | null; action: string | null; tier: number | null; tenantId: string | null; approvers: number; createdAt: string }

/** The policy as stored: its settings (policy names only; other settings are not policy), overrides and four-eyes rules. */
export interface PolicyRows { settings: SettingRow[]; overrides: OverrideRow[]; rules: RuleRow[] }

const isPolicyName = (name: string): boolean => Object.hasOwn(DEFAULT_POLICY, name);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Sorted in code, so that the order never depends on a database's collation; numbers as numbers (PostgreSQL's drivers
// may hand back strings for some types).
function fields(rows: PolicyRows): unknown[] {
  const settings = rows.settings.filter((s) => isPolicyName(s.name)).map((s) => [s.name, s.value_json]).sort((a, b) => byText(a[0]!, b[0]!));
  const byId = (a: unknown[], b: unknown[]) => byText(a[0] as string, b[0] as string);
  const overrides = rows.overrides.map((o) => [o.id, o.tool, o.action ?? null, o.tenantId ?? null, Number(o.tier), o.createdAt]).sort(byId);
  const rules = rows.rules.map((r) => [r.id, r.tool ?? null, r.action ?? null, r.tier === null ? null : Number(r.tier), r.tenantId ?? null, Number(r.approvers), r.createdAt])
    .sort(byId);
  return [settings, overrides, rules];
}

export async function readPolicyRows(sql: Sql): Promise<PolicyRows & { binding: string | null }> {
  const settings = (await sql.all<SettingRow>('SELECT name, value_json FROM settings')).filter((s) => isPolicyName(s.name));
  const overrides = await sql.all<OverrideRow>('SELECT id, tool, action, tenant_id AS "tenantId", tier, created_at AS "createdAt" FROM tier_overrides');
  const rules = await sql.all<RuleRow>('SELECT id, tool, action, tier, tenant_id AS "tenantId", approvers, created_at AS "createdAt" FROM approval_rules');
  const b = await sql.get<{ binding: string }>('SELECT binding FROM policy_binding WHERE id = 1');
  return { settings, overrides, rules, binding: b?.binding ?? null };
}

export function policyHolds(key: Buffer, rows: PolicyRows & { binding: string | null }): boolean {
  return recordHolds(key, 'policy', fields(rows), rows.binding);
}

/** Binds the policy as it now stands: call it in the transaction of every change to a setting or an override. */
export async function sealPolicy(key: Buffer, sql: Sql): Promise<void> {
  const binding = bindRecord(key, 'policy', fields(await readPolicyRows(sql)));
  await sql.run(`INSERT INTO policy_binding (id, binding, bound_at) VALUES (1, ?, ?)
    ON CONFLICT(id) DO UPDATE SET binding = excluded.binding, bound_at = excluded.bound_at`, [binding, new Date().toISOString()]);
}

/** Replaces the stored policy with the given rows (the trusted state this process holds), in the caller's transaction. */
export async function restorePolicy(sql: Sql, rows: PolicyRows): Promise<void> {
  for (const name of Object.keys(DEFAULT_POLICY)) await sql.run('DELETE FROM settings WHERE name = ?', [name]);
  const now = new Date().toISOString();
  for (const s of rows.settings) await sql.run('INSERT INTO settings (name, value_json, updated_at) VALUES (?, ?, ?)', [s.name, s.value_json, now]);
  await sql.run('DELETE FROM tier_overrides', []);
  for (const o of rows.overrides) {
    await sql.run('INSERT INTO tier_overrides (id, tool, action, tenant_id, tier, created_at) VALUES (?, ?, ?, ?, ?, ?)', [o.id, o.tool, o.action, o.tenantId, Number(o.tier), o.createdAt]);
  }
  await sql.run('DELETE FROM approval_rules', []);
  for (const r of rows.rules) {
    await sql.run('INSERT INTO approval_rules (id, tool, action, tier, tenant_id, approvers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [r.id, r.tool, r.action, r.tier === null ? null : Number(r.tier), r.tenantId, Number(r.approvers), r.createdAt]);
  }
}

type NumberSetting = { [K in PolicyName]: Policy[K] extends number ? K : never }[PolicyName];

/**
 * What applies when the binding does not hold: for each setting, the stricter of the stored value (when it validates)
 * and the default. Lower budgets and thresholds, a longer bulk window, shorter-lived approvals, more checkpoints; an
 * allowlist, admin-only and ticket tenants as stored (an edit could only have removed them, and that cannot be undone
 * without knowing what they were). Settings that loosen nothing (how long a call is held, its progress) as stored.
 */
export function stricterOfStored(stored: Partial<Policy>): Policy {
  const d = DEFAULT_POLICY;
  const s = { ...d, ...stored };
  const min = (k: NumberSetting) => Math.min(s[k], d[k]);
  return {
    ...s,
    requireExecuteAdmin: s.requireExecuteAdmin || d.requireExecuteAdmin,
    defaultReadPerMinute: min('defaultReadPerMinute'),
    defaultWritePerMinute: min('defaultWritePerMinute'),
    approvalTtlMinutes: min('approvalTtlMinutes'),
    bulkDeviceThreshold: min('bulkDeviceThreshold'),
    bulkWindowMinutes: Math.max(s.bulkWindowMinutes, d.bulkWindowMinutes),
    httpRequestsPerSecond: min('httpRequestsPerSecond'),
    auditCheckpointEveryEntries: min('auditCheckpointEveryEntries'),
    auditCheckpointEveryMinutes: min('auditCheckpointEveryMinutes'),
  };
}

/**
 * Binds the policy as it stands, once, audited: at init (an empty policy), and by the process that applied the migration
 * adding the binding (it knows the moment is the upgrade). A missing binding found at any later start stays unverified.
 */
export async function bindPolicyAt(store: Store, key: Buffer, moment: 'init' | 'upgrade'): Promise<PolicyRows> {
  return store.write(async (tx) => {
    const rows = await readPolicyRows(tx.sql);
    await sealPolicy(key, tx.sql);
    if (moment === 'upgrade') {
      await tx.audit({ event: 'system', decision: 'info', outcome: 'policy bound at upgrade', rule: 'policy_binding',
        detail: { settings: rows.settings.map((s) => s.name).sort(), overrides: rows.overrides.length, fourEyesRules: rows.rules.length } });
    }
    return rows;
  });
}
