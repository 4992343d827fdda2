// The console service on a real seeded SQLite directory: every contract method, its validation and its errors, and the push events.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.ts';
import { openApp, type App } from '../../src-main/app.ts';
import type { ApiKey } from '../../src-main/auth/keys.ts';
import { verifyExport } from '../../src-main/audit/export.ts';
import { createConsoleService, type ConsoleService } from '../../src-main/console/service.ts';
import { AppError, CONSOLE_METHOD_NAMES, ConsoleEvent, consoleMethods, type ConsoleEvent as Ev } from '../../src-main/console/contract.ts';
import { initTestDir } from '../helpers/server.ts';
import { callTool } from '../helpers/gate.ts';

let app: App;
let svc: ConsoleService;
let key: ApiKey;
const events: Ev[] = [];
let unsubscribe: () => void;

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const devices = (os: string) => app.db.prepare(`SELECT d.id, d.hostname, d.status FROM devices d JOIN tenants t ON t.id = d.tenant_id
  WHERE t.slug = 'acme-dental' AND d.os = ? ORDER BY d.hostname`).all(os) as { id: string; hostname: string; status: string }[];
const call = (name: string, args: unknown, k = key) => callTool(app, name, args, { key: k, client: { name: 'vitest', version: '1' } });
async function rejects(p: Promise<unknown>, status: number, code: string): Promise<AppError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e, 'expected a AppError').toBeInstanceOf(AppError);
  expect((e as AppError).status).toBe(status);
  expect((e as AppError).code).toBe(code);
  return e as AppError;
}

beforeAll(async () => {
  app = await openApp(await initTestDir(), { env: { COUNTERSIGN_BULK_DEVICE_THRESHOLD: '12' }, log: () => {} });
  svc = createConsoleService(app, { mcpBaseUrl: () => 'http://127.0.0.1:4319' });
  key = (await app.keys.create({ name: 'service-test', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: ['acme-dental'], role: 'admin' })).key;
  unsubscribe = svc.subscribe((e) => events.push(e));
});
afterAll(() => {
  unsubscribe();
  app.close();
});

describe('the service implements the contract', () => {
  it('has exactly the contract methods, plus subscribe, as (acting as a technician) and the web console\'s export download', () => {
    for (const m of CONSOLE_METHOD_NAMES) expect(typeof svc[m], m).toBe('function');
    expect(Object.keys(svc).sort()).toEqual([...CONSOLE_METHOD_NAMES, 'as', 'subscribe', 'streamExport', 'canExport'].sort());
  });

  it('session: mode, MCP base URL, version, pending count', async () => {
    const s = await svc.session();
    expect(s).toMatchObject({ mode: 'desktop', expiresAt: null, mcpBaseUrl: 'http://127.0.0.1:4319', version: expect.any(String), pendingApprovals: 0 });
  });

  it('lookups: tenants, tools with tiers and actions, keys without secrets', async () => {
    const l = await svc.lookups();
    expect(l.tenants.map((t) => t.slug)).toEqual(['acme-dental', 'globex-logistics', 'northwind-legal']);
    expect(l.tools.find((t) => t.name === 'run_script')).toMatchObject({ baseTier: 3, budget: 'write' });
    expect(l.tools.find((t) => t.name === 'device_actions')!.actions).toContainEqual({ name: 'wipe', tier: 4 });
    expect(JSON.stringify(l.keys)).not.toContain('hmac');
  });

  it('bad input is a 400 BAD_INPUT naming the field; unknown fields are refused', async () => {
    const e = await rejects(svc.getApproval({ id: 'nope' }), 400, 'BAD_INPUT');
    expect(e.message).toContain('id');
    await rejects(svc.listApprovals({ status: ['bogus' as 'pending'] }), 400, 'BAD_INPUT');
    await rejects(svc.listApprovals({ limit: 0 }), 400, 'BAD_INPUT');
    await rejects(svc.session({ extra: 1 } as never), 400, 'BAD_INPUT');
    await rejects(svc.queryAudit({ from: 'yesterday' }), 400, 'BAD_INPUT');
    await rejects(svc.updatePolicy({}), 400, 'BAD_INPUT');
  });
});

describe('approvals', () => {
  let approvalId: string;
  const body = 'Get-Service Spooler | Restart-Service -Force\nWrite-Output "restarted"';

  it('a tier-3 run_script appears as a card with the full body, its hash, both hostnames, OS, online state and window fit', async () => {
    const [a, b] = devices('windows');
    events.length = 0;
    const r = await call('run_script', { language: 'powershell', body, deviceIds: [a!.id, b!.id] });
    approvalId = (r.structuredContent as { approvalId: string }).approvalId;
    const list = await svc.listApprovals({ status: ['pending'] });
    expect(list.pendingCount).toBe(1);
    const card = list.approvals.find((x) => x.id === approvalId)!;
    expect(card).toMatchObject({ tool: 'run_script', tenant: 'acme-dental', keyName: 'service-test', client: 'vitest 1', status: 'pending' });
    expect(card.view.script).toMatchObject({ body, sha256: sha(body), language: 'powershell', source: 'ad-hoc', lines: 2 });
    expect(card.view.devices.map((d) => d.hostname)).toEqual([a!.hostname, b!.hostname]);
    expect(card.view.devices.map((d) => d.online)).toEqual([a!.status === 'online', b!.status === 'online']);
    expect(card.view.devices[0]).toMatchObject({ os: 'windows', osVersion: expect.stringContaining('Windows') });
    expect(card.view.deviceCount).toBe(2);
    expect(['inside', 'outside']).toContain(card.view.window.fit);
    expect(card.view.window.decidedBy).toBe('tenant');
    expect(card.view.window.windows.length).toBeGreaterThan(0);
    expect(card.view.timeoutSeconds).toBe(300);
    await until('the approval.created event', () => events.find((e) => e.type === 'approval.created'));
    expect(events.find((e) => e.type === 'approval.created')).toMatchObject({ approval: { id: approvalId, view: { script: { sha256: sha(body) } } } });
    const callEvent = events.find((e) => e.type === 'call');
    expect(callEvent).toMatchObject({ call: { tool: 'run_script', decision: 'pending', tier: 3, approvalId, keyName: 'service-test', client: 'vitest 1' } });
    expect((await svc.session()).pendingApprovals).toBe(1);
  });

  it('getApproval, and 404 for an unknown id', async () => {
    expect((await svc.getApproval({ id: approvalId })).approval.id).toBe(approvalId);
    await rejects(svc.getApproval({ id: '00000000-0000-4000-8000-000000000000' }), 404, 'NOT_FOUND');
  });

  it('approve executes once (running, commands queued); a second approve is 409 CONFLICT', async () => {
    events.length = 0;
    const { approval } = await svc.approve({ id: approvalId });
    expect(approval.status).toBe('running');
    expect(approval.decidedBy).toBe('console-admin');
    expect((approval.result as { commands: unknown[] }).commands).toHaveLength(2);
    await rejects(svc.approve({ id: approvalId }), 409, 'CONFLICT');
    await rejects(svc.deny({ id: approvalId, reason: 'late' }), 409, 'CONFLICT');
    await until('the approval.decided event', () => events.find((e) => e.type === 'approval.decided'));
    expect(events.find((e) => e.type === 'approval.decided')).toMatchObject({ approval: { id: approvalId, status: 'running' } });
  });

  it('deny needs a reason and records it; history lists decided requests with paging', async () => {
    const [a] = devices('windows');
    const r = await call('device_actions', { action: 'reboot', deviceIds: [a!.id], reason: 'stuck updates' });
    const id = (r.structuredContent as { approvalId: string }).approvalId;
    const card = (await svc.getApproval({ id })).approval;
    expect(card.view).toMatchObject({ action: 'reboot', requestReason: 'stuck updates', deviceCount: 1, script: null });
    await rejects(svc.deny({ id, reason: '   ' }), 400, 'BAD_INPUT');
    const { approval } = await svc.deny({ id, reason: 'Front desk is open until 6pm' });
    expect(approval).toMatchObject({ status: 'denied', reason: 'Front desk is open until 6pm' });
    const page1 = await svc.listApprovals({ status: ['denied', 'running'], limit: 1 });
    expect(page1.approvals).toHaveLength(1);
    expect(page1.nextBefore).not.toBeNull();
    const page2 = await svc.listApprovals({ status: ['denied', 'running'], limit: 1, before: page1.nextBefore! });
    expect(page2.approvals).toHaveLength(1);
    expect(page2.approvals[0]!.id).not.toBe(page1.approvals[0]!.id);
  });

  it('an expired request is 410 GONE', async () => {
    const [, , c] = devices('windows');
    const r = await call('device_actions', { action: 'shutdown', deviceIds: [c!.id] });
    const id = (r.structuredContent as { approvalId: string }).approvalId;
    app.db.prepare('UPDATE approvals SET expires_at = ? WHERE id = ?').run(new Date(Date.now() - 1000).toISOString(), id);
    await rejects(svc.approve({ id }), 410, 'GONE');
    expect((await svc.getApproval({ id })).approval.status).toBe('expired');
  });
});

describe('keys', () => {
  it('create returns the secret once; list shows state, last use, calls and budgets; nothing secret leaks', async () => {
    events.length = 0;
    const { key: k, secret } = await svc.createKey({ name: 'ui key', scopes: ['ai:read'], tenants: ['northwind-legal'], readPerMinute: 30 });
    expect(secret).toMatch(/^csk_/);
    expect(k).toMatchObject({ name: 'ui key', role: 'standard', state: 'active', callCount: 0, lastUsedAt: null, budget: { read: { limitPerMinute: 30, remaining: 30 } } });
    await call('list_devices', {}, ((c) => (c.ok ? c.key : key))(await app.keys.check(secret)));
    const listed = (await svc.listKeys()).keys.find((x) => x.id === k.id)!;
    expect(listed.callCount).toBe(1);
    expect(listed.lastUsedAt).not.toBeNull();
    expect(listed.budget.read.remaining).toBe(29);
    expect(listed.budget.write.limitPerMinute).toBe(60);
    const all = JSON.stringify(await svc.listKeys());
    expect(all).not.toContain(secret);
    expect(all).not.toContain('hmac');
    await until('the key.changed (created) event', () => events.some((e) => e.type === 'key.changed' && e.change === 'created'));
    expect(events).toContainEqual({ type: 'key.changed', keyId: k.id, change: 'created' });

    const revoked = await svc.revokeKey({ id: k.id });
    expect(revoked.key.state).toBe('revoked');
    expect(await app.keys.check(secret)).toMatchObject({ ok: false, reason: 'revoked' });
    await until('the key.changed (revoked) event', () => events.some((e) => e.type === 'key.changed' && e.change === 'revoked'));
    expect(events).toContainEqual({ type: 'key.changed', keyId: k.id, change: 'revoked' });
  });

  it('unknown tenant → 400; unknown key → 404; no scopes → 400', async () => {
    await rejects(svc.createKey({ name: 'x', scopes: ['ai:read'], tenants: ['no-such-tenant'] }), 400, 'BAD_INPUT');
    await rejects(svc.createKey({ name: 'x', scopes: [], tenants: ['acme-dental'] }), 400, 'BAD_INPUT');
    await rejects(svc.revokeKey({ id: '00000000-0000-4000-8000-000000000000' }), 404, 'NOT_FOUND');
  });
});

describe('audit', () => {
  it('pages newest first with filters and free-text search', async () => {
    const all = await svc.queryAudit({ limit: 5 });
    expect(all.entries).toHaveLength(5);
    expect(all.total).toBeGreaterThan(5);
    expect(all.entries[0]!.seq).toBeGreaterThan(all.entries[4]!.seq);
    const next = await svc.queryAudit({ limit: 5, beforeSeq: all.nextBeforeSeq! });
    expect(next.entries[0]!.seq).toBeLessThan(all.entries[4]!.seq);

    const pending = await svc.queryAudit({ tool: 'run_script', decision: ['pending'] });
    expect(pending.entries.length).toBe(1);
    expect(pending.total).toBe(1);
    const [a] = devices('windows');
    const searched = await svc.queryAudit({ q: a!.id, event: ['tool_call'] });
    expect(searched.entries.length).toBeGreaterThan(0);
    expect((await svc.queryAudit({ q: '100%_literal' })).total).toBe(0);
    expect((await svc.queryAudit({ keyId: key.id, tenant: 'acme-dental' })).entries.every((e) => e.keyId === key.id && e.tenant === 'acme-dental')).toBe(true);
    expect((await svc.queryAudit({ outcome: 'approval requested' })).entries.length).toBeGreaterThan(0);
    expect((await svc.queryAudit({ from: new Date(Date.now() + 60_000).toISOString() })).total).toBe(0);
    expect((await svc.queryAudit({ decision: ['rejected'], code: 'APPROVAL_DENIED' })).total).toBe(1);
  });

  it('entry detail has arguments, detail and hashes; 404 for a missing seq', async () => {
    const seq = (await svc.queryAudit({ tool: 'run_script', decision: ['pending'] })).entries[0]!.seq;
    const { entry } = await svc.getAuditEntry({ seq });
    expect(entry.args).toMatchObject({ language: 'powershell' });
    expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
    await rejects(svc.getAuditEntry({ seq: 10_000_000 }), 404, 'NOT_FOUND');
  });

  it('verify succeeds; export is JSONL plus a checkpoint that verifies offline against this install', async () => {
    const v = await svc.verifyAudit();
    expect(v).toMatchObject({ ok: true, badSeq: null, reason: null });
    const chunks: string[] = [];
    await svc.streamExport('jsonl', (c) => void chunks.push(c));
    const text = chunks.join('');
    const lines = text.trim().split('\n');
    const cp = JSON.parse(lines.at(-1)!);
    expect(cp).toMatchObject({ type: 'checkpoint', count: lines.length - 1 });
    const file = join(mkdtempSync(join(tmpdir(), 'cs-x-')), 'a.jsonl');
    writeFileSync(file, text);
    expect(await verifyExport(file, { key: app.secrets.verifyKey })).toMatchObject({ ok: true, count: lines.length - 1 });
    // The export itself is in the log after it: who took it, in which form, and how far it reaches.
    const entry = app.db.prepare(`SELECT rule, detail_json FROM audit_log WHERE outcome = 'audit exported' ORDER BY seq DESC LIMIT 1`).get() as { rule: string; detail_json: string };
    expect(entry.rule).toBe('console-admin');
    expect(JSON.parse(entry.detail_json)).toEqual({ format: 'jsonl', via: 'download', count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash });
  });

  it('desktop: the export is written where the save dialog says, whole or not at all; a cancelled dialog writes nothing; the web console\'s service saves none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-x-'));
    const to = join(dir, 'chosen.jsonl');
    const asked: string[] = [];
    const desktop = createConsoleService(app, { saveAs: async (name) => (asked.push(name), to) });
    const x = await desktop.exportAudit({ format: 'jsonl' });
    expect(x).toMatchObject({ savedTo: to, fileName: asked[0] });
    expect(asked[0]).toMatch(/^countersign-audit-.*\.jsonl$/);
    expect(await verifyExport(to, { key: app.secrets.verifyKey })).toMatchObject({ ok: true, count: x.checkpoint!.count });
    expect(JSON.parse((app.db.prepare(`SELECT detail_json FROM audit_log WHERE outcome = 'audit exported' ORDER BY seq DESC LIMIT 1`).get() as { detail_json: string }).detail_json)).toMatchObject({ format: 'jsonl', via: 'file', headSeq: x.checkpoint!.headSeq });
    expect(readdirSync(dir)).toEqual(['chosen.jsonl']);
    // A save that fails at its last step (here the chosen path is a folder holding a file) leaves nothing beside it.
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 'keep'), 'x');
    await expect(createConsoleService(app, { saveAs: async () => folder }).exportAudit({ format: 'ocsf' })).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual(['chosen.jsonl', 'folder']);
    expect(readdirSync(folder)).toEqual(['keep']);
    expect(await createConsoleService(app, { saveAs: async () => null }).exportAudit({ format: 'syslog' })).toMatchObject({ savedTo: null, checkpoint: null });
    expect(readdirSync(dir).sort()).toEqual(['chosen.jsonl', 'folder']);
    await rejects(svc.exportAudit(), 400, 'BAD_INPUT');
  });

  it('whole-log work, one at a time per app: a verify asked while one runs shares its answer; a second export at once is refused, the next one is made', async () => {
    const other = createConsoleService(app);
    const [a, b] = await Promise.all([svc.verifyAudit(), other.verifyAudit()]);
    // One verification: the same measured time and moment, to the fraction of a millisecond.
    expect([b.ms, b.checkedAt]).toEqual([a.ms, a.checkedAt]);
    expect(a).toMatchObject({ ok: true });
    // An export held at its first chunk: a second is refused until it ends, then the next one is made.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let first!: () => void;
    const started = new Promise<void>((r) => (first = r));
    const running = svc.streamExport('jsonl', () => (first(), held));
    await started;
    expect(other.canExport()).toMatchObject({ code: 'CONFLICT' });
    await rejects(other.streamExport('jsonl', () => {}), 409, 'CONFLICT');
    release();
    await running;
    expect(other.canExport()).toBeUndefined();
    await other.streamExport('ocsf', () => {});
  });

  it('live calls: tool_call entries only, newest first, with filters and afterSeq', async () => {
    const { calls, headSeq } = await svc.liveCalls({ limit: 50 });
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c.tool !== null)).toBe(true);
    expect(headSeq).toBeGreaterThanOrEqual(calls[0]!.seq);
    expect((await svc.liveCalls({ decision: ['pending'] })).calls.every((c) => c.decision === 'pending')).toBe(true);
    expect((await svc.liveCalls({ afterSeq: headSeq })).calls).toHaveLength(0);
    await call('get_alerts', {});
    const after = await svc.liveCalls({ afterSeq: headSeq });
    expect(after.calls).toHaveLength(1);
    expect(after.calls[0]).toMatchObject({ tool: 'get_alerts', decision: 'allowed', tier: 1, outcome: 'ok' });
  });
});

describe('policy', () => {
  it('shows values with env pins; a pinned setting cannot change (409 PINNED); others update and are audited', async () => {
    const p = await svc.getPolicy();
    expect(p.pinned).toEqual({ bulkDeviceThreshold: 'COUNTERSIGN_BULK_DEVICE_THRESHOLD' });
    expect(p.values.bulkDeviceThreshold).toBe(12);
    expect(p.defaults.bulkDeviceThreshold).toBe(10);
    await rejects(svc.updatePolicy({ bulkDeviceThreshold: 5 }), 409, 'PINNED');
    await rejects(svc.updatePolicy({ executeAllowlist: ['not_a_tool'] }), 400, 'BAD_INPUT');
    events.length = 0;
    const u = await svc.updatePolicy({ approvalTtlMinutes: 45, executeAllowlist: ['run_script', 'deploy_patches', 'device_actions'] });
    expect(u.values).toMatchObject({ approvalTtlMinutes: 45, executeAllowlist: ['run_script', 'deploy_patches', 'device_actions'] });
    expect(app.policy.values.approvalTtlMinutes).toBe(45);
    await svc.updatePolicy({ executeAllowlist: null });
    await until('the policy.changed event', () => events.some((e) => e.type === 'policy.changed'));
    expect(events).toContainEqual({ type: 'policy.changed', change: 'updated' });
  });

  it('tier overrides raise only, replace the same target, and can be removed', async () => {
    await rejects(svc.setTierOverride({ tool: 'run_script', tier: 3 }), 400, 'BAD_INPUT');
    await rejects(svc.setTierOverride({ tool: 'device_actions', action: 'reboot', tier: 2 }), 400, 'BAD_INPUT');
    await rejects(svc.setTierOverride({ tool: 'no_tool', tier: 4 }), 400, 'BAD_INPUT');
    await rejects(svc.setTierOverride({ tool: 'get_alerts', action: 'x', tier: 2 }), 400, 'BAD_INPUT');
    await rejects(svc.setTierOverride({ tool: 'get_alerts', tenant: 'nowhere', tier: 2 }), 400, 'BAD_INPUT');
    await svc.setTierOverride({ tool: 'get_alerts', tier: 2 });
    const p = await svc.setTierOverride({ tool: 'get_alerts', tier: 3 });
    const mine = p.overrides.filter((o) => o.tool === 'get_alerts');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ action: null, tenant: null, tier: 3, baseTier: 1 });
    expect(app.policy.overrideTier('get_alerts', undefined, undefined)).toBe(3);
    const scoped = await svc.setTierOverride({ tool: 'device_actions', action: 'lock', tenant: 'acme-dental', tier: 3 });
    expect(scoped.overrides.find((o) => o.tool === 'device_actions')).toMatchObject({ action: 'lock', tenant: 'acme-dental', baseTier: 2 });
    expect((await svc.listTierOverrides()).overrides).toHaveLength(2);
    const removed = await svc.removeTierOverride({ id: mine[0]!.id });
    expect(removed.overrides.some((o) => o.tool === 'get_alerts')).toBe(false);
    expect(app.policy.overrideTier('get_alerts', undefined, undefined)).toBeUndefined();
    await rejects(svc.removeTierOverride({ id: mine[0]!.id }), 404, 'NOT_FOUND');
    expect((await svc.queryAudit({ event: ['policy'], outcome: 'tier_override_removed' })).total).toBe(1);
  });
});

describe('fleet', () => {
  it('counts devices by status and OS, active alerts by severity, pending patches by severity per tenant', async () => {
    const f = await svc.fleet();
    expect(f.tenants.map((t) => t.slug)).toEqual(['acme-dental', 'globex-logistics', 'northwind-legal']);
    const n = (sql: string) => (app.db.prepare(sql).get() as { n: number }).n;
    expect(f.tenants.reduce((s, t) => s + t.devices.total, 0)).toBe(n('SELECT count(*) AS n FROM devices'));
    expect(f.tenants.reduce((s, t) => s + t.devices.online, 0)).toBe(n(`SELECT count(*) AS n FROM devices WHERE status = 'online'`));
    for (const t of f.tenants) {
      expect(t.byOs.reduce((s, o) => s + o.total, 0)).toBe(t.devices.total);
      expect(t.activeAlerts.total).toBe(t.activeAlerts.critical + t.activeAlerts.high + t.activeAlerts.medium + t.activeAlerts.low + t.activeAlerts.info);
      expect(t.compliance.compliant + t.compliance.nonCompliant + t.compliance.unknown).toBe(t.devices.total);
      expect(t.maintenance.windows.length).toBeGreaterThan(0);
    }
    expect(f.tenants.reduce((s, t) => s + t.activeAlerts.total, 0)).toBe(n(`SELECT count(*) AS n FROM alerts WHERE status = 'active'`));
    expect(f.tenants.reduce((s, t) => s + t.pendingPatches.total, 0)).toBe(n(`SELECT count(*) AS n FROM device_patches WHERE state IN ('missing','failed')`));
  });
});

describe('events', () => {
  it('every pushed event matches the contract schema', () => {
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(ConsoleEvent.safeParse(e).success, JSON.stringify(e).slice(0, 200)).toBe(true);
  });

  it('a listener that unsubscribes hears nothing more; a throwing listener does not break the others', async () => {
    const mine: Ev[] = [];
    const off = svc.subscribe(() => {
      throw new Error('boom');
    });
    const off2 = svc.subscribe((e) => mine.push(e));
    await call('get_alerts', {});
    expect(mine.filter((e) => e.type === 'call')).toHaveLength(1);
    off2();
    off();
    await call('get_alerts', {});
    expect(mine.filter((e) => e.type === 'call')).toHaveLength(1);
  });

  it('outputs are parsed against the contract (stripping anything else)', async () => {
    for (const m of ['session', 'lookups', 'listKeys', 'getPolicy', 'fleet', 'verifyAudit'] as const) {
      const out = await (svc[m] as () => Promise<unknown>)();
      expect(consoleMethods[m].output.safeParse(out).success, m).toBe(true);
    }
  });
});
