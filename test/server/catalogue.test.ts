// Every tool over both transports through the real SDK client, which also validates structuredContent
// against the advertised outputSchema; plus resources and prompts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { structured } from '../helpers/console.ts';
import { callTool } from '../helpers/gate.ts';

let t: TestServer;
let ids: { device: string; device2: string; alert: string; alert2: string; patch: string; script: string; incident: string };
beforeAll(async () => {
  t = await startTestServer();
  const db = t.app.db;
  const acme = (db.prepare(`SELECT id FROM tenants WHERE slug = 'acme-dental'`).get() as { id: string }).id;
  const one = (sql: string) => (db.prepare(sql).get(acme) as { id: string }).id;
  const devices = db.prepare(`SELECT id FROM devices WHERE tenant_id = ? AND os = 'windows' ORDER BY hostname`).all(acme) as { id: string }[];
  const alerts = db.prepare(`SELECT id FROM alerts WHERE tenant_id = ? AND status = 'active' ORDER BY id`).all(acme) as { id: string }[];
  ids = {
    device: devices[0]!.id, device2: devices[1]!.id, alert: alerts[0]!.id, alert2: alerts[1]!.id,
    patch: (db.prepare(`SELECT p.id FROM device_patches dp JOIN patches p ON p.id = dp.patch_id WHERE dp.device_id = ? AND dp.state = 'missing' LIMIT 1`).get(devices[0]!.id) as { id: string }).id,
    script: (db.prepare(`SELECT id FROM scripts WHERE tenant_id IS NULL AND language = 'powershell' LIMIT 1`).get() as { id: string }).id,
    incident: one(`SELECT id FROM incidents WHERE tenant_id = ? LIMIT 1`),
  };
});
afterAll(async () => { await t.close(); });

const EXPECTED_TOOLS = [
  'list_devices', 'get_device_details', 'device_actions', 'get_alerts', 'acknowledge_alerts', 'resolve_alerts', 'get_patch_status', 'deploy_patches',
  'run_script', 'get_script_results', 'generate_report', 'get_report_status', 'create_runbook', 'add_incident_note', 'create_change_log',
  'fleet_health_check', 'compliance_summary', 'list_scripts', 'get_documents', 'upgrade_agent', 'propose_plan', 'get_approval_status', 'cancel_approval', 'whoami',
];

describe.each(TRANSPORTS)('the whole catalogue over %s', (kind) => {
  it('lists every tool with title, annotations and schemas for an all-scope key', async () => {
    const c = await t.connect(kind, await t.key());
    const { tools } = await c.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual([...EXPECTED_TOOLS].sort());
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.annotations, tool.name).toBeDefined();
    }
    const ann = Object.fromEntries(tools.map((x) => [x.name, x.annotations!]));
    for (const writer of ['create_runbook', 'add_incident_note', 'create_change_log']) expect(ann[writer]).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    for (const t3 of ['run_script', 'deploy_patches', 'device_actions']) expect(ann[t3]).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(ann.list_devices).toMatchObject({ readOnlyHint: true, idempotentHint: true });
    const runScript = tools.find((x) => x.name === 'run_script')!;
    expect((runScript.inputSchema.properties as Record<string, { maxItems?: number }>).deviceIds!.maxItems).toBe(50);
  });

  it('calls every tool; results validate against the advertised output schemas', async () => {
    const c = await t.connect(kind, await t.key());
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await c.callTool({ name, arguments: args });
      expect(r.isError, `${name}: ${JSON.stringify(r.content).slice(0, 300)}`).toBeFalsy();
      expect((r.content as { type: string; text: string }[])[0]!.type).toBe('text');
      return structured<Record<string, any>>(r);
    };
    expect((await call('list_devices', { os: 'windows', limit: 2 })).devices).toHaveLength(2);
    expect((await call('get_device_details', { deviceId: ids.device })).device.id).toBe(ids.device);
    expect((await call('device_actions', { action: 'lock', deviceIds: [ids.device] })).commands).toHaveLength(1);
    expect((await call('device_actions', { action: 'reboot', deviceIds: [ids.device] })).status).toBe('pending_approval');
    expect((await call('get_alerts', { severity: 'critical' })).alerts.every((a: { severity: string }) => a.severity === 'critical')).toBe(true);
    await call('acknowledge_alerts', { alertIds: [ids.alert] });
    await call('resolve_alerts', { alertIds: [ids.alert2], resolutionNote: `cleared disk on ${kind}` });
    expect((await call('get_alerts', { status: 'resolved', limit: 100 })).alerts.map((a: { id: string }) => a.id)).toContain(ids.alert2);
    expect((await call('get_patch_status', { deviceId: ids.device })).total).toBeGreaterThan(0);
    const deploy = await call('deploy_patches', { deviceIds: [ids.device], patchIds: [ids.patch] });
    expect(deploy.status).toBe('pending_approval');
    const run = await call('run_script', { scriptId: ids.script, deviceIds: [ids.device, ids.device2] });
    expect(run.status).toBe('pending_approval');
    const lock = await call('device_actions', { action: 'lock', deviceIds: [ids.device2] });
    expect((await call('get_script_results', { executionId: lock.executionId })).commands).toHaveLength(1);
    const report = await call('generate_report', { tenant: 'acme-dental', type: 'inventory', format: 'csv' });
    await t.app.reports.wait(report.reportId);
    const status = await call('get_report_status', { reportId: report.reportId });
    expect(status).toMatchObject({ state: 'completed', progress: 100 });
    expect(status.file.sizeBytes).toBeGreaterThan(100);
    const rb = await call('create_runbook', { tenant: 'acme-dental', title: 'Printer jam', body: '1. Open tray B', deviceIds: [ids.device] });
    await call('add_incident_note', { incidentId: ids.incident, body: 'Spoke with office manager' });
    await call('create_change_log', { title: 'Raised spooler timeout', description: 'Per vendor KB', changeType: 'configuration', before: '30s', after: '90s', deviceIds: [ids.device] });
    const docs = await call('get_documents', { tenant: 'acme-dental', limit: 100 });
    expect(docs.documents.map((d: { id: string }) => d.id)).toContain(rb.documentId ?? rb.id);
    expect((await call('fleet_health_check', {})).tenants).toBeDefined();
    expect(await call('compliance_summary', { tenant: 'acme-dental' })).toBeDefined();
    expect((await call('list_scripts', { language: 'bash' })).scripts.every((s: { language: string }) => s.language === 'bash')).toBe(true);
    expect((await call('get_approval_status', { approvalId: run.approvalId })).status).toBe('pending');
    expect((await call('cancel_approval', { approvalId: deploy.approvalId })).status).toBe('cancelled');
    expect((await call('whoami', {})).reachableTiers).toEqual([1, 2, 3]);
  });

  it('serves resources of the key\'s tenants and prompts naming only callable tools', async () => {
    const c = await t.connect(kind, await t.key({ scopes: ['ai:read'] }));
    const { resources } = await c.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(['countersign://alerts/active', 'countersign://devices', 'countersign://scripts']);
    const devices = JSON.parse(((await c.readResource({ uri: 'countersign://devices' })).contents[0] as { text: string }).text);
    expect(devices.total).toBe(12);
    expect(new Set(devices.devices.map((d: { tenant: string }) => d.tenant))).toEqual(new Set(['acme-dental']));
    const { prompts } = await c.listPrompts();
    // Every prompt's first tool is a read, which any key can call; the steps are what a key's scopes narrow.
    expect(prompts.map((p) => p.name).sort()).toEqual(['fleet-briefing', 'patch-plan', 'triage-alerts']);
    for (const p of prompts) expect(p.arguments).toEqual([{ name: 'tenant', description: 'Tenant slug (optional)', required: false }]);
    await expect(c.getPrompt({ name: 'nothing', arguments: {} })).rejects.toThrow('Prompt "nothing" not found');
    await expect(c.getPrompt({ name: 'triage-alerts', arguments: { tenant: 5 as unknown as string } })).rejects.toThrow(/-32602.*Invalid params for prompts\/get: arguments.tenant/);
    const triage = await c.getPrompt({ name: 'triage-alerts', arguments: {} });
    const text = (triage.messages[0]!.content as { text: string }).text;
    expect(text).toContain('get_alerts');
    expect(text).not.toContain('acknowledge_alerts');
    expect(text).not.toContain('deploy_patches');
    const ping = await c.ping();
    expect(ping).toEqual({});
    await c.setLoggingLevel('warning');
  });
});

// A tool declared read-only runs over a handle that refuses writing statements, outside the write transaction;
// its audit row is the call's only write. Every such tool runs here, with the rows it reads present.
describe('read-only tools', () => {
  it('are exactly the readOnlyHint tools, and write nothing: the change counter moves by their audit row alone', async () => {
    const secret = await t.key({ name: 'read-only-check' });
    const key = (await t.app.keys.check(secret));
    if (!key.ok) throw new Error('key');
    const made = async (name: string, args: Record<string, unknown>) => structured<Record<string, string>>(await callTool(t.app, name, args, { key: key.key }));
    const lock = await made('device_actions', { action: 'lock', deviceIds: [ids.device2] });
    const report = await made('generate_report', { tenant: 'acme-dental', type: 'inventory', format: 'csv' });
    await t.app.reports.wait(report.reportId!);
    const approval = await made('device_actions', { action: 'reboot', deviceIds: [ids.device2] });
    const args: Record<string, Record<string, unknown>> = {
      list_devices: { os: 'windows', search: 'a', limit: 5 }, get_device_details: { deviceId: ids.device }, get_alerts: { severity: 'critical' },
      get_patch_status: { deviceId: ids.device }, get_script_results: { executionId: lock.executionId }, get_report_status: { reportId: report.reportId },
      get_documents: { tenant: 'acme-dental' }, fleet_health_check: {}, compliance_summary: { tenant: 'acme-dental' }, list_scripts: {},
      get_approval_status: { approvalId: approval.approvalId }, whoami: {},
    };
    const catalogue = t.app.gate.catalogue();
    for (const tool of catalogue) expect(tool.access === 'read', `${tool.name}: access vs readOnlyHint`).toBe(tool.annotations.readOnlyHint);
    const tools = catalogue.filter((x) => x.access === 'read');
    expect(tools.map((x) => x.name).sort()).toEqual(Object.keys(args).sort());
    const changes = t.app.db.prepare('SELECT total_changes()').pluck();
    for (const tool of tools) {
      const before = changes.get() as number;
      const r = await callTool(t.app, tool.name, args[tool.name], { key: key.key });
      expect(r.isError, `${tool.name}: ${JSON.stringify(r.content).slice(0, 300)}`).toBeFalsy();
      // One row: its audit entry (the key's call count is written once per batch, with it).
      expect((changes.get() as number) - before, tool.name).toBeLessThanOrEqual(2);
      expect(tool.output.safeParse(r.structuredContent).success, tool.name).toBe(true);
    }
  });
});
