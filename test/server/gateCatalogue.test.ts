// Every tool, resource and prompt the server registers goes through the gate: walked from what the server lists
// (not from a hand-kept list), each call writes one audit entry, spends the key's budget, and a foreign tenant is
// refused. A registration made around the gate fails here: it lists, but leaves no audit entry and spends nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { denial, structured } from '../helpers/console.ts';
import { createSessionServer } from '../../src-main/mcp/sessionServer.ts';

let t: TestServer;
let c: Client;
let keyId: string;
const own: Record<string, string> = {};
const foreign: Record<string, string> = {};
const takes: string[] = [];

beforeAll(async () => {
  t = await startTestServer();
  const db = t.app.db;
  const tenantId = (slug: string) => (db.prepare('SELECT id FROM tenants WHERE slug = ?').get(slug) as { id: string }).id;
  const pick = (sql: string, tid: string) => (db.prepare(sql).get(tid) as { id: string }).id;
  for (const [bag, tid] of [[own, tenantId('acme-dental')], [foreign, tenantId('globex-logistics')]] as const) {
    bag.device = pick(`SELECT id FROM devices WHERE tenant_id = ? AND os = 'windows' ORDER BY hostname LIMIT 1`, tid);
    bag.alert = pick(`SELECT id FROM alerts WHERE tenant_id = ? AND status = 'active' ORDER BY id LIMIT 1`, tid);
    bag.incident = pick(`SELECT id FROM incidents WHERE tenant_id = ? LIMIT 1`, tid);
  }
  own.patch = (db.prepare(`SELECT patch_id AS id FROM device_patches WHERE device_id = ? AND state = 'missing' LIMIT 1`).get(own.device) as { id: string }).id;
  own.script = (db.prepare(`SELECT id FROM scripts WHERE tenant_id IS NULL AND language = 'powershell' LIMIT 1`).get() as { id: string }).id;
  foreign.script = (db.prepare(`SELECT id FROM scripts WHERE tenant_id = ? LIMIT 1`).get(tenantId('globex-logistics')) as { id: string }).id;
  // What only a key of each tenant can create: an execution, a report, an approval.
  for (const [bag, slug] of [[own, 'acme-dental'], [foreign, 'globex-logistics']] as const) {
    const k = await t.connect('http', await t.key({ tenants: [slug], name: `maker-${slug}` }));
    bag.execution = structured<{ executionId: string }>(await k.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [bag.device] } })).executionId;
    bag.report = structured<{ reportId: string }>(await k.callTool({ name: 'generate_report', arguments: { tenant: slug, type: 'security', format: 'csv' } })).reportId;
    bag.approval = structured<{ approvalId: string }>(await k.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [bag.device] } })).approvalId;
  }
  const secret = await t.key({ name: 'catalogue-walker', tenants: ['acme-dental'], readPerMinute: 100_000, writePerMinute: 100_000 });
  const check = (await t.app.keys.check(secret));
  if (!check.ok) throw new Error('key');
  keyId = check.key.id;
  // The gate's own approvals are the walker's: it asks for one and reads and cancels that.
  c = await t.connect('http', secret);
  own.myApproval = structured<{ approvalId: string }>(await c.callTool({ name: 'device_actions', arguments: { action: 'isolate', deviceIds: [own.device] } })).approvalId;
  own.myOtherApproval = structured<{ approvalId: string }>(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [own.device] } })).approvalId;
  // Every budget take, by key and budget: the proof that a call spent one.
  const limiter = t.app.gate.d.limiter;
  const take = limiter.take.bind(limiter);
  limiter.take = (id, limit, cost) => {
    takes.push(id);
    return take(id, limit, cost);
  };
});
afterAll(async () => { await t.close(); });

type Args = Record<string, unknown>;
/**
 * For every tool: arguments that run for the walker (or, where running needs more than this server has, the refusal
 * they get, with why), and arguments naming another tenant (or why it has none).
 */
const TOOLS: Record<string, { ok: () => Args; refused?: [string, string]; foreign: (() => Args) | string }> = {
  list_devices: { ok: () => ({ limit: 2 }), foreign: () => ({ tenant: 'globex-logistics' }) },
  get_device_details: { ok: () => ({ deviceId: own.device }), foreign: () => ({ deviceId: foreign.device }) },
  device_actions: { ok: () => ({ action: 'lock', deviceIds: [own.device] }), foreign: () => ({ action: 'lock', deviceIds: [foreign.device] }) },
  get_alerts: { ok: () => ({ limit: 2 }), foreign: () => ({ tenant: 'globex-logistics' }) },
  acknowledge_alerts: { ok: () => ({ alertIds: [own.alert] }), foreign: () => ({ alertIds: [foreign.alert] }) },
  resolve_alerts: { ok: () => ({ alertIds: [own.alert], resolutionNote: 'walked' }), foreign: () => ({ alertIds: [foreign.alert], resolutionNote: 'x' }) },
  get_patch_status: { ok: () => ({ deviceId: own.device }), foreign: () => ({ deviceId: foreign.device }) },
  deploy_patches: { ok: () => ({ deviceIds: [own.device], patchIds: [own.patch], overrideMaintenanceWindow: true }), foreign: () => ({ deviceIds: [foreign.device], patchIds: [own.patch] }) },
  run_script: { ok: () => ({ scriptId: own.script, deviceIds: [own.device] }), foreign: () => ({ scriptId: foreign.script, deviceIds: [own.device] }) },
  get_script_results: { ok: () => ({ executionId: own.execution }), foreign: () => ({ executionId: foreign.execution }) },
  generate_report: { ok: () => ({ tenant: 'acme-dental', type: 'inventory', format: 'csv' }), foreign: () => ({ tenant: 'globex-logistics', type: 'inventory' }) },
  get_report_status: { ok: () => ({ reportId: own.report }), foreign: () => ({ reportId: foreign.report }) },
  create_runbook: { ok: () => ({ tenant: 'acme-dental', title: 'walk', body: 'b' }), foreign: () => ({ tenant: 'globex-logistics', title: 't', body: 'b' }) },
  add_incident_note: { ok: () => ({ incidentId: own.incident, body: 'walk' }), foreign: () => ({ incidentId: foreign.incident, body: 'n' }) },
  create_change_log: { ok: () => ({ tenant: 'acme-dental', title: 'walk', description: 'd', changeType: 'other' }), foreign: () => ({ title: 't', description: 'd', changeType: 'other', incidentId: foreign.incident }) },
  fleet_health_check: { ok: () => ({}), foreign: () => ({ tenant: 'globex-logistics' }) },
  compliance_summary: { ok: () => ({}), foreign: () => ({ tenant: 'globex-logistics' }) },
  list_scripts: { ok: () => ({}), foreign: () => ({ tenant: 'globex-logistics' }) },
  get_documents: { ok: () => ({}), foreign: () => ({ incidentId: foreign.incident }) },
  get_approval_status: { ok: () => ({ approvalId: own.myApproval }), foreign: () => ({ approvalId: foreign.approval }) },
  cancel_approval: { ok: () => ({ approvalId: own.myOtherApproval }), foreign: () => ({ approvalId: foreign.approval }) },
  whoami: { ok: () => ({}), foreign: 'takes no input: it describes the calling key only' },
  propose_plan: {
    ok: () => ({ goal: 'walk', steps: [{ tool: 'device_actions', arguments: { action: 'reboot', deviceIds: [own.device], reason: 'walked plan' } }] }),
    foreign: () => ({ goal: 'walk', steps: [{ tool: 'device_actions', arguments: { action: 'reboot', deviceIds: [foreign.device] } }] }),
  },
  upgrade_agent: {
    ok: () => ({ deviceIds: [own.device] }), refused: ['NOT_FOUND', 'needs a published agent build and an enrolled agent: test/agent/executable.test.ts runs it'],
    foreign: () => ({ deviceIds: [foreign.device] }),
  },
};

const entries = (tool: string, key = keyId) =>
  (t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE key_id = ? AND tool = ? AND event = 'tool_call'`).get(key, tool) as { n: number }).n;
const lastEntry = (tool: string, key = keyId) =>
  t.app.db.prepare(`SELECT decision, code, detail_json FROM audit_log WHERE key_id = ? AND tool = ? AND event = 'tool_call' ORDER BY seq DESC LIMIT 1`).get(key, tool) as { decision: string; code: string | null; detail_json: string | null };
const spent = (before: number, key = keyId) => takes.slice(before).filter((id) => id.startsWith(`${key}:`)).length;

/**
 * A client of its own for the refusals of one tool or prompt: the audit writer keeps 20 full refusal entries a minute
 * per key and counts the rest (audit/flood.ts), so a walk of every tool's refusal from one key would be counted.
 */
async function refuser(name: string): Promise<{ c: Client; id: string }> {
  const secret = await t.key({ name: `refuser-${name}`, tenants: ['acme-dental'] });
  const check = (await t.app.keys.check(secret));
  if (!check.ok) throw new Error('key');
  return { c: await t.connect('http', secret), id: check.key.id };
}

describe('the gate is the only door', () => {
  it('every listed tool: one audit entry and one budget unit per call; another tenant is refused, audited', async () => {
    const { tools } = await c.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(Object.keys(TOOLS).sort());
    for (const { name } of tools) {
      const spec = TOOLS[name]!;
      const [n, b0] = [entries(name), takes.length];
      let b = b0;
      const r = await c.callTool({ name, arguments: spec.ok() });
      if (spec.refused) expect(denial(r).code, `${name}: ${spec.refused[1]}`).toBe(spec.refused[0]);
      else expect(r.isError, `${name}: ${JSON.stringify(r.content).slice(0, 300)}`).toBeFalsy();
      expect(entries(name) - n, `${name}: audit entries`).toBe(1);
      expect(spent(b), `${name}: budget units`).toBe(1);
      if (typeof spec.foreign === 'string') continue;
      const other = await refuser(name);
      b = takes.length;
      const d = denial(await other.c.callTool({ name, arguments: spec.foreign() }));
      expect(['NOT_FOUND', 'TENANT_DENIED'], `${name}: ${d.message}`).toContain(d.code);
      expect(entries(name, other.id), `${name}: refusal audited`).toBe(1);
      expect(lastEntry(name, other.id)).toMatchObject({ decision: 'denied', code: d.code });
      expect(spent(b, other.id), `${name}: refusal spends budget`).toBe(1);
    }
  });

  it('every listed resource and template: read through the tool it mirrors, audited, budgeted; a foreign id is refused', async () => {
    const { resources } = await c.listResources();
    const { resourceTemplates } = await c.listResourceTemplates();
    const uris = [...resources.map((r) => r.uri), ...resourceTemplates.map((r) => r.uriTemplate.replace('{deviceId}', own.device!))];
    for (const uri of uris) {
      const before = (t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE key_id = ? AND event = 'tool_call'`).get(keyId) as { n: number }).n;
      const b = takes.length;
      const r = await c.readResource({ uri });
      expect(r.contents.length, uri).toBe(1);
      const rows = t.app.db.prepare(`SELECT decision, detail_json FROM audit_log WHERE key_id = ? AND event = 'tool_call' ORDER BY seq DESC LIMIT 1`).all(keyId) as { decision: string; detail_json: string }[];
      expect((t.app.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE key_id = ? AND event = 'tool_call'`).get(keyId) as { n: number }).n - before, uri).toBe(1);
      expect(JSON.parse(rows[0]!.detail_json), uri).toEqual({ kind: 'resource', uri });
      expect(spent(b), uri).toBe(1);
    }
    expect(uris.sort()).toEqual(['countersign://alerts/active', 'countersign://devices', `countersign://devices/${own.device}`, 'countersign://scripts']);
    const other = await refuser('resource');
    await expect(other.c.readResource({ uri: `countersign://devices/${foreign.device}` })).rejects.toThrow(/No device/);
    expect(lastEntry('get_device_details', other.id)).toMatchObject({ decision: 'denied', code: 'NOT_FOUND' });
  });

  it('every listed prompt: audited, budgeted; a foreign tenant is refused', async () => {
    const { prompts } = await c.listPrompts();
    for (const { name } of prompts) {
      const [n, b0] = [entries(name), takes.length];
      let b = b0;
      const r = await c.getPrompt({ name, arguments: { tenant: 'acme-dental' } });
      expect((r.messages[0]!.content as { text: string }).text, name).toContain('acme-dental');
      expect(entries(name) - n, name).toBe(1);
      expect(JSON.parse(lastEntry(name).detail_json!)).toEqual({ kind: 'prompt' });
      expect(spent(b), name).toBe(1);
      const other = await refuser(name);
      b = takes.length;
      await expect(other.c.getPrompt({ name, arguments: { tenant: 'globex-logistics' } }), name).rejects.toThrow(/not bound to tenant/);
      expect(entries(name, other.id), name).toBe(1);
      expect(lastEntry(name, other.id)).toMatchObject({ decision: 'denied', code: 'TENANT_DENIED' });
      expect(spent(b, other.id), name).toBe(1);
    }
    expect(prompts.map((p) => p.name).sort()).toEqual(['fleet-briefing', 'patch-plan', 'triage-alerts']);
  });
});

describe('a tool registered around the gate', () => {
  // tools/list and tools/call are the gate's own handlers: a tool added on the SDK server past them is neither listed
  // nor run, and calling it is refused and audited like any unknown tool.
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({
      sessionServer: (gate, info) => {
        const server = createSessionServer(gate, info);
        server.registerTool('ungoverned_probe', { description: 'registered past the gate' }, async () => ({ content: [{ type: 'text', text: 'RAN' }] }));
        return server;
      },
    });
  });
  afterAll(() => s.close());

  it('is not listed, does not run, and the attempt is audited', async () => {
    const k = await s.connect('http', await s.key({ name: 'around-the-gate', tenants: ['acme-dental'] }));
    expect((await k.listTools()).tools.map((x) => x.name)).not.toContain('ungoverned_probe');
    const r = await k.callTool({ name: 'ungoverned_probe', arguments: {} }).catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] }));
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).not.toContain('RAN');
    const row = s.app.db.prepare(`SELECT decision, tool FROM audit_log WHERE tool = 'ungoverned_probe' ORDER BY seq DESC LIMIT 1`).get() as { decision: string } | undefined;
    expect(row?.decision).toBe('denied');
  });
});
