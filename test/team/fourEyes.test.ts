// Technicians and four-eyes, on both stores: keys belong to a technician and never do more than they can now; a rule
// makes a request need two distinct technicians; the requester's own account never counts; a deny by anyone ends it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { structured } from '../helpers/console.ts';
import type { Technician } from '../../src-main/auth/technicians.ts';

const PASS = 'long enough passphrase';

describeStores('technicians and four-eyes', (store) => {
  let t: TestServer;
  let alice: Technician;
  let bob: Technician;
  let carol: Technician;
  let viewer: Technician;
  let client: Client;
  let device: string;
  beforeAll(async () => {
    t = await startTestServer({ store });
    const techs = t.app.technicians;
    alice = await techs.create({ name: 'alice', passphrase: PASS, role: 'technician', tenants: ['acme-dental'] }, 'test');
    bob = await techs.create({ name: 'bob', passphrase: PASS, role: 'technician', tenants: ['acme-dental', 'globex-logistics'] }, 'test');
    carol = await techs.create({ name: 'carol', passphrase: PASS, role: 'admin', tenants: 'all' }, 'test');
    viewer = await techs.create({ name: 'vic', passphrase: PASS, role: 'viewer', tenants: 'all' }, 'test');
    await t.app.fourEyes.setRule({ tool: 'device_actions', approvers: 2 }, 'test');
    const { secret } = await t.app.keys.create({ name: 'alice-ai', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: ['acme-dental'], ownerId: alice.id }, 'alice');
    client = await t.connect('http', secret);
    device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = 'acme-dental' ORDER BY d.hostname LIMIT 1`))!.id;
  });
  afterAll(async () => {
    await t.close();
  });

  const request = async (reason: string) => {
    const s = structured<{ status: string; approvalId: string }>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason } }));
    expect(s.status).toBe('pending_approval');
    return s.approvalId;
  };
  const commands = async (approvalId: string) => (await t.app.store.sql.get<{ n: number }>(
    'SELECT count(*) AS n FROM device_commands c JOIN executions e ON e.id = c.execution_id WHERE e.approval_id = ?', [approvalId]))!.n;

  it('a key can never be given more than its owner has, and is narrowed when the owner is', async () => {
    await expect(t.app.keys.create({ name: 'too-wide', scopes: ['ai:read'], tenants: ['globex-logistics'], ownerId: alice.id })).rejects.toThrow(/alice may not act on globex-logistics/);
    await expect(t.app.keys.create({ name: 'viewer-write', scopes: ['ai:write'], tenants: ['acme-dental'], ownerId: viewer.id })).rejects.toThrow(/may not hold ai:write/);
    const { key, secret } = await t.app.keys.create({ name: 'bob-two', scopes: ['ai:read'], tenants: ['acme-dental', 'globex-logistics'], ownerId: bob.id });
    expect(key.tenants.map((x) => x.slug)).toEqual(['acme-dental', 'globex-logistics']);
    // A session opened before the change: the very next call on it is narrowed.
    const c = await t.connect('http', secret);
    expect((await c.callTool({ name: 'list_devices', arguments: { tenant: 'globex-logistics', limit: 1 } })).isError).toBeFalsy();
    await t.app.technicians.update(bob.id, { tenants: ['acme-dental'] }, 'carol');
    const r = await c.callTool({ name: 'list_devices', arguments: { tenant: 'globex-logistics' } });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/TENANT_DENIED|NOT_FOUND/);
    await t.app.technicians.update(bob.id, { tenants: ['acme-dental', 'globex-logistics'] }, 'carol');
    expect((await t.app.keys.check(secret)).ok && ((await t.app.keys.check(secret)) as { key: { tenants: unknown[] } }).key.tenants).toHaveLength(2);
  });

  it('two distinct technicians must approve; the requester\'s own account is refused; the card shows who approved', async () => {
    const id = await request('four eyes');
    await expect(t.app.gate.approve(id, 'alice', { by: alice })).rejects.toThrow(/alice asked for this with their own key and cannot approve it/);
    await expect(t.app.gate.approve(id, 'console-admin')).rejects.toThrow(/needs 2 technicians/);
    await expect(t.app.gate.approve(id, 'vic', { by: viewer })).rejects.toThrow(/viewer\) may not decide/);
    const first = await t.app.gate.approve(id, 'bob', { by: bob });
    expect(first.status).toBe('pending');
    expect(await commands(id)).toBe(0);
    expect(await t.app.fourEyes.state(t.app.store.sql, id, 2)).toMatchObject({ required: 2, approvedBy: [{ name: 'bob' }], needed: 1 });
    await expect(t.app.gate.approve(id, 'bob', { by: bob })).rejects.toThrow(/bob already approved this request/);
    const done = await t.app.gate.approve(id, 'carol', { by: carol });
    expect(done.status).toBe('running');
    expect(done.decidedBy).toBe('bob, carol');
    expect(await commands(id)).toBe(1);
    const audit = await t.app.store.sql.all<{ decision: string; rule: string; code: string | null }>(`SELECT decision, rule, code FROM audit_log WHERE approval_id = ? AND event = 'approval' ORDER BY seq`, [id]);
    expect(audit.map((a) => [a.decision, a.rule, a.code])).toEqual([['info', 'bob', 'FOUR_EYES'], ['info', 'carol', 'FOUR_EYES'], ['approved', 'bob, carol', null]]);
  });

  it('a deny by any one of them ends it; nothing runs', async () => {
    const id = await request('denied by one');
    await t.app.gate.approve(id, 'bob', { by: bob });
    const denied = await t.app.gate.deny(id, 'carol', 'not now', { by: carol });
    expect(denied.status).toBe('denied');
    await expect(t.app.gate.approve(id, 'carol', { by: carol })).rejects.toThrow(/already denied/);
    expect(await commands(id)).toBe(0);
  });

  it('standing approvals never stand in for four eyes: no grant from a four-eyes card, and a live grant still leaves its call a card', async () => {
    const id = await request('grant offer');
    const grant = { envelope: { devices: { kind: 'set' as const, ids: [device] }, maxDevicesPerCall: 1 }, minutes: 60 };
    await expect(t.app.gate.approve(id, 'bob', { by: bob, grant })).rejects.toThrow(/needs 2 technicians to approve it; no grant can be made from it/);
    await t.app.gate.deny(id, 'bob', 'cleanup', { by: bob });
    // A grant made directly for alice's key (as an admin could for a rule-free action) does not cover a four-eyes call.
    const key = (await t.app.keys.list()).find((k) => k.name === 'alice-ai')!;
    await t.app.store.write((tx) => t.app.gate.standing.grants.create(tx, {
      key, tenant: key.tenants[0]!, tool: 'device_actions', action: 'reboot', draft: grant, sourceApprovalId: null, actor: 'test',
    }));
    const again = await request('under a grant');
    expect(await commands(again)).toBe(0);
    await t.app.gate.deny(again, 'bob', 'cleanup', { by: bob });
  });

  it('a vote row written into the database counts for nothing; lowering the required count shows as tampered', async () => {
    const id = await request('forged');
    await t.app.store.sql.run(`INSERT INTO approval_votes (approval_id, technician_id, technician_name, at, binding) VALUES (?, ?, 'bob', ?, ?)`,
      [id, bob.id, new Date().toISOString(), 'f'.repeat(64)]);
    expect((await t.app.fourEyes.votes(t.app.store.sql, id))).toEqual([]);
    await t.app.store.sql.run('UPDATE approvals SET approvers_required = 1 WHERE id = ?', [id]);
    expect((await t.app.approvals.get(id))!.integrity).toBe('tampered');
  });
});
