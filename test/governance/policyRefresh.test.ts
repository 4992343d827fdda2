// A running server keeps the policy in memory (the gate reads it on every call), so a change another process makes must
// reach it: a four-eyes rule set with the CLI beside a running server, on both stores, applies at the server's next look
// (the poll; team nodes also hear it by notification: test/team/nodes.test.ts), and the policy stays bound.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { initTestDir } from '../helpers/server.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { cliHere } from '../helpers/cliHere.ts';
import { until } from '../helpers/wait.ts';

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
});
