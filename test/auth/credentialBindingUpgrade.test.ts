// The upgrade to bound console credentials, on both stores: an install whose schema predates the binding (its
// accounts, passkey, admin passphrase and open session as the previous version left them) starts once on this
// version; that start binds what exists, in one audited transaction, so the same technicians sign in (by passphrase
// and passkey) and the open session ends. A row written unbound after that moment is never bound by a later start.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initTestDir, startTestServer, type TestServer } from '../helpers/server.ts';
import { openApp } from '../../src-main/app.ts';
import { readAdminPassphraseHash } from '../../src-main/auth/credentialBinding.ts';
import { bindingKey } from '../../src-main/governance/binding.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { withInstallSql } from '../helpers/installSql.ts';
import { initializedBeforeSchemaRecord } from '../helpers/legacyInstall.ts';
import { cookieClient as client } from '../helpers/console.ts';
import { SoftAuthenticator } from '../helpers/softAuthenticator.ts';
import { hashPassphrase } from '../../src-main/auth/passphrase.ts';
import { MIGRATIONS } from '../../src-main/store/migrations/index.ts';

const PASS = 'upgrade test passphrase';
const at = MIGRATIONS.findIndex((m) => m.name === 'credential-binding');
const BEFORE = MIGRATIONS[at - 1]!.version;
/**
 * What the binding and each migration after it added, undone, so that all of them apply again at the first start as
 * they would on an install of the version before. A migration added later needs its undo here (beforeAll names it).
 */
const UNDO: Record<string, string[]> = {
  'credential-binding': ['technicians', 'technician_passkeys', 'settings', 'console_sessions'].map((table) => `ALTER TABLE ${table} DROP COLUMN binding`),
  'open-commands-index': ['DROP INDEX device_commands_by_status'],
  'api-key-binding': ['ALTER TABLE api_keys DROP COLUMN binding'],
  'audit-without-key-index': ['CREATE INDEX audit_by_key ON audit_log(key_id, seq)'],
  'policy-binding': ['DROP TABLE policy_binding'],
  'audit-facets': ['DROP TABLE audit_facets'],
  'audit-block-times': ['DROP TABLE audit_blocks'],
  'key-usage-from-log': ['DROP TABLE key_usage_fold', 'DROP TABLE key_usage'],
};

describeStores('console credentials at the upgrade that binds them', (store) => {
  let t: TestServer;
  let dir: string;
  let storeUrl: string | undefined;
  let olgaId: string;
  const oldToken = randomBytes(32).toString('base64url');
  let keys: SoftAuthenticator;
  let oldKey: string;
  const upgradeAudits = () => t.app.store.sql.all<{ detail_json: string }>(`SELECT detail_json FROM audit_log WHERE outcome = 'credentials bound at upgrade' ORDER BY seq`);

  beforeAll(async () => {
    storeUrl = await storeUrlFor(store, 'upgrade');
    dir = await initTestDir(storeUrl);
    // The install as the previous version leaves it: an owner and a viewer, a passkey, an open session, no bindings.
    const app = await openApp(dir, { log: () => {}, storeUrl });
    try {
      olgaId = (await app.technicians.create({ name: 'olga', passphrase: PASS, role: 'owner', tenants: 'all' }, 'cli')).id;
      await app.technicians.create({ name: 'vic', passphrase: PASS, role: 'viewer', tenants: ['acme-dental'] }, 'cli');
      oldKey = (await app.keys.create({ name: 'older-key', scopes: ['ai:read'], tenants: ['acme-dental'] })).secret;
      await app.policy.update({ bulkDeviceThreshold: 3 }, 'cli');
      await app.policy.setOverride({ tool: 'run_script', tier: 4 }, 'cli');
      await app.fourEyes.setRule({ tool: 'device_actions', approvers: 2 }, 'cli');
    } finally {
      await app.close();
    }
    await withInstallSql(dir, storeUrl, async ({ sql }) => {
      for (const m of MIGRATIONS.slice(at).reverse()) {
        const undo = UNDO[m.name];
        if (!undo) throw new Error(`migration ${m.version} (${m.name}) has no undo in this test's UNDO: add what it adds, dropped`);
        for (const statement of undo) await sql.run(statement);
      }
      await sql.run('DELETE FROM schema_migrations WHERE version > ?', [BEFORE]);
      if (!storeUrl) await sql.run(`PRAGMA user_version = ${BEFORE}`);
      await initializedBeforeSchemaRecord(sql, !!storeUrl);
      keys = new SoftAuthenticator('http://localhost');
      keys.create({ challenge: 'AA', rp: { id: 'localhost' }, user: { id: Buffer.from(olgaId).toString('base64url') } });
      const cred = keys.credentials[0]!;
      await sql.run('INSERT INTO technician_passkeys (credential_id, technician_id, public_key, algorithm, sign_count, created_at, name, transports) VALUES (?, ?, ?, ?, 0, ?, ?, ?)',
        [cred.id.toString('base64url'), olgaId, Buffer.from(cred.cose).toString('base64url'), -7, new Date().toISOString(), 'olga key', '[]']);
      await sql.run('INSERT INTO console_sessions (token_hash, created_at, expires_at, technician_id) VALUES (?, ?, ?, ?)',
        [createHash('sha256').update(oldToken).digest('hex'), new Date().toISOString(), new Date(Date.now() + 3600_000).toISOString(), olgaId]);
    });
    t = await startTestServer({ dir, storeUrl, serve: { console: { loginBackoff: { freeFailures: 1000 } } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the first start binds the accounts, the passkey and the admin passphrase once, audited; the old session ends', async () => {
    const audits = await upgradeAudits();
    expect(audits).toHaveLength(1);
    expect(JSON.parse(audits[0]!.detail_json)).toEqual({ technicians: 2, authenticators: 1, adminSetting: 1, technicianNames: expect.arrayContaining(['olga', 'vic']) });
    expect((await client(t.url, `cs_console=${oldToken}`).call('GET', '/session')).status).toBe(401);
    const olga = await client(t.url).call('POST', '/login', { name: 'olga', passphrase: PASS });
    expect(olga.status).toBe(200);
    expect((await client(t.url, olga.cookie).call('GET', '/session')).body.technician).toEqual({ name: 'olga', role: 'owner' });
    expect((await client(t.url).call('POST', '/login', { name: 'vic', passphrase: PASS })).status).toBe(200);
  });

  it('an API key made before the upgrade is bound once at it (audited) and works after it; one written unbound later does not', async () => {
    const audits = await t.app.store.sql.all<{ detail_json: string }>(`SELECT detail_json FROM audit_log WHERE outcome = 'API keys bound at upgrade'`);
    expect(audits.map((a) => JSON.parse(a.detail_json))).toEqual([{ count: 1, names: ['older-key'] }]);
    const c = await t.connect('http', oldKey);
    expect((await c.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    // A key row someone writes later, unbound, with the HMAC of a secret they chose: they cannot compute that HMAC
    // without the install secret, so they copy a real key's and clear its binding; a restart does not bind it.
    const id = (await t.app.keys.list()).find((k) => k.name === 'older-key')!.id;
    await t.app.store.write((tx) => tx.sql.run('UPDATE api_keys SET binding = NULL, scopes_json = ? WHERE id = ?', ['["ai:read","ai:write","ai:execute"]', id]));
    await t.restart();
    const r = await fetch(new URL('/api/v1/mcp/sse', t.url), { headers: { 'X-API-Key': oldKey, Accept: 'text/event-stream' } });
    await r.body?.cancel();
    expect(r.status).toBe(401);
  });

  it('the policy set before the upgrade is bound once at it (audited) and stays in force; one edited later is not', async () => {
    const bound = async () => (await t.app.store.sql.all<{ detail_json: string }>(`SELECT detail_json FROM audit_log WHERE outcome = 'policy bound at upgrade'`))
      .map((a) => JSON.parse(a.detail_json));
    expect(await bound()).toEqual([{ settings: ['bulkDeviceThreshold'], overrides: 1, fourEyesRules: 1 }]);
    expect(t.app.fourEyes.required('device_actions', 'reboot', 'any-tenant')).toBe(2);
    expect(t.app.policy.get()).toMatchObject({ integrity: 'bound', values: { bulkDeviceThreshold: 3 } });
    expect(t.app.policy.overrideTier('run_script', undefined, undefined)).toBe(4);
    await withInstallSql(dir, storeUrl, ({ sql }) => sql.run(`DELETE FROM tier_overrides WHERE tool = 'run_script'`));
    await t.restart();
    expect(t.app.policy.get().integrity).toBe('tampered');
    expect(await bound()).toHaveLength(1);
    await t.app.policy.accept('test', t.app.policy.get().digest);
  });

  it('the passkey made before the upgrade signs in after it', async () => {
    const origin = `http://localhost:${new URL(t.url).port}`;
    const anon = client(t.url);
    const options = await anon.call('POST', '/login/passkey/options', {});
    const response = keys.get(options.body, { origin });
    const r = await anon.call('POST', '/login/passkey', { response });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it('an account written unbound after the upgrade stays refused through restarts: the upgrade binds once', async () => {
    const hash = await hashPassphrase('the attacker chose this');
    await t.app.store.write((tx) => tx.sql.run('INSERT INTO technicians (id, name, passphrase_hash, role, all_tenants, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ['mallory-id', 'mallory', hash, 'owner', 1, new Date().toISOString()]));
    await t.restart();
    expect((await client(t.url).call('POST', '/login', { name: 'mallory', passphrase: 'the attacker chose this' })).status).toBe(401);
    expect(await upgradeAudits()).toHaveLength(1);
    expect((await client(t.url).call('POST', '/login', { name: 'olga', passphrase: PASS })).status).toBe(200);
    // The install's single passphrase was bound as it stood (it signs in nobody while accounts exist, as before).
    expect(await readAdminPassphraseHash(bindingKey(t.app.secrets.hmacKey), t.app.store.sql)).toMatch(/^scrypt\$/);
  });

  it('a schema rolled back past the bindings again (with an account planted meanwhile) gets nothing bound: the audit log shows the upgrade happened', async () => {
    await t.close();
    await withInstallSql(dir, storeUrl, async ({ sql }) => {
      for (const m of MIGRATIONS.slice(at).reverse()) for (const statement of UNDO[m.name]!) await sql.run(statement);
      await sql.run('DELETE FROM schema_migrations WHERE version > ?', [BEFORE]);
      if (!storeUrl) await sql.run(`PRAGMA user_version = ${BEFORE}`);
      await sql.run(`UPDATE technicians SET role = 'owner', all_tenants = 1 WHERE name = 'vic'`);
    });
    t = await startTestServer({ dir, storeUrl, serve: { console: { loginBackoff: { freeFailures: 1000 } } } });
    expect(await upgradeAudits()).toHaveLength(1);
    const rolledBack = await t.app.store.sql.all<{ outcome: string }>(`SELECT outcome FROM audit_log WHERE code = 'TAMPERED' AND outcome LIKE 'schema rolled back past %' ORDER BY seq`);
    expect(rolledBack.map((r) => r.outcome)).toEqual(['credential-binding', 'api-key-binding', 'policy-binding'].map((m) => `schema rolled back past ${m}`));
    // Nothing was bound: the accounts sign in nobody, and the policy is unverified.
    expect((await client(t.url).call('POST', '/login', { name: 'vic', passphrase: PASS })).status).toBe(401);
    expect((await client(t.url).call('POST', '/login', { name: 'olga', passphrase: PASS })).status).toBe(401);
    expect(t.app.policy.get().integrity).toBe('tampered');
  });
});

describeStores('an install made before init recorded its schema, rolled back after this version first started', (store) => {
  it('the first start records the schema (audited); a later rollback past the bindings gets a planted owner bound nowhere', async () => {
    const storeUrl = await storeUrlFor(store, 'recorded');
    const dir = await initTestDir(storeUrl);
    await withInstallSql(dir, storeUrl, ({ sql }) => initializedBeforeSchemaRecord(sql, !!storeUrl));
    let t = await startTestServer({ dir, storeUrl });
    const recorded = await t.app.store.sql.all<{ detail_json: string }>(`SELECT detail_json FROM audit_log WHERE outcome = 'schema recorded'`);
    expect(recorded.map((r) => JSON.parse(r.detail_json))).toEqual([{ schemaVersion: MIGRATIONS.at(-1)!.version }]);
    await t.close();
    const hash = await hashPassphrase('mallory chose this');
    await withInstallSql(dir, storeUrl, async ({ sql }) => {
      for (const m of MIGRATIONS.slice(at).reverse()) for (const statement of UNDO[m.name]!) await sql.run(statement);
      await sql.run('DELETE FROM schema_migrations WHERE version > ?', [BEFORE]);
      if (!storeUrl) await sql.run(`PRAGMA user_version = ${BEFORE}`);
      await sql.run('INSERT INTO technicians (id, name, passphrase_hash, role, all_tenants, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        ['mallory-id', 'mallory', hash, 'owner', 1, new Date().toISOString()]);
    });
    t = await startTestServer({ dir, storeUrl });
    try {
      expect((await client(t.url).call('POST', '/login', { name: 'mallory', passphrase: 'mallory chose this' })).status).toBe(401);
      expect(await t.app.store.sql.all(`SELECT seq FROM audit_log WHERE outcome = 'credentials bound at upgrade'`)).toEqual([]);
      expect((await t.app.store.sql.all<{ outcome: string }>(`SELECT outcome FROM audit_log WHERE code = 'TAMPERED' AND outcome LIKE 'schema rolled back past %'`)))
        .toHaveLength(3);
    } finally {
      await t.close();
    }
  });
});
