// The governance policy's binding: one HMAC (under the install secret, never in the database) over every policy setting,
// every tier override and every four-eyes rule, so that someone who can write the database but not read secrets.json
// cannot loosen a limit, clear the allowlist or admin-only rule, or delete a tier raise or a four-eyes rule unseen. One
// record, not one per row: a deleted row changes it too. When it does not hold, the true values are unknown, so the
// policy in force is the stricter of each stored value and its default, and changes (tier 2) pause until a technician
// accepts what is shown.
import { bindRecord, recordHolds } from './binding.ts';
import { DEFAULT_POLICY, type Policy, type PolicyName } from './policyValues.ts';
import type { Sql } from '../store/sql.ts';
import type { Store } from '../store/store.ts';
import { MIGRATIONS } from '../store/migrations/index.ts';
import { PG_MIGRATIONS } from '../store/pg/migrations/index.ts';

// Every column is read as text, in one statement: one statement is one snapshot on both stores (a commit between
// separate reads could pair one change's rows with another's binding), and text reads the same whatever type a column
// was given. The binding covers each count as the gate reads it (number()): a retyped column that still reads as the
// same number (4 stored as the text 4.0) changes nothing and verifies; anything else binds as its raw text and fails.
export interface SettingRow { name: string; value_json: string }
export interface OverrideRow { id: string; tool: string; action: string | null; tenantId: string | null; tier: string; createdAt: string }
/** A four-eyes rule (governance/fourEyes.ts): how many technicians a tier-3 request in its scope needs. */
export interface RuleRow { id: string; tool: string | null; action: string | null; tier: string | null; tenantId: string | null; approvers: string; createdAt: string }

/** The policy as stored: its settings (policy names only; other settings are not policy), overrides and four-eyes rules. */
export interface PolicyRows { settings: SettingRow[]; overrides: OverrideRow[]; rules: RuleRow[] }

const isPolicyName = (name: string): boolean => Object.hasOwn(DEFAULT_POLICY, name);
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Sorted in code, so that the order never depends on a database's collation.
function fields(rows: PolicyRows): unknown[] {
  const byId = (a: unknown[], b: unknown[]) => byText(a[0] as string, b[0] as string);
  const settings = rows.settings.filter((s) => isPolicyName(s.name)).map((s) => [s.name, s.value_json]).sort(byId);
  const overrides = rows.overrides.map((o) => [o.id, o.tool, o.action, o.tenantId, number(o.tier), o.createdAt]).sort(byId);
  const rules = rows.rules.map((r) => [r.id, r.tool, r.action, number(r.tier), r.tenantId, number(r.approvers), r.createdAt]).sort(byId);
  return [settings, overrides, rules];
}

const t = (column: string) => `CAST(${column} AS TEXT)`;
const NONE = 'CAST(NULL AS TEXT)';
const ROWS_SQL = `SELECT 's' AS k, ${t('name')} AS a, ${t('value_json')} AS b, ${NONE} AS c, ${NONE} AS d, ${NONE} AS e, ${NONE} AS f, ${NONE} AS g FROM settings
  UNION ALL SELECT 'o', ${t('id')}, ${t('tool')}, ${t('action')}, ${t('tenant_id')}, ${t('tier')}, ${t('created_at')}, ${NONE} FROM tier_overrides
  UNION ALL SELECT 'r', ${t('id')}, ${t('tool')}, ${t('action')}, ${t('tenant_id')}, ${t('tier')}, ${t('created_at')}, ${t('approvers')} FROM approval_rules
  UNION ALL SELECT 'b', ${t('binding')}, ${NONE}, ${NONE}, ${NONE}, ${NONE}, ${NONE}, ${NONE} FROM policy_binding WHERE id = 1`;
type Cell = string | null;

/** The stored rows, their binding, and whether a name or id occurs twice (a table rebuilt without its key: never holds). */
export type StoredPolicy = PolicyRows & { binding: string | null; duplicated: boolean };

export async function readPolicyRows(sql: Sql): Promise<StoredPolicy> {
  const out: StoredPolicy = { settings: [], overrides: [], rules: [], binding: null, duplicated: false };
  for (const r of await sql.all<{ k: string; a: Cell; b: Cell; c: Cell; d: Cell; e: Cell; f: Cell; g: Cell }>(ROWS_SQL)) {
    if (r.k === 's' && r.a !== null && isPolicyName(r.a)) out.settings.push({ name: r.a, value_json: r.b ?? '' });
    else if (r.k === 'o') out.overrides.push({ id: r.a ?? '', tool: r.b ?? '', action: r.c, tenantId: r.d, tier: r.e ?? '', createdAt: r.f ?? '' });
    else if (r.k === 'r') out.rules.push({ id: r.a ?? '', tool: r.b, action: r.c, tenantId: r.d, tier: r.e, createdAt: r.f ?? '', approvers: r.g ?? '' });
    else if (r.k === 'b') out.binding = r.a;
  }
  const twice = (ids: string[]) => new Set(ids).size !== ids.length;
  out.duplicated = twice(out.settings.map((x) => x.name)) || twice(out.overrides.map((x) => x.id)) || twice(out.rules.map((x) => x.id));
  return out;
}

// The triggers (and PostgreSQL rules) the migrations make: any other could rewrite the policy inside a change, between
// its checks and its seal (say on the change's own audit entry).
const KNOWN_TRIGGERS = new Set([...MIGRATIONS, ...PG_MIGRATIONS].flatMap((m) => [...m.sql.matchAll(/CREATE\s+(?:OR\s+REPLACE\s+)?TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?"?(\w+)/gi)]
  .map((x) => x[1]!.toLowerCase())));

/** Triggers and rules in the database that no migration made. */
export async function foreignTriggers(sql: Sql): Promise<string[]> {
  const names = sql.dialect === 'postgres'
    ? await sql.all<{ name: string }>(`SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = current_schema()
        UNION ALL SELECT rulename AS name FROM pg_rules WHERE schemaname = current_schema()`)
    : await sql.all<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'trigger'`);
  return names.map((x) => x.name).filter((n) => !KNOWN_TRIGGERS.has(n.toLowerCase()));
}

/** The rows as the binding sees them: two states are the same policy when these are equal. */
export const sameRows = (a: PolicyRows, b: PolicyRows): boolean => JSON.stringify(fields(a)) === JSON.stringify(fields(b));

/**
 * Keeps every other writer off the policy's tables until the caller's transaction ends, so that what it checked is what
 * it binds. SQLite's write transaction already is the only writer; PostgreSQL's READ COMMITTED would let a commit of
 * someone else's (holding no advisory lock) land between a check and the seal.
 */
export async function lockPolicy(sql: Sql): Promise<void> {
  if (sql.dialect === 'postgres') await sql.run('LOCK TABLE settings, tier_overrides, approval_rules, policy_binding IN SHARE ROW EXCLUSIVE MODE');
}

/** A count's text as a number when it is the decimal text of a whole number (SQLite's REAL writes 4 as 4.0), else as is. */
const number = (text: string | null): number | string | null => (text !== null && /^[0-9]{1,6}(\.0+)?$/.test(text) ? Number(text) : text);

/** A tier or approver count as the gate reads it: a whole number in range, or undefined (the row counts for nothing). */
export function whole(text: string | null, min: number, max: number): number | undefined {
  const n = number(text);
  return typeof n === 'number' && n >= min && n <= max ? n : undefined;
}

export function policyHolds(key: Buffer, rows: StoredPolicy): boolean {
  return !rows.duplicated && recordHolds(key, 'policy', fields(rows), rows.binding);
}

/** Binds the policy as it now stands: call it in the transaction of every change to a setting or an override. */
export async function sealPolicy(key: Buffer, sql: Sql): Promise<void> {
  const rows = await readPolicyRows(sql);
  if (rows.duplicated) throw new Error('the stored policy holds a setting, override or rule twice: it is not bound');
  const binding = bindRecord(key, 'policy', fields(rows));
  await sql.run(`INSERT INTO policy_binding (id, binding, bound_at) VALUES (1, ?, ?)
    ON CONFLICT(id) DO UPDATE SET binding = excluded.binding, bound_at = excluded.bound_at`, [binding, new Date().toISOString()]);
}

/** Replaces the stored policy with the given rows (the trusted state this process holds), in the caller's transaction. */
export async function restorePolicy(sql: Sql, rows: PolicyRows): Promise<void> {
  // By the text the binding reads: a row named with the same bytes as a BLOB is the same name.
  for (const name of Object.keys(DEFAULT_POLICY)) await sql.run('DELETE FROM settings WHERE CAST(name AS TEXT) = ?', [name]);
  const now = new Date().toISOString();
  for (const s of rows.settings) await sql.run('INSERT INTO settings (name, value_json, updated_at) VALUES (?, ?, ?)', [s.name, s.value_json, now]);
  await sql.run('DELETE FROM tier_overrides', []);
  for (const o of rows.overrides) {
    await sql.run('INSERT INTO tier_overrides (id, tool, action, tenant_id, tier, created_at) VALUES (?, ?, ?, ?, ?, ?)', [o.id, o.tool, o.action, o.tenantId, whole(o.tier, 1, 4), o.createdAt]);
  }
  await sql.run('DELETE FROM approval_rules', []);
  for (const r of rows.rules) {
    await sql.run('INSERT INTO approval_rules (id, tool, action, tier, tenant_id, approvers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [r.id, r.tool, r.action, whole(r.tier, 3, 3) ?? null, r.tenantId, whole(r.approvers, 1, 5), r.createdAt]);
  }
}

type NumberSetting = { [K in PolicyName]: Policy[K] extends number ? K : never }[PolicyName];

/**
 * What applies when the binding does not hold: for each setting, the stricter of the stored value (when it validates)
 * and the default. Lower budgets and thresholds, a longer bulk window, shorter-lived approvals, more checkpoints; an
 * allowlist, admin-only and ticket tenants as stored (an edit may have loosened them, and what they were is unknown:
 * tier 2 is refused and every tier-3 call gets a card meanwhile). Settings that loosen nothing (how long a call is held,
 * its progress) as stored.
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
    // A name or id stored twice is no state anyone set: left unbound, the start finds it unverified.
    if (rows.duplicated) return rows;
    await sealPolicy(key, tx.sql);
    if (moment === 'upgrade') {
      await tx.audit({ event: 'system', decision: 'info', outcome: 'policy bound at upgrade', rule: 'policy_binding',
        detail: { settings: rows.settings.map((s) => s.name).sort(), overrides: rows.overrides.length, fourEyesRules: rows.rules.length } });
    }
    return rows;
  });
}
