import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { consoleLogin, denial, structured, type ConsoleClient } from '../helpers/console.ts';
import { callTool } from '../helpers/gate.ts';
import { approvalOutcome } from '../../src-main/mcp/results.ts';
import { describeStores } from '../helpers/stores.ts';
import { until } from '../helpers/wait.ts';

describeStores('governance: approvals', (store) => {
  let t: TestServer;
  let devices: { id: string; hostname: string }[];
  let admin: ConsoleClient;
  beforeAll(async () => {
    t = await startTestServer({ store });
    devices = (await t.app.store.sql.all(`SELECT d.id, d.hostname FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' ORDER BY d.hostname`)) as { id: string; hostname: string }[];
    admin = await consoleLogin(t.url);
  });
  afterAll(async () => { await t.close(); });

  type Pending = { status: string; approvalId: string; expiresAt: string; summary: string };
  const pending = (r: unknown) => structured<Pending>(r);
  const commandsOf = async (approvalId: string) =>
    (await t.app.store.sql.all(`SELECT c.status, c.device_id FROM device_commands c JOIN executions e ON e.id = c.execution_id WHERE e.approval_id = ?`, [approvalId])) as { status: string; device_id: string }[];

  describe.each(TRANSPORTS)('tier-3 approval lifecycle over %s', (kind) => {
    it('returns pending at once, dedupes identical calls, executes exactly the stored arguments once on approval', async () => {
      const c = await t.connect(kind, await t.key());
      const args = { action: 'reboot', deviceIds: [devices[0]!.id, devices[1]!.id], reason: `patch follow-up ${kind}` };
      const r1 = await c.callTool({ name: 'device_actions', arguments: args });
      expect(r1.isError).toBeFalsy();
      const p1 = pending(r1);
      expect(p1.status).toBe('pending_approval');
      expect(p1.summary).toContain(devices[0]!.hostname);
      expect(await commandsOf(p1.approvalId)).toHaveLength(0);

      const r2 = await c.callTool({ name: 'device_actions', arguments: args });
      expect(pending(r2).approvalId).toBe(p1.approvalId);
      const r3 = await c.callTool({ name: 'device_actions', arguments: { ...args, deviceIds: [devices[0]!.id] } });
      expect(pending(r3).approvalId).not.toBe(p1.approvalId);

      const queue = await admin.get('/approvals?status=pending');
      expect(queue.body.approvals.map((a: { id: string }) => a.id)).toContain(p1.approvalId);
      const card = queue.body.approvals.find((a: { id: string }) => a.id === p1.approvalId);
      expect(card.detail.devices.map((d: { hostname: string }) => d.hostname)).toEqual([devices[0]!.hostname, devices[1]!.hostname]);

      const approved = await admin.post(`/approvals/${p1.approvalId}/approve`);
      expect(approved.status).toBe(200);
      expect(approved.body.approval.status).toBe('running');
      expect((await commandsOf(p1.approvalId)).map((x) => x.device_id).sort()).toEqual([devices[0]!.id, devices[1]!.id].sort());
      const again = await admin.post(`/approvals/${p1.approvalId}/approve`);
      expect(again.status).toBe(409);
      expect(await commandsOf(p1.approvalId)).toHaveLength(2);

      const status = await c.callTool({ name: 'get_approval_status', arguments: { approvalId: p1.approvalId } });
      const s = status.structuredContent as { status: string; result: { executionId: string; commands: unknown[] }; commands: Record<string, number> };
      expect(s.status).toBe('running');
      expect(s.result.commands).toHaveLength(2);
      expect(s.commands).toEqual({ queued: 2 });
      await admin.post(`/approvals/${pending(r3).approvalId}/deny`, { reason: 'cleanup' });
    });

    it('a denial reason reaches the model', async () => {
      const c = await t.connect(kind, await t.key());
      const p = pending(await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [devices[2]!.id] } }));
      expect((await admin.post(`/approvals/${p.approvalId}/deny`, {})).status).toBe(400);
      const denied = await admin.post(`/approvals/${p.approvalId}/deny`, { reason: 'Front desk is open until 6pm; not now.' });
      expect(denied.body.approval.status).toBe('denied');
      const st = await c.callTool({ name: 'get_approval_status', arguments: { approvalId: p.approvalId } });
      expect(structured<{ status: string; reason: string }>(st).reason).toBe('Front desk is open until 6pm; not now.');
      expect(await commandsOf(p.approvalId)).toHaveLength(0);
      expect((await admin.post(`/approvals/${p.approvalId}/approve`)).status).toBe(409);
    });

    it('another key cannot see or cancel the approval; the requester can cancel', async () => {
      const c = await t.connect(kind, await t.key());
      const other = await t.connect(kind, await t.key());
      const p = pending(await c.callTool({ name: 'device_actions', arguments: { action: 'isolate', deviceIds: [devices[3]!.id] } }));
      expect(denial(await other.callTool({ name: 'get_approval_status', arguments: { approvalId: p.approvalId } })).code).toBe('NOT_FOUND');
      expect(denial(await other.callTool({ name: 'cancel_approval', arguments: { approvalId: p.approvalId } })).code).toBe('NOT_FOUND');
      const cancelled = await c.callTool({ name: 'cancel_approval', arguments: { approvalId: p.approvalId } });
      expect(structured<{ status: string }>(cancelled).status).toBe('cancelled');
      expect((await admin.post(`/approvals/${p.approvalId}/approve`)).status).toBe(409);
    });

    it('with a progressToken the call is held and returns the real result when approved in time', async () => {
      const c = await t.connect(kind, await t.key());
      const progress: number[] = [];
      const call = c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [devices[4]!.id] } }, undefined, { onprogress: (p) => progress.push(p.progress) });
      const id = await until('the held call\'s pending approval', async () =>
        (await admin.get('/approvals?status=pending')).body.approvals.find((a: { detail: { devices: { id: string }[] } }) => a.detail.devices[0]?.id === devices[4]!.id)?.id as string | undefined, 5_000, 20);
      await admin.post(`/approvals/${id}/approve`);
      const r = await call;
      expect(r.isError).toBeFalsy();
      expect(structured<{ action: string; commands: unknown[] }>(r).commands).toHaveLength(1);
      expect(progress.length).toBeGreaterThanOrEqual(1);
    });
  });

  describe('durability and expiry', () => {
    it('pending approvals survive a restart and can be approved after it', async () => {
      const s = await startTestServer({ store });
      try {
        const key = await s.key();
        const dev = ((await s.app.store.sql.get(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`)) as { id: string }).id;
        const c = await s.connect('http', key);
        const p = pending(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev] } }));
        await s.restart();
        const con = await consoleLogin(s.url);
        expect((await con.get('/approvals?status=pending')).body.approvals.map((a: { id: string }) => a.id)).toEqual([p.approvalId]);
        expect((await con.post(`/approvals/${p.approvalId}/approve`)).body.approval.status).toBe('running');
        const c2 = await s.connect('sse', key);
        expect(structured<{ status: string }>((await c2.callTool({ name: 'get_approval_status', arguments: { approvalId: p.approvalId } }))).status).toBe('running');
      } finally {
        await s.close();
      }
    });

    it('an expired request fails closed: it cannot be approved and the model is told', async () => {
      const s = await startTestServer({ store });
      try {
        const dev = ((await s.app.store.sql.get(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`)) as { id: string }).id;
        const c = await s.connect('http', await s.key());
        const p = pending(await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [dev] } }));
        (await s.app.store.sql.run(`UPDATE approvals SET expires_at = ? WHERE id = ?`, [new Date(Date.now() - 1000).toISOString(), p.approvalId]));
        const con = await consoleLogin(s.url);
        expect((await con.post(`/approvals/${p.approvalId}/approve`)).status).toBe(410);
        const st = await c.callTool({ name: 'get_approval_status', arguments: { approvalId: p.approvalId } });
        expect(structured<{ status: string }>(st).status).toBe('expired');
        expect((await s.app.store.sql.get(`SELECT count(*) AS n FROM executions WHERE approval_id = ?`, [p.approvalId]))).toEqual({ n: 0 });
        const audited = (await s.app.store.sql.all(`SELECT code FROM audit_log WHERE approval_id = ? AND event = 'approval'`, [p.approvalId]));
        expect(audited).toEqual([{ code: 'APPROVAL_EXPIRED' }]);
        // The held-call path reports expiry as a denial code.
        expect(denial(approvalOutcome((await s.app.approvals.get(p.approvalId))!)).code).toBe('APPROVAL_EXPIRED');
      } finally {
        await s.close();
      }
    });

    it('a key revoked before approval runs nothing', async () => {
      const s = await startTestServer({ store });
      try {
        const dev = ((await s.app.store.sql.get(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`)) as { id: string }).id;
        const c = await s.connect('http', await s.key({ name: 'soon-revoked' }));
        const p = pending(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev] } }));
        await s.app.keys.revoke((await s.app.keys.list()).find((k) => k.name === 'soon-revoked')!.id);
        const con = await consoleLogin(s.url);
        // The policy is re-checked when the technician approves: the request ends denied, POLICY_CHANGED, with the reason.
        const decided = (await con.post(`/approvals/${p.approvalId}/approve`)).body.approval;
        expect(decided).toMatchObject({ status: 'denied', decisionCode: 'POLICY_CHANGED' });
        expect(decided.reason).toMatch(/revoked/);
        expect((await s.app.store.sql.get(`SELECT count(*) AS n FROM executions WHERE approval_id = ?`, [p.approvalId]))).toEqual({ n: 0 });
      } finally {
        await s.close();
      }
    });
  });

  describe('the approval list', () => {
    it('pages through requests created in the same millisecond without skipping or repeating one', async () => {
      const key = await t.key({ name: 'same-ms' });
      const check = (await t.app.keys.check(key));
      if (!check.ok) throw new Error('key');
      const ids: string[] = [];
      for (const d of devices.slice(0, 5)) {
        const r = await callTool(t.app, 'device_actions', { action: 'shutdown', deviceIds: [d.id], reason: 'same ms' }, { key: check.key });
        ids.push(pending(r).approvalId);
      }
      // Five requests stamped with one instant, as a burst on a coarse clock would be.
      const stamp = '2030-01-01T00:00:00.000Z';
      for (const id of ids) await t.app.store.sql.run('UPDATE approvals SET created_at = ? WHERE id = ?', [stamp, id]);
      const seen: string[] = [];
      let before: string | undefined = '2030-01-01T00:00:00.001Z';
      for (let page = 0; page < 10 && before; page++) {
        const r = await admin.post('/rpc/listApprovals', { status: ['pending'], limit: 2, before });
        expect(r.status).toBe(200);
        seen.push(...r.body.result.approvals.map((a: { id: string }) => a.id).filter((id: string) => ids.includes(id)));
        before = r.body.result.nextBefore ?? undefined;
      }
      expect(seen.sort()).toEqual([...ids].sort());
      // A malformed cursor is a client mistake: 400, not a 5xx.
      expect((await admin.post('/rpc/listApprovals', { before: 'yesterday/../../etc' })).status).toBe(400);
    });
  });
});
