// Every id-taking tool, called by an acme-only key with ids that belong to globex: the same NOT_FOUND as an
// unknown id, a denied audit entry naming tenant isolation, and no state change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { denial, structured } from '../helpers/console.ts';
import { describeStores } from '../helpers/stores.ts';

describeStores('governance: tenantIsolation', (store) => {
  let t: TestServer;
  const foreign: Record<string, string> = {};
  const own: Record<string, string> = {};
  beforeAll(async () => {
    t = await startTestServer({ store });
    const db = t.app.store.sql;
    const tenantId = async (slug: string) => (await db.get<{ id: string }>('SELECT id FROM tenants WHERE slug = ?', [slug]))!.id;
    const g = await tenantId('globex-logistics');
    const a = await tenantId('acme-dental');
    const pick = async (sql: string, tid: string) => (await db.get<{ id: string }>(sql, [tid]))!.id;
    for (const [bag, tid] of [[foreign, g], [own, a]] as const) {
      bag.device = await pick(`SELECT id FROM devices WHERE tenant_id = ? ORDER BY hostname LIMIT 1`, tid);
      bag.alert = await pick(`SELECT id FROM alerts WHERE tenant_id = ? AND status = 'active' LIMIT 1`, tid);
      bag.incident = await pick(`SELECT id FROM incidents WHERE tenant_id = ? LIMIT 1`, tid);
    }
    foreign.script = await pick(`SELECT id FROM scripts WHERE tenant_id = ? LIMIT 1`, g);
    // Things only a globex key can create: an execution, a report, a document and an approval.
    const gx = await t.connect('http', await t.key({ tenants: ['globex-logistics'], name: 'globex' }));
    foreign.execution = structured<{ executionId: string }>(await gx.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [foreign.device] } })).executionId;
    foreign.report = structured<{ reportId: string }>(await gx.callTool({ name: 'generate_report', arguments: { tenant: 'globex-logistics', type: 'security', format: 'html' } })).reportId;
    foreign.approval = structured<{ approvalId: string }>(await gx.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [foreign.device] } })).approvalId;
    const doc = structured<Record<string, string>>(await gx.callTool({ name: 'create_runbook', arguments: { tenant: 'globex-logistics', title: 'Dock scanners', body: 'Reboot the AP first.' } }));
    foreign.document = doc.documentId ?? doc.id!;
  });
  afterAll(async () => { await t.close(); });

  const CASES: [string, (f: Record<string, string>, o: Record<string, string>) => Record<string, unknown>][] = [
    ['get_device_details', (f) => ({ deviceId: f.device })],
    ['device_actions', (f, o) => ({ action: 'lock', deviceIds: [o.device, f.device] })],
    ['get_alerts', (f) => ({ deviceId: f.device })],
    ['acknowledge_alerts', (f, o) => ({ alertIds: [o.alert, f.alert] })],
    ['resolve_alerts', (f) => ({ alertIds: [f.alert], resolutionNote: 'x' })],
    ['get_patch_status', (f) => ({ deviceId: f.device })],
    ['deploy_patches', (f) => ({ deviceIds: [f.device], patchIds: ['KB5044284'] })],
    ['run_script', (f, o) => ({ scriptId: f.script, deviceIds: [o.device] })],
    ['run_script', (f) => ({ language: 'bash', body: 'uptime', deviceIds: [f.device] })],
    ['get_script_results', (f) => ({ executionId: f.execution })],
    ['get_report_status', (f) => ({ reportId: f.report })],
    ['create_runbook', (f, o) => ({ title: 't', body: 'b', deviceIds: [o.device], alertIds: [f.alert] })],
    ['add_incident_note', (f) => ({ incidentId: f.incident, body: 'note' })],
    ['create_change_log', (f) => ({ title: 't', description: 'd', changeType: 'other', incidentId: f.incident })],
    ['get_documents', (f) => ({ incidentId: f.incident })],
    ['upgrade_agent', (f, o) => ({ deviceIds: [o.device, f.device] })],
    ['get_approval_status', (f) => ({ approvalId: f.approval })],
    ['cancel_approval', (f) => ({ approvalId: f.approval })],
  ];

  const stateCounts = async () => (await t.app.store.sql.get(`SELECT
    (SELECT count(*) FROM device_commands) AS commands, (SELECT count(*) FROM documents) AS documents,
    (SELECT count(*) FROM approvals) AS approvals, (SELECT count(*) FROM alerts WHERE status != 'active') AS touchedAlerts,
    (SELECT count(*) FROM approvals WHERE status = 'cancelled') AS cancelled`));

  describe.each(TRANSPORTS)('tenant isolation over %s', (kind) => {
    it.each(CASES)('%s refuses a foreign id like an unknown one, audits it, changes nothing', async (tool, args) => {
      const c = await t.connect(kind, await t.key({ tenants: ['acme-dental'] }));
      const before = await stateCounts();
      const d = denial(await c.callTool({ name: tool, arguments: args(foreign, own) }));
      expect(d.code).toBe('NOT_FOUND');
      expect(d.message).not.toMatch(/globex/);
      expect(await stateCounts()).toEqual(before);
      const row = (await t.app.store.sql.get(`SELECT decision, code, rule FROM audit_log WHERE tool = ? ORDER BY seq DESC LIMIT 1`, [tool]));
      expect(row).toEqual({ decision: 'denied', code: 'NOT_FOUND', rule: 'tenant_isolation' });
    });

    it('generate_report and tenant filters answer TENANT_DENIED for a tenant outside the key', async () => {
      const c = await t.connect(kind, await t.key({ tenants: ['acme-dental'] }));
      for (const [name, args] of [['generate_report', { tenant: 'globex-logistics', type: 'inventory' }], ['compliance_summary', { tenant: 'globex-logistics' }], ['get_alerts', { tenant: 'globex-logistics' }]] as const) {
        expect(denial(await c.callTool({ name, arguments: args })).code).toBe('TENANT_DENIED');
      }
    });
  });
});
