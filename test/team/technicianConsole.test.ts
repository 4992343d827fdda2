// Technician accounts in the web console, on both stores: once an account exists the single passphrase no longer
// signs in; each technician acts under their own name (decisions, keys, policy changes in the audit log), within their
// role (a technician may not change the policy, a viewer may not decide or hold write keys) and their tenants (another
// tenant's request is not there for them); a disabled account's session ends at its next request.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, PASSPHRASE, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { consoleLogin, structured, type ConsoleClient } from '../helpers/console.ts';
import type { Technician } from '../../src-main/auth/technicians.ts';

const PASS = 'technician console passphrase';

describeStores('technicians in the web console', (store) => {
  let t: TestServer;
  let dana: Technician;
  let ed: Technician;
  let rpc: (c: ConsoleClient, method: string, input?: unknown) => Promise<{ status: number; body: any }>;
  beforeAll(async () => {
    t = await startTestServer({ store });
    dana = await t.app.technicians.create({ name: 'dana', passphrase: PASS, role: 'admin', tenants: 'all' }, 'test');
    ed = await t.app.technicians.create({ name: 'ed', passphrase: PASS, role: 'technician', tenants: ['acme-dental'] }, 'test');
    await t.app.technicians.create({ name: 'val', passphrase: PASS, role: 'viewer', tenants: 'all' }, 'test');
    rpc = (c, method, input = {}) => c.post(`/rpc/${method}`, input);
  });
  afterAll(async () => {
    await t.close();
  });
  const lastAudit = async (event: string) => (await t.app.store.sql.get<{ rule: string; outcome: string; key_name: string | null }>(
    'SELECT rule, outcome, key_name FROM audit_log WHERE event = ? ORDER BY seq DESC LIMIT 1', [event]))!;

  it('the page learns that sign-in takes a name; the single passphrase no longer signs in; a wrong name or passphrase is one answer', async () => {
    expect(await (await fetch(`${t.url}/console/api/login`)).json()).toEqual({ accounts: true });
    await expect(consoleLogin(t.url, PASSPHRASE)).rejects.toThrow(/401/);
    await expect(consoleLogin(t.url, 'not it', 'ed')).rejects.toThrow(/401/);
    await expect(consoleLogin(t.url, PASS, 'nobody')).rejects.toThrow(/401/);
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    expect((await ed1.get('/session')).body).toMatchObject({ authenticated: true, technician: { name: 'ed', role: 'technician' } });
    expect(await lastAudit('console')).toMatchObject({ outcome: 'login: ed' });
  });

  it('keys and policy changes name the technician; roles bound what each may call', async () => {
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const made = await rpc(ed1, 'createKey', { name: 'ed-claude', scopes: ['ai:read', 'ai:write'], tenants: ['acme-dental'] });
    expect(made.status).toBe(200);
    expect(await lastAudit('key')).toMatchObject({ rule: 'ed', outcome: 'created', key_name: 'ed-claude' });
    expect((await t.app.keys.get(made.body.result.key.id))!.owner).toMatchObject({ id: ed.id, name: 'ed' });
    // Ed's key can never reach beyond Ed's tenants.
    expect((await rpc(ed1, 'createKey', { name: 'ed-wide', scopes: ['ai:read'], tenants: ['globex-logistics'] })).body.error.data).toMatchObject({ code: 'BAD_INPUT' });
    expect((await rpc(ed1, 'updatePolicy', { approvalTtlMinutes: 40 })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    expect((await rpc(dana1, 'updatePolicy', { approvalTtlMinutes: 40 })).status).toBe(200);
    expect(await lastAudit('policy')).toMatchObject({ rule: 'dana', outcome: 'updated' });
    // Dana (admin) sees every key; Ed sees his own.
    const names = async (c: ConsoleClient) => (await rpc(c, 'listKeys')).body.result.keys.map((k: { name: string }) => k.name);
    expect(await names(ed1)).toEqual(['ed-claude']);
    expect(await names(dana1)).toContain('ed-claude');
    const val = await consoleLogin(t.url, PASS, 'val');
    expect((await rpc(val, 'createKey', { name: 'val-key', scopes: ['ai:read'], tenants: ['acme-dental'] })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('decisions name the technician; another tenant\'s request is not there for them; a viewer may not decide', async () => {
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const val = await consoleLogin(t.url, PASS, 'val');
    const ask = async (tenant: string) => {
      const c = await t.connect('http', await t.key({ name: `asker-${tenant}`, tenants: [tenant] }));
      const device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = ? ORDER BY d.hostname LIMIT 1`, [tenant]))!.id;
      return structured<{ approvalId: string }>(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: `for ${tenant}` } })).approvalId;
    };
    const globex = await ask('globex-logistics');
    const pending = async (c: ConsoleClient) => (await c.get('/approvals?status=pending')).body.approvals.map((a: { id: string }) => a.id);
    expect(await pending(ed1)).not.toContain(globex);
    expect(await pending(dana1)).toContain(globex);
    expect((await ed1.post(`/approvals/${globex}/approve`)).status).toBe(404);
    expect((await val.post(`/approvals/${globex}/approve`)).status).toBe(403);
    const approved = await dana1.post(`/approvals/${globex}/approve`);
    expect(approved.body.approval).toMatchObject({ status: 'running', decidedBy: 'dana' });
    const acme = await ask('acme-dental');
    expect((await ed1.post(`/approvals/${acme}/deny`, { reason: 'not today' })).body.approval).toMatchObject({ status: 'denied', decidedBy: 'ed' });
    const entries = await t.app.store.sql.all<{ approval_id: string; decision: string; rule: string }>(
      `SELECT approval_id, decision, rule FROM audit_log WHERE event = 'approval' AND approval_id IN (?, ?) AND decision IN ('approved', 'rejected')`, [globex, acme]);
    expect(entries.map((e) => [e.approval_id, e.decision, e.rule]).sort()).toEqual([[globex, 'approved', 'dana'], [acme, 'rejected', 'ed']].sort());
  });

  it('a disabled account\'s session ends at its next request, and its keys can do nothing', async () => {
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const { secret } = await t.app.keys.create({ name: 'ed-late', scopes: ['ai:read'], tenants: ['acme-dental'], ownerId: ed.id }, 'ed');
    await t.app.technicians.update(ed.id, { disabled: true }, 'dana');
    expect((await ed1.get('/session')).status).toBe(401);
    const c = await t.connect('http', secret);
    expect((await c.callTool({ name: 'list_devices', arguments: { limit: 1 } })).isError).toBe(true);
    await t.app.technicians.update(ed.id, { disabled: false }, 'dana');
    const back = await c.callTool({ name: 'list_devices', arguments: { limit: 1 } });
    expect(back.isError, JSON.stringify(back.content)).toBeFalsy();
  });
});
