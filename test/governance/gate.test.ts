// The gate is the only door, and what runs after an approval is what the card showed: a database edited between the
// request and the click, a policy tightened meanwhile, a resource read, a bulk change split in two, the same targets
// in another order. Each case here failed before the gate owned these decisions.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, denial, structured, type ConsoleClient } from '../helpers/console.ts';
import { describeStores } from '../helpers/stores.ts';
import { changeKeyRow } from '../helpers/keyRow.ts';

describeStores('governance: gate', (store) => {
  let t: TestServer;
  let admin: ConsoleClient;
  let windows: { id: string; hostname: string }[];
  let all: { id: string; hostname: string }[];
  beforeAll(async () => {
    t = await startTestServer({ store });
    all = (await t.app.store.sql.all(`SELECT d.id, d.hostname FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' ORDER BY d.hostname`)) as typeof all;
    windows = (await t.app.store.sql.all(`SELECT d.id, d.hostname FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND d.os = 'windows' ORDER BY d.hostname`)) as typeof windows;
    admin = await consoleLogin(t.url);
  });
  afterAll(async () => { await t.close(); });

  const pendingId = (r: unknown) => {
    const s = structured<{ status: string; approvalId: string }>(r);
    expect(s.status, JSON.stringify(r).slice(0, 300)).toBe('pending_approval');
    return s.approvalId;
  };
  const count = async (sql: string, ...params: unknown[]) => ((await t.app.store.sql.get(sql, [...params])) as { n: number }).n;
  const executions = async (approvalId: string) => await count('SELECT count(*) AS n FROM executions WHERE approval_id = ?', approvalId);
  const signatures = async (approvalId: string) => await count('SELECT count(*) AS n FROM command_signatures WHERE approval_id = ?', approvalId);
  const approvalAudit = async (approvalId: string) => (await t.app.store.sql.all(`SELECT event, decision, code, rule FROM audit_log WHERE approval_id = ? ORDER BY seq`, [approvalId])) as { event: string; decision: string; code: string | null; rule: string | null }[];
  const script = async (name: string) => (await t.app.store.sql.get('SELECT id, body, sha256 FROM scripts WHERE name = ?', [name])) as { id: string; body: string; sha256: string };

  async function client(name: string, extra: Record<string, unknown> = {}): Promise<Client> {
    return t.connect('http', await t.key({ name, ...extra }));
  }

  describe('what runs is what the card showed', () => {
    it('a pending approval whose stored arguments were edited in the database is tampered: the card says so, approving runs and signs nothing', async () => {
      const c = await client('tamper-args');
      const id = pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [all[0]!.id], reason: 'args edit' } }));
      // Someone with write access to countersign.db turns the reboot into a wipe.
      (await t.app.store.sql.run(`UPDATE approvals SET args_json = replace(args_json, '"reboot"', '"wipe"'), action = 'wipe' WHERE id = ?`, [id]));
      const card = (await admin.post('/rpc/getApproval', { id })).body.result.approval;
      expect(card.integrity).toBe('tampered');
      const r = await admin.post('/rpc/approve', { id });
      expect(r.status).toBe(200);
      expect(r.body.result.approval).toMatchObject({ status: 'denied', decisionCode: 'TAMPERED' });
      expect(await executions(id)).toBe(0);
      expect(await signatures(id)).toBe(0);
      expect((await approvalAudit(id)).at(-1)).toMatchObject({ event: 'approval', decision: 'rejected', code: 'TAMPERED', rule: 'approval_binding' });
      const st = structured<{ status: string; code: string; next: unknown }>(await c.callTool({ name: 'get_approval_status', arguments: { approvalId: id } }));
      expect(st).toMatchObject({ status: 'denied', code: 'TAMPERED', next: null });
    });

    it('an edited plan (the card\'s script body) is tampered too; nothing is signed or queued', async () => {
      const c = await client('tamper-plan');
      const s = await script('Clear temp files');
      const id = pendingId(await c.callTool({ name: 'run_script', arguments: { scriptId: s.id, deviceIds: [windows[0]!.id] } }));
      (await t.app.store.sql.run(`UPDATE approvals SET detail_json = replace(detail_json, ?, ?) WHERE id = ?`, [JSON.stringify(s.body).slice(1, 20), 'Remove-Item C:\\\\ -Recurse', id]));
      expect((await admin.post('/rpc/approve', { id })).body.result.approval).toMatchObject({ status: 'denied', decisionCode: 'TAMPERED' });
      expect(await executions(id)).toBe(0);
      expect(await signatures(id)).toBe(0);
    });

    it('a library script edited (body and recorded hash) after the request is refused at approval: PLAN_CHANGED, never run', async () => {
      const c = await client('tamper-library');
      const s = await script('Get BitLocker status');
      const id = pendingId(await c.callTool({ name: 'run_script', arguments: { scriptId: s.id, deviceIds: [windows[1]!.id] } }));
      const evil = `${s.body}\nRemove-Item C:\\ -Recurse -Force`;
      (await t.app.store.sql.run('UPDATE scripts SET body = ?, sha256 = ? WHERE id = ?', [evil, createHash('sha256').update(evil).digest('hex'), s.id]));
      try {
        const r = (await admin.post('/rpc/approve', { id })).body.result.approval;
        expect(r).toMatchObject({ status: 'denied', decisionCode: 'PLAN_CHANGED' });
        expect(r.reason).toMatch(/sha256/);
        expect(await executions(id)).toBe(0);
        expect(await signatures(id)).toBe(0);
        expect((await approvalAudit(id)).at(-1)).toMatchObject({ decision: 'rejected', code: 'PLAN_CHANGED', rule: 'plan_recheck' });
      } finally {
        (await t.app.store.sql.run('UPDATE scripts SET body = ?, sha256 = ? WHERE id = ?', [s.body, s.sha256, s.id]));
      }
    });

    it('an untouched approval verifies, and runs the stored plan exactly once', async () => {
      const c = await client('untouched');
      const id = pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [all[1]!.id], reason: 'control' } }));
      expect((await admin.post('/rpc/getApproval', { id })).body.result.approval.integrity).toBe('verified');
      expect((await admin.post('/rpc/approve', { id })).body.result.approval.status).toBe('running');
      expect(await executions(id)).toBe(1);
      expect(await signatures(id)).toBe(1);
    });
  });

  describe('policy is checked again when the technician approves', () => {
    const request = async (name: string, extra: Record<string, unknown> = {}, device = all[2]!.id) => {
      const c = await client(name, extra);
      return { c, id: pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'isolate', deviceIds: [device], reason: name } })) };
    };
    const expectPolicyChanged = async (id: string, why: RegExp, c: Client) => {
      const a = (await admin.post('/rpc/approve', { id })).body.result.approval;
      expect(a).toMatchObject({ status: 'denied', decisionCode: 'POLICY_CHANGED' });
      expect(a.reason).toMatch(why);
      expect(await executions(id)).toBe(0);
      expect((await approvalAudit(id)).at(-1)).toMatchObject({ decision: 'rejected', code: 'POLICY_CHANGED', rule: 'policy_recheck' });
      // The model that asked is told why its own request did not run, also when its key no longer reaches the tenant.
      const status = await c.callTool({ name: 'get_approval_status', arguments: { approvalId: id } });
      expect(status.isError, JSON.stringify(status.content)).toBeFalsy();
      expect(structured<{ status: string; code: string }>(status)).toMatchObject({ status: 'denied', code: 'POLICY_CHANGED' });
    };

    it('the tool raised to tier 4 after the request', async () => {
      const { c, id } = await request('tier4-later');
      await t.app.policy.setOverride({ tool: 'device_actions', action: 'isolate', tier: 4 }, 'test');
      try {
        await expectPolicyChanged(id, /tier 4/, c);
      } finally {
        const o = t.app.policy.listOverrides().find((x) => x.tool === 'device_actions' && x.action === 'isolate')!;
        await t.app.policy.removeOverride(o.id, 'test');
      }
    });

    it('admin-only tier 3 switched on after a standard key asked', async () => {
      const { c, id } = await request('standard-key', { role: 'standard' });
      await t.app.policy.update({ requireExecuteAdmin: true }, 'test');
      try {
        await expectPolicyChanged(id, /admin-role/, c);
      } finally {
        await t.app.policy.update({ requireExecuteAdmin: false }, 'test');
      }
    });

    it('the execute allowlist narrowed', async () => {
      const { c, id } = await request('allowlist-later');
      await t.app.policy.update({ executeAllowlist: ['run_script'] }, 'test');
      try {
        await expectPolicyChanged(id, /allowlist/, c);
      } finally {
        await t.app.policy.update({ executeAllowlist: null }, 'test');
      }
    });

    it('the key revoked, the key expired, a tenant removed from the key', async () => {
      const revoked = await request('revoked-later');
      await t.app.keys.revoke((await t.app.keys.list()).find((k) => k.name === 'revoked-later')!.id);
      const a1 = (await admin.post('/rpc/approve', { id: revoked.id })).body.result.approval;
      expect(a1).toMatchObject({ status: 'denied', decisionCode: 'POLICY_CHANGED' });
      expect(a1.reason).toMatch(/revoked/);

      const expired = await request('expired-later');
      const expiredId = (await t.app.keys.list()).find((k) => k.name === 'expired-later')!.id;
      await changeKeyRow(t.app, expiredId, 'UPDATE api_keys SET expires_at = ? WHERE id = ?', [new Date(Date.now() - 1000).toISOString(), expiredId]);
      const a2 = (await admin.post('/rpc/approve', { id: expired.id })).body.result.approval;
      expect(a2).toMatchObject({ status: 'denied', decisionCode: 'POLICY_CHANGED' });
      expect(a2.reason).toMatch(/expired/);

      const narrowed = await request('narrowed-later', { tenants: ['acme-dental', 'globex-logistics'] });
      const keyId = (await t.app.keys.list()).find((k) => k.name === 'narrowed-later')!.id;
      await changeKeyRow(t.app, keyId, `DELETE FROM api_key_tenants WHERE key_id = ? AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme-dental')`, [keyId]);
      // Its open session sees the narrowed key too (as after a restart, or a change another process made).
      t.app.keys.invalidate();
      await expectPolicyChanged(narrowed.id, /no longer reaches tenant acme-dental/, narrowed.c);
      // Told what became of its request, and nothing of the tenant's devices.
      const seen = structured<{ result: unknown; executions: unknown[]; message: string }>(await narrowed.c.callTool({ name: 'get_approval_status', arguments: { approvalId: narrowed.id } }));
      expect(seen).toMatchObject({ result: null, executions: [], commands: {}, next: null });
      expect(seen.message).toMatch(/^This key no longer reaches tenant acme-dental: the request is denied/);
      expect(await executions(revoked.id) + await executions(expired.id)).toBe(0);
    });
  });

  describe('resources are reads through the gate', () => {
    it('a resource read is audited, spends the read budget, and honours overrides of the tool it mirrors', async () => {
      const c = await client('resource-reader', { scopes: ['ai:read'], readPerMinute: 3 });
      const before = await count(`SELECT count(*) AS n FROM audit_log WHERE tool = 'list_devices' AND key_name = 'resource-reader'`);
      const r = await c.readResource({ uri: 'countersign://devices' });
      const body = JSON.parse((r.contents[0] as { text: string }).text) as { devices: unknown[]; total: number };
      expect(body.devices.length).toBeGreaterThan(0);
      const entries = (await t.app.store.sql.all(`SELECT decision, detail_json FROM audit_log WHERE tool = 'list_devices' AND key_name = 'resource-reader' ORDER BY seq`)) as { decision: string; detail_json: string }[];
      expect(entries.length - before).toBe(1);
      expect(JSON.parse(entries.at(-1)!.detail_json)).toEqual({ kind: 'resource', uri: 'countersign://devices' });
      // Two more reads spend the budget of 3; the fourth is refused and audited as throttled.
      await c.readResource({ uri: 'countersign://scripts' });
      await c.readResource({ uri: 'countersign://alerts/active' });
      await expect(c.readResource({ uri: 'countersign://devices' })).rejects.toThrow(/read budget/);
      expect(await count(`SELECT count(*) AS n FROM audit_log WHERE key_name = 'resource-reader' AND decision = 'throttled'`)).toBe(1);
    });

    it('an override that takes list_devices out of a read key\'s reach takes countersign://devices with it', async () => {
      const c = await client('resource-override', { scopes: ['ai:read'] });
      await t.app.policy.setOverride({ tool: 'list_devices', tier: 2 }, 'test');
      try {
        await expect(c.readResource({ uri: 'countersign://devices' })).rejects.toThrow(/tier 2/);
        const one = await c.readResource({ uri: `countersign://devices/${all[0]!.id}` });
        expect((one.contents[0] as { text: string }).text).toContain(all[0]!.hostname);
      } finally {
        const o = t.app.policy.listOverrides().find((x) => x.tool === 'list_devices')!;
        await t.app.policy.removeOverride(o.id, 'test');
      }
    });
  });

  describe('bulk escalation counts over a window, not per call', () => {
    it('10 devices and then 1 more in a second call: the second needs approval', async () => {
      const acme = ((await t.app.store.sql.get(`SELECT id FROM tenants WHERE slug = 'acme-dental'`)) as { id: string }).id;
      const now = new Date().toISOString();
      const ids = Array.from({ length: 11 }, () => randomUUID());
      for (const [i, id] of ids.entries()) {
        await t.app.store.sql.run(`INSERT INTO devices (id, tenant_id, hostname, os, os_version, status, compliance, isolated, last_seen_at, hardware_json, enrolled_at)
          VALUES (?, ?, ?, 'windows', '11', 'online', 'compliant', 0, ?, '{}', ?)`, [id, acme, `BULK-${String(i).padStart(2, '0')}`, now, now]);
      }
      const c = await client('bulk-window', { scopes: ['ai:read', 'ai:write', 'ai:execute'] });
      const first = await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: ids.slice(0, 10) } });
      expect(first.isError).toBeFalsy();
      expect(structured<{ commands: unknown[] }>(first).commands).toHaveLength(10);
      const second = await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: ids.slice(10) } });
      const id = pendingId(second);
      const card = (await admin.post('/rpc/getApproval', { id })).body.result.approval;
      expect(card.view.bulkEscalated).toBe(true);
      expect(card.detail.bulkWindow).toMatchObject({ devices: 11, threshold: 10, thisCall: 1 });
      // Another key's changes do not count toward this key's window.
      const other = await client('bulk-other', { scopes: ['ai:read', 'ai:write'] });
      expect((await other.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [ids[10]!] } })).isError).toBeFalsy();
    });
  });

  describe('canonical digests', () => {
    it('the same targets reordered or repeated are one card, approved and run once', async () => {
      const c = await client('canonical');
      const [a, b] = [windows[0]!.id, windows[1]!.id];
      const s = await script('Clear temp files');
      const id1 = pendingId(await c.callTool({ name: 'run_script', arguments: { scriptId: s.id, deviceIds: [a, b] } }));
      const id2 = pendingId(await c.callTool({ name: 'run_script', arguments: { scriptId: s.id, deviceIds: [b, a] } }));
      const id3 = pendingId(await c.callTool({ name: 'run_script', arguments: { scriptId: s.id, deviceIds: [b, a, b, a] } }));
      expect(new Set([id1, id2, id3]).size).toBe(1);
      expect((await admin.post('/rpc/approve', { id: id1 })).body.result.approval.status).toBe('running');
      expect(await count('SELECT count(*) AS n FROM device_commands c JOIN executions e ON e.id = c.execution_id WHERE e.approval_id = ?', id1)).toBe(2);
    });

    it('a duplicated id on a tier-2 call changes each device once', async () => {
      const c = await client('canonical-lock', { scopes: ['ai:read', 'ai:write'] });
      const r = structured<{ commands: { deviceId: string }[] }>(await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [all[3]!.id, all[3]!.id] } }));
      expect(r.commands.map((x) => x.deviceId)).toEqual([all[3]!.id]);
    });
  });

  describe('refusals go through the gate too', () => {
    it('an unknown tool and invalid arguments spend the budget: throttling comes before validation', async () => {
      const c = await client('bad-caller', { scopes: ['ai:read'], readPerMinute: 2 });
      expect(denial(await c.callTool({ name: 'no_such_tool', arguments: {} })).code).toBe('UNKNOWN_TOOL');
      expect(denial(await c.callTool({ name: 'list_devices', arguments: { limit: 'many' } })).code).toBe('INVALID_ARGUMENTS');
      expect(denial(await c.callTool({ name: 'list_devices', arguments: {} })).code).toBe('RATE_LIMITED');
    });
  });
});
