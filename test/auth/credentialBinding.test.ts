// Console credentials under the threat model's database writer (writes the SQLite file or is a PostgreSQL admin, cannot
// read secrets.json), on both stores, against a real server: a session row with the hash of a token they chose, a
// re-pointed session, a replaced admin or technician passphrase hash, an inserted account, a widened role or tenant
// list, a cleared disabled flag, a passkey row with their own public key: none signs in or keeps rights (401 on the
// real console routes), each is audited as TAMPERED. The legit flows (passphrase and passkey sign-in, role change,
// reset, disable, the CLI's reset) still work, and re-bind what they change.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, PASSPHRASE, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { SoftAuthenticator } from '../helpers/softAuthenticator.ts';
import { hashPassphrase } from '../../src-main/auth/passphrase.ts';
import { passkeyBinding } from '../../src-main/auth/credentialBinding.ts';
import { bindingKey } from '../../src-main/governance/binding.ts';
import { technicians as techniciansCli } from '../../src-main/cli/teamCommands.ts';
import { cookieClient as client, type CookieClient as Client } from '../helpers/console.ts';

const PASS = 'binding test passphrase';
const ATTACKER = 'the attacker chose this';

describeStores('console credentials bound against a database writer', (store) => {
  let t: TestServer;
  let origin: string;
  let attackerHash: string;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    t = await startTestServer({ store, serve: { console: { loginBackoff: { freeFailures: 1000 } } } });
    origin = `http://localhost:${new URL(t.url).port}`;
    attackerHash = await hashPassphrase(ATTACKER);
  });
  afterAll(async () => {
    await t.close();
  });

  // The attacker's writes: plain SQL on the database, no service, no key.
  const write = (sql: string, params: unknown[] = []) => t.app.store.write((tx) => tx.sql.run(sql, params));
  const row = <T>(sql: string, params: unknown[] = []) => t.app.store.sql.get<T>(sql, params);
  const login = (body: { name?: string; passphrase: string }) => client(t.url).call('POST', '/login', body);
  const signIn = async (name: string | undefined, passphrase = PASS) => {
    const r = await login(name ? { name, passphrase } : { passphrase });
    expect(r.status, `sign-in of ${name ?? 'the install'}`).toBe(200);
    return client(t.url, r.cookie);
  };
  const rpc = async (c: Client, method: string, input: unknown = {}) => c.call('POST', `/rpc/${method}`, input);
  const tamperAudits = async () => t.app.store.sql.all<{ outcome: string; detail_json: string }>(
    `SELECT outcome, detail_json FROM audit_log WHERE code = 'TAMPERED' AND rule = 'credential_binding' ORDER BY seq`);
  const audited = async (outcome: string) => {
    await expect.poll(async () => (await tamperAudits()).map((a) => a.outcome)).toContain(outcome);
  };

  it('a replaced admin passphrase hash signs in with neither passphrase; restored, the install signs in again', async () => {
    const original = (await row<{ value_json: string; binding: string }>(`SELECT value_json, binding FROM settings WHERE name = 'adminPassphraseHash'`))!;
    expect(original.binding).toMatch(/^[0-9a-f]{64}$/);
    await write(`UPDATE settings SET value_json = ? WHERE name = 'adminPassphraseHash'`, [JSON.stringify(attackerHash)]);
    expect((await login({ passphrase: ATTACKER })).status).toBe(401);
    expect((await login({ passphrase: PASSPHRASE })).status).toBe(401);
    await audited('tampered admin passphrase setting');
    await write(`UPDATE settings SET value_json = ? WHERE name = 'adminPassphraseHash'`, [original.value_json]);
    await signIn(undefined, PASSPHRASE);
  });

  it('a session row with the hash of a token the attacker chose, in the old or any format, is no session', async () => {
    const install = await signIn(undefined, PASSPHRASE);
    expect((await install.call('GET', '/session')).status).toBe(200);
    // The first owner comes from the install's console; the owner makes the rest.
    const made = await rpc(install, 'createTechnician', { name: 'olga', passphrase: PASS, role: 'owner', tenants: 'all' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    ids.olga = made.body.result.technician.id;
    const olga = await signIn('olga');
    for (const name of ['vic', 'dora']) {
      const r = await rpc(olga, 'createTechnician', { name, passphrase: PASS, role: 'viewer', tenants: ['acme-dental'] });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      ids[name] = r.body.result.technician.id;
    }
    const real = (await row<{ binding: string }>('SELECT binding FROM console_sessions WHERE technician_id IS NULL ORDER BY created_at DESC LIMIT 1'))!;
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const later = new Date(now.getTime() + 3600_000).toISOString();
    // sha256(token) (the stored form before), with no binding and with a real session's binding copied.
    await write('INSERT INTO console_sessions (token_hash, created_at, expires_at, technician_id, binding) VALUES (?, ?, ?, ?, ?)',
      [createHash('sha256').update(token).digest('hex'), now.toISOString(), later, ids.olga, null]);
    const forged = client(t.url, `cs_console=${token}`);
    expect((await forged.call('GET', '/session')).status).toBe(401);
    expect((await rpc(forged, 'listTechnicians')).status).toBe(401);
    await write('UPDATE console_sessions SET binding = ? WHERE technician_id = ?', [real.binding, ids.olga]);
    expect((await forged.call('GET', '/approvals')).status).toBe(401);
  });

  it('a viewer\'s own session re-pointed at the owner, or extended, ends', async () => {
    const vic = await signIn('vic');
    expect((await vic.call('GET', '/session')).body.technician).toEqual({ name: 'vic', role: 'viewer' });
    expect((await rpc(vic, 'listTechnicians')).status).toBe(403);
    await write('UPDATE console_sessions SET technician_id = ? WHERE technician_id = ?', [ids.olga, ids.vic]);
    expect((await vic.call('GET', '/session')).status).toBe(401);
    expect((await rpc(vic, 'listTechnicians')).status).toBe(401);
    await audited('tampered console session');
    const again = await signIn('vic');
    await write('UPDATE console_sessions SET expires_at = ? WHERE technician_id = ?', [new Date(Date.now() + 365 * 86400_000).toISOString(), ids.vic]);
    expect((await again.call('GET', '/session')).status).toBe(401);
  });

  it('a replaced technician passphrase hash signs in with neither passphrase, and the account\'s sessions end', async () => {
    const olga = await signIn('olga');
    const original = (await row<{ passphrase_hash: string }>('SELECT passphrase_hash FROM technicians WHERE id = ?', [ids.olga]))!;
    await write('UPDATE technicians SET passphrase_hash = ? WHERE id = ?', [attackerHash, ids.olga]);
    expect((await login({ name: 'olga', passphrase: ATTACKER })).status).toBe(401);
    expect((await login({ name: 'olga', passphrase: PASS })).status).toBe(401);
    expect((await olga.call('GET', '/session')).status).toBe(401);
    await audited('tampered technician account');
    await write('UPDATE technicians SET passphrase_hash = ? WHERE id = ?', [original.passphrase_hash, ids.olga]);
    expect((await olga.call('GET', '/session')).status).toBe(200);
  });

  it('an inserted account, even with a real account\'s binding copied, signs in as nobody', async () => {
    const olgaRow = (await row<{ binding: string; created_at: string }>('SELECT binding, created_at FROM technicians WHERE id = ?', [ids.olga]))!;
    for (const binding of [null, olgaRow.binding, 'ab'.repeat(32)]) {
      await write('DELETE FROM technicians WHERE name = ?', ['mallory']);
      await write('INSERT INTO technicians (id, name, passphrase_hash, role, all_tenants, created_at, binding) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['mallory-id', 'mallory', attackerHash, 'owner', 1, olgaRow.created_at, binding]);
      expect((await login({ name: 'mallory', passphrase: ATTACKER })).status).toBe(401);
    }
    const olga = await signIn('olga');
    const listed = (await rpc(olga, 'listTechnicians')).body.result.technicians.find((x: { name: string }) => x.name === 'mallory');
    expect(listed).toMatchObject({ role: 'viewer', tenants: [], disabledAt: expect.any(String), tampered: true });
    await write('DELETE FROM technicians WHERE id = ?', ['mallory-id']);
  });

  it('a role, a tenant or all tenants widened in the database is refused, and the account refuses changes from the console', async () => {
    const vic = await signIn('vic');
    const before = (await row<{ role: string; all_tenants: number; binding: string }>('SELECT role, all_tenants, binding FROM technicians WHERE id = ?', [ids.vic]))!;
    await write(`UPDATE technicians SET role = 'owner' WHERE id = ?`, [ids.vic]);
    expect((await vic.call('GET', '/session')).status).toBe(401);
    expect((await login({ name: 'vic', passphrase: PASS })).status).toBe(401);
    const olga = await signIn('olga');
    const change = await rpc(olga, 'updateTechnician', { id: ids.vic, role: 'technician' });
    expect(change.status).toBe(409);
    expect(change.body.error.message).toMatch(/does not match its binding/);
    await write(`UPDATE technicians SET role = ? WHERE id = ?`, [before.role, ids.vic]);
    expect((await vic.call('GET', '/session')).status).toBe(200);

    await write('UPDATE technicians SET all_tenants = 1 WHERE id = ?', [ids.vic]);
    expect((await login({ name: 'vic', passphrase: PASS })).status).toBe(401);
    await write('UPDATE technicians SET all_tenants = 0 WHERE id = ?', [ids.vic]);
    const globex = (await row<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'globex-logistics'`))!;
    await write('INSERT INTO technician_tenants (technician_id, tenant_id) VALUES (?, ?)', [ids.vic, globex.id]);
    expect((await login({ name: 'vic', passphrase: PASS })).status).toBe(401);
    expect((await vic.call('GET', '/session')).status).toBe(401);
    await write('DELETE FROM technician_tenants WHERE technician_id = ? AND tenant_id = ?', [ids.vic, globex.id]);
    expect((await vic.call('GET', '/session')).status).toBe(200);
  });

  it('a technician\'s API key gets nothing once their row is widened in the database', async () => {
    // A key of the viewer's reaching two tenants: narrowed to what she may (read, acme-dental) while her row verifies.
    await t.app.technicians.update(ids.vic!, { tenants: 'all' }, 'cli');
    const { secret } = await t.app.keys.create({ name: 'vic-ai', scopes: ['ai:read'], tenants: ['acme-dental', 'globex-logistics'], ownerId: ids.vic });
    await t.app.technicians.update(ids.vic!, { tenants: ['acme-dental'] }, 'cli');
    const reach = async () => {
      t.app.keys.invalidate();
      const k = await t.app.keys.check(secret);
      return k.ok ? { scopes: k.key.scopes, tenants: k.key.tenants.map((x) => x.slug) } : undefined;
    };
    expect(await reach()).toEqual({ scopes: ['ai:read'], tenants: ['acme-dental'] });
    const mcp = await t.connect('http', secret);
    const list = (tenant: string) => mcp.callTool({ name: 'list_devices', arguments: { tenant, limit: 1 } });
    expect((await list('acme-dental')).isError).toBeFalsy();
    await write(`UPDATE technicians SET role = 'owner', all_tenants = 1 WHERE id = ?`, [ids.vic]);
    expect(await reach()).toEqual({ scopes: [], tenants: [] });
    expect((await list('globex-logistics')).isError).toBe(true);
    expect((await list('acme-dental')).isError).toBe(true);
    await write(`UPDATE technicians SET role = 'viewer', all_tenants = 0 WHERE id = ?`, [ids.vic]);
    expect(await reach()).toEqual({ scopes: ['ai:read'], tenants: ['acme-dental'] });
  });

  it('a disabled flag cleared in the database signs in nobody; disable and enable from the console still work', async () => {
    const olga = await signIn('olga');
    expect((await rpc(olga, 'updateTechnician', { id: ids.dora, disabled: true })).status).toBe(200);
    expect((await login({ name: 'dora', passphrase: PASS })).status).toBe(401);
    await write('UPDATE technicians SET disabled_at = NULL WHERE id = ?', [ids.dora]);
    expect((await login({ name: 'dora', passphrase: PASS })).status).toBe(401);
    const disabledAt = (await row<{ created_at: string }>('SELECT created_at FROM technicians WHERE id = ?', [ids.dora]))!.created_at;
    // Restoring a value that is not the one bound does not help either.
    await write('UPDATE technicians SET disabled_at = ? WHERE id = ?', [disabledAt, ids.dora]);
    expect((await login({ name: 'dora', passphrase: PASS })).status).toBe(401);
  });

  it('the CLI re-binds a tampered account with a new passphrase (audited with what it now holds); console changes re-bind too', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), env: { COUNTERSIGN_TECHNICIAN_PASSPHRASE: 'a new dora passphrase', ...(t.storeUrl ? { COUNTERSIGN_DATABASE_URL: t.storeUrl } : {}) } };
    expect(await techniciansCli(['list', '--data-dir', t.dir], io)).toBe(0);
    expect(out.find((l) => l.includes('\tdora\t'))).toMatch(/\ttampered$/);
    expect(await techniciansCli(['reset-passphrase', ids.dora!, '--data-dir', t.dir], io)).toBe(0);
    const audit = (await row<{ outcome: string; detail_json: string }>(`SELECT outcome, detail_json FROM audit_log WHERE outcome LIKE 'technician re-bound%' ORDER BY seq DESC LIMIT 1`))!;
    expect(JSON.parse(audit.detail_json)).toMatchObject({ name: 'dora', rebound: { role: 'viewer', disabled: true } });
    // As stored: disabled (the attacker's clear was undone above); enabled from the console, she signs in.
    const olga = await signIn('olga');
    expect((await rpc(olga, 'updateTechnician', { id: ids.dora, disabled: false, role: 'technician' })).status).toBe(200);
    const dora = await signIn('dora', 'a new dora passphrase');
    expect((await dora.call('GET', '/session')).body.technician).toEqual({ name: 'dora', role: 'technician' });
    expect((await rpc(olga, 'resetTechnicianPassphrase', { id: ids.dora, passphrase: PASS })).status).toBe(200);
    await signIn('dora');
  });

  it('a passkey row with the attacker\'s own public key signs in nobody; the same row bound with the install key would', async () => {
    const keys = new SoftAuthenticator(origin);
    keys.create({ challenge: 'AA', rp: { id: 'localhost' }, user: { id: Buffer.from(ids.olga!).toString('base64url') } });
    const cred = keys.credentials[0]!;
    const planted = { credential_id: cred.id.toString('base64url'), technician_id: ids.olga!, public_key: Buffer.from(cred.cose).toString('base64url'), algorithm: -7, transports: '[]', created_at: new Date().toISOString() };
    const signInWith = async () => {
      const anon = client(t.url);
      const options = await anon.call('POST', '/login/passkey/options', {});
      return anon.call('POST', '/login/passkey', { response: keys.get(options.body) });
    };
    const other = (await row<{ binding: string }>('SELECT binding FROM technicians WHERE id = ?', [ids.olga]))!.binding;
    for (const binding of [null, other]) {
      await write('DELETE FROM technician_passkeys WHERE credential_id = ?', [planted.credential_id]);
      await write('INSERT INTO technician_passkeys (credential_id, technician_id, public_key, algorithm, sign_count, created_at, name, transports, binding) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)',
        [planted.credential_id, planted.technician_id, planted.public_key, planted.algorithm, planted.created_at, 'planted', planted.transports, binding]);
      const r = await signInWith();
      expect(r.status).toBe(401);
      expect(r.body.error.message).toMatch(/does not match its binding/);
    }
    await audited('tampered passkey');
    // The control: only the binding stood in the way (someone holding secrets.json could make this row).
    await write('UPDATE technician_passkeys SET binding = ? WHERE credential_id = ?', [passkeyBinding(bindingKey(t.app.secrets.hmacKey), planted), planted.credential_id]);
    expect((await signInWith()).status).toBe(200);
    await write('DELETE FROM technician_passkeys WHERE credential_id = ?', [planted.credential_id]);
  });

  it('a passkey registered through the console signs in; moved to another account in the database, it does not', async () => {
    const vic = await signIn('vic');
    const keys = new SoftAuthenticator(origin);
    const options = await vic.call('POST', '/passkeys/options', {});
    expect((await vic.call('POST', '/passkeys', { name: 'vic laptop', response: keys.create(options.body) })).status).toBe(200);
    const signInWith = async () => {
      const anon = client(t.url);
      const o = await anon.call('POST', '/login/passkey/options', {});
      return anon.call('POST', '/login/passkey', { response: keys.get(o.body) });
    };
    const ok = await signInWith();
    expect(ok.status).toBe(200);
    expect((await client(t.url, ok.cookie).call('GET', '/session')).body.technician.name).toBe('vic');
    await write('UPDATE technician_passkeys SET technician_id = ? WHERE technician_id = ?', [ids.olga, ids.vic]);
    expect((await signInWith()).status).toBe(401);
    await write('UPDATE technician_passkeys SET technician_id = ? WHERE technician_id = ? AND name = ?', [ids.vic, ids.olga, 'vic laptop']);
    // The sign counter is not bound: an edited one only makes the next sign-in fail as a clone.
    await write('UPDATE technician_passkeys SET sign_count = 1000 WHERE technician_id = ?', [ids.vic]);
    const cloned = await signInWith();
    expect(cloned.status).toBe(401);
    expect(cloned.body.error.message).toMatch(/counter/);
  });
});
