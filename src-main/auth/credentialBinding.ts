// The keyed binding of what decides who may sign in to the console and with which rights: a technician's row (with
// its tenants), a passkey, the admin passphrase setting and a console session. Same HMAC as approvals (binding.ts,
// under the install secret, never in the database), one kind per record: someone who can write the database but not
// read secrets.json cannot add an account, widen one, plant a passphrase hash or a passkey, or re-point a session,
// without the row showing as tampered; a tampered row grants nothing.
import { bindRecord, recordHolds } from '../governance/binding.ts';
import type { Sql } from '../store/sql.ts';
import type { Store } from '../store/store.ts';
import { MIGRATIONS } from '../store/migrations/index.ts';

export interface TechnicianBoundRow {
  id: string; name: string; passphrase_hash: string; role: string; all_tenants: number; created_at: string; disabled_at: string | null; binding?: string | null;
}

export interface PasskeyBoundRow {
  credential_id: string; technician_id: string; public_key: string; algorithm: number; transports: string; created_at: string; binding?: string | null;
}

export interface SessionBoundRow { token_hash: string; technician_id: string | null; created_at: string; expires_at: string }

// Every column that grants access, and the tenants (a row of their own each): not the name a passkey was given, nor
// its signature counter (it moves at every sign-in; an edited one only makes the next sign-in fail as a clone).
async function technicianFields(sql: Sql, r: TechnicianBoundRow): Promise<unknown[]> {
  const tenants = (await sql.all<{ tenant_id: string }>('SELECT tenant_id FROM technician_tenants WHERE technician_id = ? ORDER BY tenant_id', [r.id])).map((x) => x.tenant_id);
  return [r.id, r.name, r.passphrase_hash, r.role, Number(r.all_tenants), r.created_at, r.disabled_at ?? null, tenants];
}

export interface ApiKeyBoundRow {
  id: string; name: string; prefix: string; hmac: string; scopes_json: string; role: string; read_per_minute: number | null; write_per_minute: number | null;
  created_at: string; expires_at: string | null; revoked_at: string | null; owner_id: string | null; binding?: string | null;
}

// Everything that decides what a key may do, and its tenants (a row of their own each, sorted here so that the order
// never depends on a database's collation): not its usage counts.
function apiKeyFields(r: ApiKeyBoundRow, tenantIds: readonly string[]): unknown[] {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return [r.id, r.name, r.prefix, r.hmac, r.scopes_json, r.role, n(r.read_per_minute), n(r.write_per_minute), r.created_at, r.expires_at ?? null, r.revoked_at ?? null,
    r.owner_id ?? null, [...tenantIds].sort()];
}

/** Whether a key's row and its tenants (as read with it: the caller has them already) match the row's binding. */
export function apiKeyHolds(key: Buffer, r: ApiKeyBoundRow, tenantIds: readonly string[]): boolean {
  return recordHolds(key, 'apiKey', apiKeyFields(r, tenantIds), r.binding ?? null);
}

/** Binds an API key's row as it now stands: call it in the transaction of every change to the row or its tenants. */
export async function sealApiKey(key: Buffer, sql: Sql, id: string): Promise<void> {
  const r = await sql.get<ApiKeyBoundRow>('SELECT * FROM api_keys WHERE id = ?', [id]);
  if (!r) return;
  const tenants = (await sql.all<{ tenant_id: string }>('SELECT tenant_id FROM api_key_tenants WHERE key_id = ?', [id])).map((x) => x.tenant_id);
  await sql.run('UPDATE api_keys SET binding = ? WHERE id = ?', [bindRecord(key, 'apiKey', apiKeyFields(r, tenants)), id]);
}

const passkeyFields = (r: PasskeyBoundRow) => [r.credential_id, r.technician_id, r.public_key, Number(r.algorithm), r.transports, r.created_at];
const sessionFields = (r: SessionBoundRow) => [r.token_hash, r.technician_id ?? null, r.created_at, r.expires_at];
const ADMIN_PASSPHRASE = 'adminPassphraseHash';

export async function technicianHolds(key: Buffer, sql: Sql, r: TechnicianBoundRow): Promise<boolean> {
  return recordHolds(key, 'technician', await technicianFields(sql, r), r.binding ?? null);
}

/** Binds a technician's row as it now stands: call it in the transaction of every change to the row or its tenants. */
export async function sealTechnician(key: Buffer, sql: Sql, id: string): Promise<void> {
  const r = await sql.get<TechnicianBoundRow>('SELECT * FROM technicians WHERE id = ?', [id]);
  if (r) await sql.run('UPDATE technicians SET binding = ? WHERE id = ?', [bindRecord(key, 'technician', await technicianFields(sql, r)), id]);
}

export const passkeyBinding = (key: Buffer, r: PasskeyBoundRow): string => bindRecord(key, 'passkey', passkeyFields(r));
export const passkeyHolds = (key: Buffer, r: PasskeyBoundRow): boolean => recordHolds(key, 'passkey', passkeyFields(r), r.binding ?? null);

export const sessionBinding = (key: Buffer, r: SessionBoundRow): string => bindRecord(key, 'session', sessionFields(r));
export const sessionHolds = (key: Buffer, r: SessionBoundRow & { binding: string | null }): boolean => recordHolds(key, 'session', sessionFields(r), r.binding);

/** The admin passphrase's scrypt string; 'tampered' when the stored setting does not match its binding. */
export async function readAdminPassphraseHash(key: Buffer, sql: Sql): Promise<string | 'tampered' | undefined> {
  const row = await sql.get<{ value_json: string; binding: string | null }>('SELECT value_json, binding FROM settings WHERE name = ?', [ADMIN_PASSPHRASE]);
  if (!row) return undefined;
  if (!recordHolds(key, 'adminPassphrase', [ADMIN_PASSPHRASE, row.value_json], row.binding)) return 'tampered';
  const v: unknown = JSON.parse(row.value_json);
  return typeof v === 'string' ? v : 'tampered';
}

/** Sets the admin passphrase's scrypt string, bound. */
export async function writeAdminPassphraseHash(key: Buffer, sql: Sql, hash: string): Promise<void> {
  const value = JSON.stringify(hash);
  await sql.run(`INSERT INTO settings (name, value_json, updated_at, binding) VALUES (?, ?, ?, ?)
    ON CONFLICT(name) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at, binding = excluded.binding`,
  [ADMIN_PASSPHRASE, value, new Date().toISOString(), bindRecord(key, 'adminPassphrase', [ADMIN_PASSPHRASE, value])]);
}

const versionOf = (name: string) => MIGRATIONS.find((m) => m.name === name)!.version;
/** True when an open of an existing database (not a new one) applied the named migration. */
const crossed = (name: string) => (m: { from: number; to: number }): boolean => m.from > 0 && m.from < versionOf(name) && m.to >= versionOf(name);

/**
 * What this open is, for a binding a migration added: 'upgrade' when it applied the migration to an existing database
 * (bind the rows as they stand, once); 'rolled back' when it applied it to a database whose audit log shows the binding
 * existed already (its 'initialized' entry names a schema at or past the migration, or an earlier start bound at it:
 * someone who can write the database rolled its schema version back, and their rows must not be bound as the state at
 * an upgrade); 'no' otherwise.
 */
export async function bindingMoment(sql: Sql, m: { from: number; to: number }, migration: string, outcome: string): Promise<'upgrade' | 'rolled back' | 'no'> {
  if (!crossed(migration)(m)) return 'no';
  // Any such entry counts, not the first: rows someone adds (at any seq) can only make this stricter.
  if ((await recordedSchemas(sql)).some((v) => v >= versionOf(migration))) return 'rolled back';
  const earlier = await sql.get<{ seq: number }>(`SELECT seq FROM audit_log WHERE event = 'system' AND outcome = ? LIMIT 1`, [outcome]);
  return earlier ? 'rolled back' : 'upgrade';
}

/** The schema versions the audit log records: init's (`initialized`) and a first start's (`schema recorded`). */
async function recordedSchemas(sql: Sql): Promise<number[]> {
  const rows = await sql.all<{ detail_json: string | null }>(`SELECT detail_json FROM audit_log WHERE event = 'system' AND outcome IN ('initialized', 'schema recorded')`);
  return rows.flatMap((r) => {
    try {
      const v = (JSON.parse(r.detail_json ?? 'null') as { schemaVersion?: unknown } | null)?.schemaVersion;
      return typeof v === 'number' ? [v] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Records, once, the schema an install is at when the audit log does not already record it at least that far (an
 * install made before init recorded it), audited ('schema recorded'): bindingMoment then tells a later rollback from an
 * upgrade for it too. A settings row remembers it is done, so later starts read one row, not the log.
 */
export async function recordSchema(store: Store, schemaVersion: number): Promise<void> {
  if (await store.sql.get(`SELECT name FROM settings WHERE name = 'schemaRecorded'`)) return;
  const known = (await recordedSchemas(store.sql)).some((v) => v >= schemaVersion);
  await store.write(async (tx) => {
    if (!known) await tx.audit({ event: 'system', decision: 'info', outcome: 'schema recorded', detail: { schemaVersion } });
    await markSchemaRecorded(tx.sql, schemaVersion);
  });
}

/** The settings flag that says the audit log records the schema (init sets it with its 'initialized' entry). */
export function markSchemaRecorded(sql: Sql, schemaVersion: number): Promise<unknown> {
  return sql.run(`INSERT INTO settings (name, value_json, updated_at) VALUES ('schemaRecorded', ?, ?) ON CONFLICT (name) DO NOTHING`,
    [String(schemaVersion), new Date().toISOString()]);
}

/** Binds the API keys that existed before their binding did, once, in one transaction, audited (as bindAtUpgrade). */
export async function bindApiKeysAtUpgrade(store: Store, key: Buffer): Promise<number> {
  return store.write(async (tx) => {
    const keys = await tx.sql.all<{ id: string; name: string }>('SELECT id, name FROM api_keys WHERE binding IS NULL ORDER BY id');
    for (const k of keys) await sealApiKey(key, tx.sql, k.id);
    await tx.audit({ event: 'system', decision: 'info', outcome: 'API keys bound at upgrade', rule: 'credential_binding', detail: { count: keys.length, names: keys.map((k) => k.name) } });
    return keys.length;
  });
}

// Named so that the audit log's redaction of secret-looking names (pass…) leaves the counts readable.
export interface BoundAtUpgrade { technicians: number; authenticators: number; adminSetting: number }

/**
 * Binds the credentials that existed before the binding did, once, in one transaction, audited. Only the process that
 * applied the migration adding the binding calls it (it knows the moment is the upgrade): an unbound row found at any
 * later start is one someone wrote into the database, and stays refused.
 */
export async function bindAtUpgrade(store: Store, key: Buffer): Promise<BoundAtUpgrade> {
  return store.write(async (tx) => {
    const techs = await tx.sql.all<{ id: string; name: string }>('SELECT id, name FROM technicians WHERE binding IS NULL ORDER BY id');
    for (const t of techs) await sealTechnician(key, tx.sql, t.id);
    const keys = await tx.sql.all<PasskeyBoundRow>('SELECT credential_id, technician_id, public_key, algorithm, transports, created_at FROM technician_passkeys WHERE binding IS NULL ORDER BY credential_id');
    for (const p of keys) await tx.sql.run('UPDATE technician_passkeys SET binding = ? WHERE credential_id = ?', [passkeyBinding(key, p), p.credential_id]);
    const admin = await tx.sql.get<{ value_json: string }>('SELECT value_json FROM settings WHERE name = ? AND binding IS NULL', [ADMIN_PASSPHRASE]);
    if (admin) await tx.sql.run('UPDATE settings SET binding = ? WHERE name = ?', [bindRecord(key, 'adminPassphrase', [ADMIN_PASSPHRASE, admin.value_json]), ADMIN_PASSPHRASE]);
    const bound = { technicians: techs.length, authenticators: keys.length, adminSetting: admin ? 1 : 0 };
    await tx.audit({ event: 'system', decision: 'info', outcome: 'credentials bound at upgrade', rule: 'credential_binding',
      detail: { ...bound, technicianNames: techs.map((t) => t.name) } });
    return bound;
  });
}

/** What a service calls when a credential row does not verify: logged and audited once per row and process. */
export type TamperReport = (what: string, detail: Record<string, unknown>) => void;

/** `settled()`: the audit entries reported so far are written (the app awaits it before it closes the store). */
export function tamperReporter(store: Store, log: (msg: string, err?: unknown) => void): TamperReport & { settled(): Promise<void> } {
  const seen = new Set<string>();
  const pending = new Set<Promise<void>>();
  const report = (what: string, detail: Record<string, unknown>) => {
    const id = `${what} ${JSON.stringify(detail)}`;
    if (seen.has(id)) return;
    seen.add(id);
    log(`${what} does not match its binding (written to the database without the install secret?): it grants nothing ${JSON.stringify(detail)}`);
    // After the caller's own transaction, never inside it.
    const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        await store.write((tx) => tx.audit({ event: 'console', decision: 'rejected', code: 'TAMPERED', rule: 'credential_binding', outcome: `tampered ${what}`, detail }), { oneWrite: true });
      })
      .catch((e: unknown) => log('auditing a tampered credential failed', e))
      .finally(() => pending.delete(done));
    pending.add(done);
  };
  return Object.assign(report, { settled: async () => void (await Promise.all([...pending])) });
}
