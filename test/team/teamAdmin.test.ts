// Technician accounts and four-eyes rules managed from the web console, on both stores: only owners and admins manage;
// an admin neither makes an owner nor touches one; nobody disables, demotes or removes the last owner; every change is
// audited naming who made it; narrowing a technician's tenants narrows their keys at the next call; a rule set from the
// console makes a request need two technicians.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { consoleLogin, structured, type ConsoleClient } from '../helpers/console.ts';

const PASS = 'team admin passphrase';

describeStores('technician accounts and four-eyes rules in the console', (store) => {
  let t: TestServer;
  let olga: ConsoleClient;
  const rpc = async (c: ConsoleClient, method: string, input: unknown = {}) => {
    const r = await c.post(`/rpc/${method}`, input);
    return r.status === 200 ? { ok: true as const, result: r.body.result, status: 200 } : { ok: false as const, status: r.status, code: r.body.error?.data?.code as string, message: r.body.error?.message as string };
  };
  const must = async (c: ConsoleClient, method: string, input: unknown = {}) => {
    const r = await rpc(c, method, input);
    if (!r.ok) throw new Error(`${method}: ${r.status} ${r.code} ${r.message}`);
    return r.result;
  };
  const lastConsoleAudit = async () => (await t.app.store.sql.get<{ rule: string; outcome: string; detail_json: string }>(
    `SELECT rule, outcome, detail_json FROM audit_log WHERE event IN ('console', 'policy') AND outcome NOT LIKE 'login%' ORDER BY seq DESC LIMIT 1`))!;
  const create = (c: ConsoleClient, name: string, role: string, tenants: 'all' | string[]) => rpc(c, 'createTechnician', { name, passphrase: PASS, role, tenants });
  beforeAll(async () => {
    t = await startTestServer({ store });
    // The first owner comes from the install's single-passphrase console (or the CLI), before any account exists.
    const install = await consoleLogin(t.url);
    expect((await rpc(install, 'createTechnician', { name: 'first', passphrase: PASS, role: 'admin', tenants: 'all' })).code).toBe('BAD_INPUT');
    await must(install, 'createTechnician', { name: 'olga', passphrase: PASS, role: 'owner', tenants: 'all' });
    expect((await rpc(install, 'listTechnicians')).code).toBe('FORBIDDEN');
    olga = await consoleLogin(t.url, PASS, 'olga');
  });
  afterAll(async () => {
    await t.close();
  });

  it('an owner creates accounts and lists them with tenants, keys and passkeys; every change names the owner in the audit log', async () => {
    const made = await must(olga, 'createTechnician', { name: 'adam', passphrase: PASS, role: 'admin', tenants: 'all' });
    expect(made.technician).toMatchObject({ name: 'adam', role: 'admin', tenants: 'all', disabledAt: null, keys: 0, passkeys: 0 });
    expect(await lastConsoleAudit()).toMatchObject({ rule: 'olga', outcome: 'technician created' });
    await must(olga, 'createTechnician', { name: 'tess', passphrase: PASS, role: 'technician', tenants: ['acme-dental', 'globex-logistics'] });
    const tess = await consoleLogin(t.url, PASS, 'tess');
    await must(tess, 'createKey', { name: 'tess-ai', scopes: ['ai:read'], tenants: ['acme-dental', 'globex-logistics'] });
    const list = (await must(olga, 'listTechnicians')) as { technicians: { name: string; keys: number; tenants: 'all' | { slug: string }[] }[]; you: { role: string } };
    expect(list.you.role).toBe('owner');
    expect(list.technicians.map((x) => x.name)).toEqual(['adam', 'olga', 'tess']);
    const row = list.technicians.find((x) => x.name === 'tess')!;
    expect(row.keys).toBe(1);
    expect(row.tenants).toEqual([expect.objectContaining({ slug: 'acme-dental' }), expect.objectContaining({ slug: 'globex-logistics' })]);
    // Bad input is a clear 400 and changes nothing.
    expect(await create(olga, 'x', 'owner', ['no-such-tenant'])).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('no-such-tenant') });
    expect(await rpc(olga, 'createTechnician', { name: 'y', passphrase: 'short', role: 'viewer', tenants: 'all' })).toMatchObject({ status: 400, code: 'BAD_INPUT' });
    expect(await rpc(olga, 'createTechnician', { name: 'z', passphrase: PASS, role: 'root', tenants: 'all' })).toMatchObject({ status: 400 });
    // A name the account service refuses is refused at the boundary with the reason (it was a 500).
    expect(await create(olga, "o'brien", 'viewer', 'all')).toMatchObject({ status: 400, code: 'BAD_INPUT', message: expect.stringContaining('letters, digits') });
    expect(await create(olga, 'tess', 'viewer', 'all')).toMatchObject({ status: 409, code: 'CONFLICT' });
  });

  it('narrowing a technician\'s tenants on the page narrows their key at its next call', async () => {
    const tess = await consoleLogin(t.url, PASS, 'tess');
    const { secret } = await must(tess, 'createKey', { name: 'tess-narrowed', scopes: ['ai:read'], tenants: ['acme-dental', 'globex-logistics'] });
    const client = await t.connect('http', secret);
    expect((await client.callTool({ name: 'list_devices', arguments: { tenant: 'globex-logistics', limit: 1 } })).isError).toBeFalsy();
    const id = (await must(olga, 'listTechnicians')).technicians.find((x: { name: string }) => x.name === 'tess').id;
    const changed = await must(olga, 'updateTechnician', { id, tenants: ['acme-dental'] });
    expect(changed.technician.tenants.map((x: { slug: string }) => x.slug)).toEqual(['acme-dental']);
    const audit = await lastConsoleAudit();
    expect(audit).toMatchObject({ rule: 'olga', outcome: 'technician changed' });
    expect(JSON.parse(audit.detail_json)).toMatchObject({ before: { tenants: ['acme-dental', 'globex-logistics'] }, after: { tenants: ['acme-dental'] } });
    const r = await client.callTool({ name: 'list_devices', arguments: { tenant: 'globex-logistics' } });
    expect(r.isError).toBe(true);
    expect((await client.callTool({ name: 'list_devices', arguments: { tenant: 'acme-dental', limit: 1 } })).isError).toBeFalsy();
  });

  it('an admin manages technicians but neither makes an owner nor touches one; technicians and viewers manage nothing', async () => {
    const adam = await consoleLogin(t.url, PASS, 'adam');
    const ids = Object.fromEntries((await must(adam, 'listTechnicians')).technicians.map((x: { name: string; id: string }) => [x.name, x.id]));
    expect(await create(adam, 'owen', 'owner', 'all')).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await must(adam, 'createTechnician', { name: 'vera', passphrase: PASS, role: 'viewer', tenants: ['acme-dental'] });
    expect(await lastConsoleAudit()).toMatchObject({ rule: 'adam', outcome: 'technician created' });
    expect(await rpc(adam, 'updateTechnician', { id: ids.tess, role: 'owner' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rpc(adam, 'updateTechnician', { id: ids.olga, disabled: true })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rpc(adam, 'resetTechnicianPassphrase', { id: ids.olga, passphrase: 'adam owns olga now' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await rpc(adam, 'removeTechnician', { id: ids.olga })).toMatchObject({ code: 'FORBIDDEN' });
    expect((await must(adam, 'updateTechnician', { id: ids.tess, role: 'admin' })).technician.role).toBe('admin');
    await must(adam, 'updateTechnician', { id: ids.tess, role: 'technician' });
    const tess = await consoleLogin(t.url, PASS, 'tess');
    const vera = await consoleLogin(t.url, PASS, 'vera');
    for (const c of [tess, vera]) {
      expect(await rpc(c, 'listTechnicians')).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      expect(await create(c, 'mallory', 'viewer', 'all')).toMatchObject({ code: 'FORBIDDEN' });
      expect(await rpc(c, 'setFourEyesRule', { tool: 'run_script', approvers: 2 })).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await must(olga, 'listTechnicians')).technicians.map((x: { name: string }) => x.name)).not.toContain('mallory');
  });

  it('nobody locks out the last owner; a passphrase reset ends the account\'s sessions; remove only what left no record', async () => {
    const ids = Object.fromEntries((await must(olga, 'listTechnicians')).technicians.map((x: { name: string; id: string }) => [x.name, x.id]));
    expect(await rpc(olga, 'updateTechnician', { id: ids.olga, disabled: true })).toMatchObject({ status: 409, code: 'CONFLICT', message: expect.stringContaining('last enabled owner') });
    expect(await rpc(olga, 'updateTechnician', { id: ids.olga, role: 'admin' })).toMatchObject({ code: 'CONFLICT' });
    expect(await rpc(olga, 'removeTechnician', { id: ids.olga })).toMatchObject({ code: 'CONFLICT' });
    // The CLI is bound by the same rule (the same service function).
    await expect(t.app.technicians.update(ids.olga, { disabled: true }, 'cli')).rejects.toThrow(/last enabled owner/);
    // With a second owner, the first may step down.
    await must(olga, 'updateTechnician', { id: ids.adam, role: 'owner' });
    await must(olga, 'updateTechnician', { id: ids.adam, role: 'admin' });
    const vera = await consoleLogin(t.url, PASS, 'vera');
    expect((await vera.get('/session')).status).toBe(200);
    await must(olga, 'resetTechnicianPassphrase', { id: ids.vera, passphrase: 'a brand new passphrase' });
    expect(await lastConsoleAudit()).toMatchObject({ rule: 'olga', outcome: 'technician passphrase reset' });
    expect((await vera.get('/session')).status).toBe(401);
    await expect(consoleLogin(t.url, PASS, 'vera')).rejects.toThrow(/401/);
    await consoleLogin(t.url, 'a brand new passphrase', 'vera');
    // Tess owns keys: the record names her, so she can be disabled, not removed.
    expect(await rpc(olga, 'removeTechnician', { id: ids.tess })).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('disable') });
    expect((await must(olga, 'updateTechnician', { id: ids.tess, disabled: true })).technician.disabledAt).not.toBeNull();
    expect(await must(olga, 'removeTechnician', { id: ids.vera })).toEqual({ removed: 'vera' });
    expect(await lastConsoleAudit()).toMatchObject({ rule: 'olga', outcome: 'technician removed' });
    expect((await vera.get('/session')).status).toBe(401);
    expect(await rpc(olga, 'removeTechnician', { id: ids.vera })).toMatchObject({ status: 404 });
  });

  it('four-eyes rules: added, edited and removed on the console, audited; a rule set there makes a request need two approvers', async () => {
    expect(await rpc(olga, 'setFourEyesRule', { tool: 'no_such_tool', approvers: 2 })).toMatchObject({ code: 'BAD_INPUT' });
    expect(await rpc(olga, 'setFourEyesRule', { tool: 'device_actions', action: 'nope', approvers: 2 })).toMatchObject({ code: 'BAD_INPUT' });
    expect(await rpc(olga, 'setFourEyesRule', { action: 'reboot', approvers: 2 })).toMatchObject({ status: 400 });
    expect(await rpc(olga, 'setFourEyesRule', { tool: 'device_actions', approvers: 9 })).toMatchObject({ status: 400 });
    const { rule } = await must(olga, 'setFourEyesRule', { tool: 'device_actions', action: 'reboot', tenant: 'acme-dental', approvers: 3 });
    expect(rule).toMatchObject({ tool: 'device_actions', action: 'reboot', tenant: 'acme-dental', tier: 3, approvers: 3 });
    expect(await lastConsoleAudit()).toMatchObject({ rule: 'olga', outcome: 'four-eyes rule set' });
    // Edited: the new rule replaces the old one in the same change.
    const edited = (await must(olga, 'setFourEyesRule', { replaces: rule.id, tool: 'device_actions', action: 'reboot', tenant: null, approvers: 2 })).rule;
    expect((await must(olga, 'listFourEyesRules')).rules).toEqual([edited]);
    const client = await t.connect('http', await t.key({ name: 'asker', tenants: ['acme-dental'] }));
    const device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = 'acme-dental' ORDER BY d.hostname LIMIT 1`))!.id;
    const ask = async () => structured<{ approvalId: string }>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: 'four eyes' } })).approvalId;
    const id = await ask();
    const adam = await consoleLogin(t.url, PASS, 'adam');
    const first = await olga.post(`/approvals/${id}/approve`);
    expect(first.body.approval).toMatchObject({ status: 'pending', fourEyes: { required: 2, needed: 1, approvedBy: [expect.objectContaining({ name: 'olga' })] } });
    expect((await adam.post(`/approvals/${id}/approve`)).body.approval.status).toBe('running');
    await must(olga, 'removeFourEyesRule', { id: edited.id });
    expect(await lastConsoleAudit()).toMatchObject({ rule: 'olga', outcome: 'four-eyes rule removed' });
    expect(await rpc(olga, 'removeFourEyesRule', { id: edited.id })).toMatchObject({ status: 404 });
    expect((await olga.post(`/approvals/${await ask()}/approve`)).body.approval.status).toBe('running');
  });

  it('a technician\'s pending count (session, approval list) is of their tenants only', async () => {
    await must(olga, 'createTechnician', { name: 'nina', passphrase: PASS, role: 'technician', tenants: ['globex-logistics'] });
    const nina = await consoleLogin(t.url, PASS, 'nina');
    const client = await t.connect('http', await t.key({ name: 'counted', tenants: ['acme-dental'] }));
    const device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = 'acme-dental' ORDER BY d.hostname LIMIT 1`))!.id;
    await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: 'counted for acme only' } });
    const all = await t.app.approvals.pendingCount();
    expect(all).toBeGreaterThanOrEqual(1);
    expect((await must(olga, 'session')).pendingApprovals).toBe(all);
    expect((await must(nina, 'session')).pendingApprovals).toBe(0);
    expect((await must(nina, 'listApprovals', { status: ['pending'] })).pendingCount).toBe(0);
  });
});
