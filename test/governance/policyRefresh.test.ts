// A running server keeps the policy in memory (the gate reads it on every call), so a change another process makes must
// reach it: a four-eyes rule set with the CLI beside a running server, on both stores, applies at the server's next look
// (the poll; team nodes also hear it by notification: test/team/nodes.test.ts), and the policy stays bound.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { initTestDir } from '../helpers/server.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { cliHere } from '../helpers/cliHere.ts';
import { until } from '../helpers/wait.ts';
import { withInstallSql } from '../helpers/installSql.ts';

describeStores('the policy a running server holds', (store) => {
  let app: App;
  let dir: string;
  let storeUrl: string | undefined;
  let tenantId: string;
  beforeAll(async () => {
    storeUrl = await storeUrlFor(store, 'refresh');
    dir = await initTestDir(storeUrl);
    app = await openApp(dir, { storeUrl, log: () => {}, longRunning: true, externalChangesMs: 50 });
    tenantId = (await app.store.sql.get<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'acme-dental'`))!.id;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a four-eyes rule set and removed with the CLI applies to the running server at its next look', async () => {
    const env = { ...process.env, ...(storeUrl ? { COUNTERSIGN_DATABASE_URL: storeUrl } : {}) };
    expect(app.fourEyes.required('run_script', undefined, tenantId)).toBe(1);
    const set = await cliHere(env, 'four-eyes', 'set', '--data-dir', dir, '--tool', 'run_script', '--approvers', '3');
    expect(set.status, set.stderr).toBe(0);
    await until('the running server applies the rule the CLI set', () => app.fourEyes.required('run_script', undefined, tenantId) === 3);
    expect(app.policy.get().integrity).toBe('bound');
    const id = set.stdout.split('\t')[0]!;
    expect((await cliHere(env, 'four-eyes', 'remove', id, '--data-dir', dir)).status).toBe(0);
    await until('the running server drops the rule the CLI removed', () => app.fourEyes.required('run_script', undefined, tenantId) === 1);
    expect(app.policy.get().integrity).toBe('bound');
  });

  it('the CLI refuses to change a policy that fails its binding: it would seal an edit nobody reviewed, and the server would take it as bound', async () => {
    const env = { ...process.env, ...(storeUrl ? { COUNTERSIGN_DATABASE_URL: storeUrl } : {}) };
    await app.policy.update({ requireExecuteAdmin: true }, 'test');
    // The database writer clears the admin-only rule under the running server.
    await withInstallSql(dir, storeUrl, ({ sql }) => sql.run(`UPDATE settings SET value_json = 'false' WHERE name = 'requireExecuteAdmin'`));
    const r = await cliHere(env, 'four-eyes', 'set', '--data-dir', dir, '--tool', 'device_actions', '--approvers', '2');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/binding/);
    expect(await withInstallSql(dir, storeUrl, ({ sql }) => sql.all('SELECT id FROM approval_rules'))).toEqual([]);
    // The running server keeps the policy it verified, and its next own change writes it back over the edit.
    expect(app.policy.get()).toMatchObject({ integrity: 'bound', values: { requireExecuteAdmin: true } });
    await app.policy.update({ bulkWindowMinutes: 15 }, 'test');
    expect(await withInstallSql(dir, storeUrl, ({ sql }) => sql.get(`SELECT value_json FROM settings WHERE name = 'requireExecuteAdmin'`))).toEqual({ value_json: 'true' });
  });

  it('a binding a database writer moved (deleted) does not replace the verified policy in force: the edit is reported, the policy kept', async () => {
    await app.policy.setOverride({ tool: 'get_alerts', tier: 3 }, 'test');
    await withInstallSql(dir, storeUrl, async ({ sql }) => {
      await sql.run('DELETE FROM tier_overrides');
      await sql.run('DELETE FROM policy_binding');
    });
    await until('the edit is reported', async () => (await app.store.sql.all(`SELECT seq FROM audit_log WHERE code = 'TAMPERED' AND detail_json LIKE '%verified policy in force%'`)).length > 0);
    expect(app.policy.get().integrity).toBe('bound');
    expect(app.policy.overrideTier('get_alerts', undefined, undefined)).toBe(3);
  });
});
