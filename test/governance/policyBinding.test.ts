// The governance policy under the threat model's database writer (writes the SQLite file or is a PostgreSQL admin,
// cannot read secrets.json), on both stores, against a real server. The settings and tier overrides are bound as one
// record: a loosened limit, a cleared admin-only rule or a deleted tier raise shows at the next start. Then the
// stricter of each stored value and its default applies, reads run, tier-3 requests still get a card, tier-2 changes
// are refused (POLICY_UNVERIFIED), the console and the health check say so, and it is audited TAMPERED. An admin keeps
// the policy shown and changes resume. A technician's change never seals an edit made under a running server. The
// four-eyes rules are part of the policy: a deleted one shows the same way, and a running server keeps the rules it read.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { consoleLogin, denial, structured, type ConsoleClient } from '../helpers/console.ts';
import { openInstallSql, withInstallSql } from '../helpers/installSql.ts';
import { until } from '../helpers/wait.ts';
import { DEFAULT_POLICY } from '../../src-main/governance/policyValues.ts';

describeStores('the governance policy bound against a database writer', (store) => {
  let t: TestServer;
  let admin: ConsoleClient;
  let key: string;
  let device: string;
  beforeAll(async () => {
    t = await startTestServer({ store });
    key = await t.key({ name: 'policy-writer', tenants: ['acme-dental'] });
    device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' ORDER BY d.id LIMIT 1`))!.id;
  });
  afterAll(async () => {
    await t.close();
  });

  // The attacker's writes: plain SQL from a connection of their own, no service, no install secret.
  const write = (sql: string, params: unknown[] = []) => withInstallSql(t.dir, t.storeUrl, async ({ sql: db }) => void (await db.run(sql, params)));
  const restart = async () => {
    await t.restart();
    admin = await consoleLogin(t.url);
  };
  const connect = (): Promise<Client> => t.connect('http', key);
  const lock = (c: Client) => c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [device] } });
  /** Keeps the policy as the admin's console shows it (naming what it showed). */
  const accept = async () => admin.post('/rpc/acceptPolicy', { shown: (await policyView()).shown });
  const health = async () => (await (await fetch(new URL('/healthz', t.url))).json()) as { ok: boolean; policy: string };
  const policyView = async () => (await admin.post('/rpc/getPolicy', {})).body.result as { integrity: string; shown: string; values: typeof DEFAULT_POLICY; overrides: { tool: string; action: string | null; tier: number }[] };
  const audits = (where: string) => t.app.store.sql.all<{ outcome: string; code: string | null; rule: string | null; detail_json: string | null }>(
    `SELECT outcome, code, rule, detail_json FROM audit_log WHERE ${where} ORDER BY seq`);

  it('a new install\'s policy is bound, and the console\'s changes keep it bound through restarts', async () => {
    admin = await consoleLogin(t.url);
    expect((await health()).policy).toBe('bound');
    expect((await policyView()).integrity).toBe('bound');
    expect((await admin.post('/rpc/updatePolicy', { defaultWritePerMinute: 30, requireExecuteAdmin: true })).status).toBe(200);
    expect((await admin.post('/rpc/setTierOverride', { tool: 'run_script', tenant: 'acme-dental', tier: 4 })).status).toBe(200);
    await restart();
    const view = await policyView();
    expect(view.integrity).toBe('bound');
    expect(view.values).toMatchObject({ defaultWritePerMinute: 30, requireExecuteAdmin: true });
    expect((await admin.post('/rpc/session', {})).body.result.policy).toBe('bound');
    expect((await lock(await connect())).isError).toBeFalsy();
  });

  it('loosened in the database (a higher limit, admin-only cleared, a tier raise deleted): the stricter values apply, reads run, tier 3 gets a card, tier 2 is refused', async () => {
    await write(`UPDATE settings SET value_json = '5000' WHERE name = 'defaultWritePerMinute'`);
    await write(`UPDATE settings SET value_json = 'false' WHERE name = 'requireExecuteAdmin'`);
    await write(`DELETE FROM tier_overrides WHERE tool = 'run_script'`);
    await restart();
    expect(await health()).toMatchObject({ ok: true, policy: 'tampered' });
    const view = await policyView();
    expect(view.integrity).toBe('tampered');
    // 5000 is looser than the default (60): the default applies. Admin-only and the deleted raise cannot be known, so
    // they stand as stored; with tier 2 refused and tier 3 carded, nothing runs that a technician has not seen.
    expect(view.values.defaultWritePerMinute).toBe(DEFAULT_POLICY.defaultWritePerMinute);
    expect(view.overrides.some((o) => o.tool === 'run_script')).toBe(false);
    expect((await admin.post('/rpc/session', {})).body.result.policy).toBe('tampered');

    const c = await connect();
    expect((await c.callTool({ name: 'whoami', arguments: {} })).isError).toBeFalsy();
    const refused = await lock(c);
    expect(refused.isError).toBe(true);
    expect(denial(refused)).toMatchObject({ code: 'POLICY_UNVERIFIED' });
    expect(denial(refused).message).toMatch(/Policy page/);
    const reboot = await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: 'policy test' } });
    expect(JSON.stringify(reboot.structuredContent ?? reboot.content)).toMatch(/pending/);
    // Audited: the failed binding once, and the refusal with its rule.
    expect(await audits(`code = 'TAMPERED' AND outcome = 'tampered policy'`)).toHaveLength(1);
    expect((await audits(`code = 'POLICY_UNVERIFIED'`)).map((a) => a.rule)).toEqual(['policy_binding']);
  });

  it('a deleted binding, or one copied from nowhere, stays unverified through a restart', async () => {
    await write('DELETE FROM policy_binding');
    await restart();
    expect((await policyView()).integrity).toBe('tampered');
    await write(`INSERT INTO policy_binding (id, binding, bound_at) VALUES (1, ?, ?)`, ['ab'.repeat(32), new Date().toISOString()]);
    await restart();
    expect((await policyView()).integrity).toBe('tampered');
  });

  it('an admin keeps the policy shown: it is stored as shown, bound, audited, and changes run again', async () => {
    const shown = (await policyView()).values;
    const r = await accept();
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({ integrity: 'bound', values: shown });
    expect((await audits(`outcome = 'policy accepted as shown'`))).toHaveLength(1);
    expect((await lock(await connect())).isError).toBeFalsy();
    await restart();
    expect((await policyView())).toMatchObject({ integrity: 'bound', values: shown });
    expect((await health()).policy).toBe('bound');
  });

  it('while unverified: no change to the policy but the admin\'s acceptance (a setting, an override, a four-eyes rule), and a grant covers nothing', async () => {
    const c = await connect();
    const reboot = { action: 'reboot', deviceIds: [device], reason: 'granted reboot' };
    const first = structured<{ status: string; approvalId: string }>(await c.callTool({ name: 'device_actions', arguments: reboot }));
    expect(first.status).toBe('pending_approval');
    const offer = (await admin.post('/rpc/getApproval', { id: first.approvalId })).body.result.approval.grantOffer;
    expect((await admin.post('/rpc/approve', { id: first.approvalId, grant: { envelope: offer.card, minutes: 30 } })).status).toBe(200);
    expect(structured<{ status?: string }>(await c.callTool({ name: 'device_actions', arguments: reboot })).status).not.toBe('pending_approval');

    await write(`UPDATE settings SET value_json = '9' WHERE name = 'bulkDeviceThreshold'`);
    await restart();
    const after = await connect();
    const again = await after.callTool({ name: 'device_actions', arguments: reboot });
    expect(structured<{ status: string }>(again).status, JSON.stringify(again).slice(0, 600)).toBe('pending_approval');
    const refused = await admin.post('/rpc/updatePolicy', { bulkWindowMinutes: 30 });
    expect([refused.status, refused.body.error?.data?.code]).toEqual([409, 'POLICY_UNVERIFIED']);
    expect((await admin.post('/rpc/setTierOverride', { tool: 'get_alerts', tier: 2 })).status).toBe(409);
    await expect(t.app.fourEyes.setRule({ tool: 'run_script', approvers: 2 }, 'test')).rejects.toThrow(/Policy page/);
    expect((await accept()).body.result.integrity).toBe('bound');
  });

  it('a retyped column: a count that still reads as the same number changes nothing; anything else fails the binding', async () => {
    expect((await admin.post('/rpc/setTierOverride', { tool: 'get_alerts', tier: 4 })).status).toBe(200);
    if (t.storeUrl) {
      await write('ALTER TABLE tier_overrides DROP CONSTRAINT tier_overrides_tier_check');
      await write(`ALTER TABLE tier_overrides ALTER COLUMN tier TYPE TEXT USING tier || '.0'`);
    } else {
      await withInstallSql(t.dir, t.storeUrl, async ({ sql }) => {
        await sql.run('PRAGMA foreign_keys = OFF');
        await sql.run('CREATE TABLE o2 (id TEXT PRIMARY KEY, tool TEXT NOT NULL, action TEXT, tenant_id TEXT, tier TEXT NOT NULL, created_at TEXT NOT NULL)');
        await sql.run(`INSERT INTO o2 SELECT id, tool, action, tenant_id, tier || '.0', created_at FROM tier_overrides`);
        await sql.run('DROP TABLE tier_overrides');
        await sql.run('ALTER TABLE o2 RENAME TO tier_overrides');
      });
    }
    await restart();
    expect((await policyView()).integrity).toBe('bound');
    const blocked = await (await connect()).callTool({ name: 'get_alerts', arguments: {} });
    expect(denial(blocked).code).toBe('TIER4_BLOCKED');
    await write(`UPDATE tier_overrides SET tier = 'four' WHERE tool = 'get_alerts'`);
    await restart();
    expect((await policyView()).integrity).toBe('tampered');
    // Kept as shown: the row nobody can read is not part of it.
    expect((await accept()).body.result.integrity).toBe('bound');
    expect((await policyView()).overrides.some((o) => o.tool === 'get_alerts')).toBe(false);
  });

  it('a schema version rolled back past the binding does not get the edited policy bound as "the state at the upgrade", forged early audit rows or not', async () => {
    // Rows placed before the real ones, saying the install was made at no schema and recorded at schema 1.
    const forged = `INSERT INTO audit_log (seq, at, event, decision, outcome, detail_json, prev_hash, hash) VALUES (?, ?, 'system', 'info', ?, ?, ?, ?)`;
    await write(forged, [-2, new Date().toISOString(), 'initialized', '{}', '0'.repeat(64), '1'.repeat(64)]);
    await write(forged, [-1, new Date().toISOString(), 'schema recorded', '{"schemaVersion":1}', '1'.repeat(64), '2'.repeat(64)]);
    await write('DROP TABLE policy_binding');
    await write(`DELETE FROM schema_migrations WHERE version >= 19`);
    if (!t.storeUrl) await write('PRAGMA user_version = 18');
    await restart();
    expect((await policyView()).integrity).toBe('tampered');
    expect(await audits(`outcome = 'policy bound at upgrade'`)).toHaveLength(0);
    expect(await audits(`code = 'TAMPERED' AND outcome = 'schema rolled back past policy-binding'`)).toHaveLength(1);
    expect((await accept()).body.result.integrity).toBe('bound');
  });

  it('a trigger someone wrote into the database (it could rewrite the policy inside a change) stops every change until removed', async () => {
    if (t.storeUrl) {
      await write(`CREATE FUNCTION evil() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM tier_overrides; RETURN NEW; END $$`);
      await write('CREATE TRIGGER evil AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION evil()');
    } else await write(`CREATE TRIGGER evil AFTER INSERT ON audit_log WHEN NEW.event = 'policy' BEGIN DELETE FROM tier_overrides; END`);
    const refused = await admin.post('/rpc/updatePolicy', { bulkWindowMinutes: 27 });
    expect([refused.status, refused.body.error?.data?.code]).toEqual([409, 'POLICY_UNVERIFIED']);
    expect(refused.body.error.message).toMatch(/evil/);
    await write(t.storeUrl ? 'DROP TRIGGER evil ON audit_log' : 'DROP TRIGGER evil');
    expect((await admin.post('/rpc/updatePolicy', { bulkWindowMinutes: 27 })).status).toBe(200);
  });

  it('an override id stored twice (its key dropped) is kept once by the admin\'s acceptance', async () => {
    expect((await admin.post('/rpc/setTierOverride', { tool: 'get_alerts', tier: 3 })).status).toBe(200);
    if (t.storeUrl) await write('ALTER TABLE tier_overrides DROP CONSTRAINT tier_overrides_pkey');
    else {
      await withInstallSql(t.dir, undefined, async ({ sql }) => {
        await sql.run('CREATE TABLE o3 (id TEXT, tool TEXT NOT NULL, action TEXT, tenant_id TEXT, tier, created_at TEXT NOT NULL)');
        await sql.run('INSERT INTO o3 SELECT id, tool, action, tenant_id, tier, created_at FROM tier_overrides');
        await sql.run('DROP TABLE tier_overrides');
        await sql.run('ALTER TABLE o3 RENAME TO tier_overrides');
      });
    }
    await write(`INSERT INTO tier_overrides (id, tool, action, tenant_id, tier, created_at) SELECT id, tool, action, tenant_id, tier, created_at FROM tier_overrides WHERE tool = 'get_alerts'`);
    await restart();
    expect((await policyView()).integrity).toBe('tampered');
    expect((await accept()).body.result.integrity).toBe('bound');
    expect(await withInstallSql(t.dir, t.storeUrl, ({ num }) => num(`SELECT count(*) FROM tier_overrides WHERE tool = 'get_alerts'`))).toBe(1);
    await restart();
    expect((await policyView()).integrity).toBe('bound');
  });

  it('an edit under a running server is not sealed by the next change: the change first puts back the policy in force', async () => {
    expect((await admin.post('/rpc/updatePolicy', { bulkDeviceThreshold: 4 })).status).toBe(200);
    expect((await admin.post('/rpc/setTierOverride', { tool: 'run_script', tenant: 'acme-dental', tier: 4 })).status).toBe(200);
    const putBack = `outcome = 'stored policy put back to the policy in force'`;
    const before = (await audits(putBack)).length;
    await write(`UPDATE settings SET value_json = '500' WHERE name = 'bulkDeviceThreshold'`);
    await write(`DELETE FROM tier_overrides WHERE tool = 'run_script'`);
    // The running server still holds what it read; the technician changes something else.
    expect((await admin.post('/rpc/updatePolicy', { bulkWindowMinutes: 20 })).status).toBe(200);
    expect(await audits(putBack)).toHaveLength(before + 1);
    await restart();
    const view = await policyView();
    expect(view.integrity).toBe('bound');
    expect(view.values).toMatchObject({ bulkDeviceThreshold: 4, bulkWindowMinutes: 20 });
    expect(view.overrides).toContainEqual(expect.objectContaining({ tool: 'run_script', tier: 4 }));
  });

  it.skipIf(store === 'postgres')('(SQLite only: PostgreSQL\'s TEXT column holds no BLOB) a setting stored again under a BLOB name is removed by the next change, never sealed', async () => {
    expect((await admin.post('/rpc/updatePolicy', { requireExecuteAdmin: true })).status).toBe(200);
    await withInstallSql(t.dir, undefined, async ({ sql }) => {
      await sql.run('CREATE TABLE s2 (name TEXT PRIMARY KEY, value_json TEXT NOT NULL, updated_at TEXT NOT NULL, binding TEXT)');
      await sql.run('INSERT INTO s2 SELECT name, value_json, updated_at, binding FROM settings');
      await sql.run('DROP TABLE settings');
      await sql.run('ALTER TABLE s2 RENAME TO settings');
      await sql.run(`INSERT INTO settings (name, value_json, updated_at) VALUES (CAST('requireExecuteAdmin' AS BLOB), 'false', ?)`, [new Date().toISOString()]);
    });
    expect((await admin.post('/rpc/updatePolicy', { bulkWindowMinutes: 25 })).status).toBe(200);
    await restart();
    expect(await policyView()).toMatchObject({ integrity: 'bound', values: { requireExecuteAdmin: true, bulkWindowMinutes: 25 } });
    expect(await withInstallSql(t.dir, undefined, ({ num }) => num(`SELECT count(*) FROM settings WHERE typeof(name) = 'blob'`))).toBe(0);
  });

  it.runIf(store === 'postgres')('(PostgreSQL) a database writer\'s commit that lands while a change waits for the policy\'s tables is checked, not sealed', async () => {
    expect((await admin.post('/rpc/updatePolicy', { requireExecuteAdmin: true })).status).toBe(200);
    const attacker = await openInstallSql(t.dir, t.storeUrl);
    await attacker.sql.run('BEGIN');
    await attacker.sql.run('LOCK TABLE settings IN EXCLUSIVE MODE');
    const change = admin.post('/rpc/updatePolicy', { bulkWindowMinutes: 26 });
    await until('the change waits on the locked table', async () => (await withInstallSql(t.dir, t.storeUrl, ({ num }) => num('SELECT count(*) FROM pg_locks WHERE NOT granted'))) > 0);
    await attacker.sql.run(`UPDATE settings SET value_json = 'false' WHERE name = 'requireExecuteAdmin'`);
    await attacker.sql.run('COMMIT');
    await attacker.close();
    expect((await change).status).toBe(200);
    await restart();
    expect(await policyView()).toMatchObject({ integrity: 'bound', values: { requireExecuteAdmin: true, bulkWindowMinutes: 26 } });
  });

  it('a four-eyes rule deleted in the database: the running server keeps the rule it verified; the next start finds the policy unverified', async () => {
    await t.app.fourEyes.setRule({ tool: 'device_actions', action: 'reboot', approvers: 2 }, 'test');
    await write(`DELETE FROM approval_rules`);
    const c = await connect();
    const asked = await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: 'four eyes kept' } });
    const id = (asked.structuredContent as { approvalId: string }).approvalId;
    expect(Number((await t.app.store.sql.get<{ n: number }>('SELECT approvers_required AS n FROM approvals WHERE id = ?', [id]))!.n)).toBe(2);
    await restart();
    expect((await policyView()).integrity).toBe('tampered');
    expect(t.app.fourEyes.required('device_actions', 'reboot', 'any')).toBe(1);
    expect((await accept()).status).toBe(200);
  });

  it('an MCP key reaches no policy method; a viewer technician may not accept a policy', async () => {
    const r = await fetch(new URL('/console/api/rpc/acceptPolicy', t.url), { method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(401);
    // Last: once accounts exist, the install's single passphrase signs in nobody.
    await t.app.technicians.create({ name: 'vic', passphrase: 'viewer passphrase 1', role: 'viewer', tenants: ['acme-dental'] }, 'test');
    const vic = await consoleLogin(t.url, 'viewer passphrase 1', 'vic');
    const refused = await vic.post('/rpc/acceptPolicy', { shown: 'a'.repeat(64) });
    expect([refused.status, refused.body.error?.data?.code]).toEqual([403, 'FORBIDDEN']);
  });
});
