import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { denial, structured } from '../helpers/console.ts';
import { describeStores } from '../helpers/stores.ts';

describeStores('governance: denials', (store) => {
  let t: TestServer;
  let globexDevice: string;
  let acmeDevices: string[];
  beforeAll(async () => {
    t = await startTestServer({ store });
    const rows = (await t.app.store.sql.all(`SELECT d.id, t.slug FROM devices d JOIN tenants t ON t.id = d.tenant_id ORDER BY d.hostname`)) as { id: string; slug: string }[];
    globexDevice = rows.find((r) => r.slug === 'globex-logistics')!.id;
    acmeDevices = rows.filter((r) => r.slug === 'acme-dental').map((r) => r.id);
  });
  afterAll(async () => { await t.close(); });

  const auditCodes = async (code: string) =>
    ((await t.app.store.sql.get(`SELECT count(*) AS n FROM audit_log WHERE event = 'tool_call' AND code = ?`, [code])) as { n: number }).n;

  describe.each(TRANSPORTS)('denials over %s', (kind) => {
    it('TIER4_BLOCKED: wipe never runs, even for an admin execute key', async () => {
      const c = await t.connect(kind, await t.key());
      const before = await auditCodes('TIER4_BLOCKED');
      const d = denial(await c.callTool({ name: 'device_actions', arguments: { action: 'wipe', deviceIds: [acmeDevices[0]] } }));
      expect(d.code).toBe('TIER4_BLOCKED');
      expect(await auditCodes('TIER4_BLOCKED')).toBe(before + 1);
      const cmds = (await t.app.store.sql.get(`SELECT count(*) AS n FROM device_commands WHERE payload_json LIKE '%wipe%'`)) as { n: number };
      expect(cmds.n).toBe(0);
    });

    it('SCOPE_DENIED: a read key cannot lock', async () => {
      const c = await t.connect(kind, await t.key({ scopes: ['ai:read'] }));
      const d = denial(await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [acmeDevices[0]] } }));
      expect(d.code).toBe('SCOPE_DENIED');
      expect(d.message).toMatch(/ai:write/);
    });

    it('TENANT_DENIED: naming a tenant outside the key', async () => {
      const c = await t.connect(kind, await t.key());
      const d = denial(await c.callTool({ name: 'list_devices', arguments: { tenant: 'globex-logistics' } }));
      expect(d.code).toBe('TENANT_DENIED');
      const d2 = denial(await c.callTool({ name: 'list_devices', arguments: { tenant: 'no-such-tenant' } }));
      expect(d2.code).toBe('TENANT_DENIED');
      expect(d2.message.replace('no-such-tenant', 'X')).toBe(d.message.replace('globex-logistics', 'X'));
    });

    it('foreign and unknown ids answer the same NOT_FOUND, and the foreign one is audited as denied', async () => {
      const c = await t.connect(kind, await t.key());
      const foreign = denial(await c.callTool({ name: 'get_device_details', arguments: { deviceId: globexDevice } }));
      const unknown = denial(await c.callTool({ name: 'get_device_details', arguments: { deviceId: '00000000-0000-4000-8000-000000000000' } }));
      expect(foreign.code).toBe('NOT_FOUND');
      expect(foreign.message.replace(globexDevice, 'X')).toBe(unknown.message.replace('00000000-0000-4000-8000-000000000000', 'X'));
      const row = (await t.app.store.sql.get(`SELECT decision, rule, outcome FROM audit_log WHERE tool = 'get_device_details' AND outcome LIKE '%another tenant%' ORDER BY seq DESC LIMIT 1`)) as { decision: string; rule: string };
      expect(row).toMatchObject({ decision: 'denied', rule: 'tenant_isolation' });
    });

    it('INVALID_ARGUMENTS names the bad field', async () => {
      const c = await t.connect(kind, await t.key());
      const d = denial(await c.callTool({ name: 'list_devices', arguments: { limit: 1000 } }));
      expect(d.code).toBe('INVALID_ARGUMENTS');
      expect(d.message).toMatch(/limit/);
    });

    it('RATE_LIMITED carries retryAfterSeconds, separately for read and write budgets', async () => {
      const c = await t.connect(kind, await t.key({ readPerMinute: 2, writePerMinute: 1 }));
      await c.callTool({ name: 'list_devices', arguments: {} });
      await c.callTool({ name: 'list_devices', arguments: {} });
      const d = denial(await c.callTool({ name: 'list_devices', arguments: {} }));
      expect(d.code).toBe('RATE_LIMITED');
      expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      // the write budget is untouched by reads
      const lock = await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [acmeDevices[1]] } });
      expect(lock.isError).toBeFalsy();
      expect(denial(await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [acmeDevices[1]] } })).code).toBe('RATE_LIMITED');
      const throttled = (await t.app.store.sql.get(`SELECT count(*) AS n FROM audit_log WHERE decision = 'throttled' AND code = 'RATE_LIMITED'`)) as { n: number };
      expect(throttled.n).toBeGreaterThanOrEqual(2);
    });
  });

  describe('policy switches from the environment', () => {
    it('EXECUTE_ADMIN_REQUIRED and NOT_ALLOWLISTED', async () => {
      const s = await startTestServer({ store, env: { MCP_REQUIRE_EXECUTE_ADMIN: 'true', MCP_EXECUTE_TOOL_ALLOWLIST: 'run_script' } });
      try {
        const device = ((await s.app.store.sql.get(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`)) as { id: string }).id;
        const standard = await s.connect('http', await s.key({ role: 'standard' }));
        expect(denial(await standard.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device] } })).code).toBe('EXECUTE_ADMIN_REQUIRED');
        const admin = await s.connect('http', await s.key({ role: 'admin' }));
        expect(denial(await admin.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device] } })).code).toBe('NOT_ALLOWLISTED');
        // tier 2 is untouched by tier-3 switches
        expect((await standard.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [device] } })).isError).toBeFalsy();
        const pinned = s.app.policy.get().pinned;
        expect(pinned).toMatchObject({ requireExecuteAdmin: 'MCP_REQUIRE_EXECUTE_ADMIN', executeAllowlist: 'MCP_EXECUTE_TOOL_ALLOWLIST' });
        await expect(s.app.policy.update({ requireExecuteAdmin: false }, 'test')).rejects.toThrow(/pinned/);
      } finally {
        await s.close();
      }
    });
  });

  describe('tools/list shows a key only what it can call', () => {
    const actionEnum = (tools: { name: string; inputSchema: any }[]) => tools.find((x) => x.name === 'device_actions')?.inputSchema.properties.action.enum;

    it('trims blocked actions from the enum per scope, and never lists wipe', async () => {
      const read = await (await t.connect('http', await t.key({ scopes: ['ai:read'] }))).listTools();
      const write = await (await t.connect('http', await t.key({ scopes: ['ai:write'] }))).listTools();
      const exec = await (await t.connect('http', await t.key({ scopes: ['ai:execute'] }))).listTools();
      expect(actionEnum(read.tools)).toBeUndefined();
      expect(actionEnum(write.tools)).toEqual(['lock']);
      expect(actionEnum(exec.tools)).toEqual(['lock', 'reboot', 'shutdown', 'isolate']);
      expect(read.tools.every((x) => x.name !== 'device_actions')).toBe(true);
      for (const tool of exec.tools) {
        expect(tool.title).toBeTruthy();
        expect(tool.outputSchema?.type).toBe('object');
        if (tool.annotations?.readOnlyHint) expect(tool.annotations.destructiveHint).toBe(false);
      }
    });

    it('a tier override raises a tool out of a key\'s reach', async () => {
      const s = await startTestServer({ store });
      try {
        await s.app.policy.setOverride({ tool: 'list_devices', tier: 3 }, 'test');
        const c = await s.connect('http', await s.key({ scopes: ['ai:write'] }));
        expect((await c.listTools()).tools.map((x) => x.name)).not.toContain('list_devices');
        expect(denial(await c.callTool({ name: 'list_devices', arguments: {} })).code).toBe('SCOPE_DENIED');
        const e = await s.connect('http', await s.key({ scopes: ['ai:execute'] }));
        const r = await e.callTool({ name: 'list_devices', arguments: {} });
        expect(structured<{ status: string }>(r).status).toBe('pending_approval');
      } finally {
        await s.close();
      }
    });
  });
});
