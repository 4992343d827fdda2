// Technician accounts in the web console, on both stores: once an account exists the single passphrase no longer
// signs in; each technician acts under their own name (decisions, keys, policy changes in the audit log), within their
// role (a technician may not change the policy, a viewer may not decide or hold write keys) and their tenants (another
// tenant's request is not there for them); a disabled account's session ends at its next request.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyExport } from '../../src-main/audit/export.ts';
import { startTestServer, PASSPHRASE, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { consoleLogin, structured, type ConsoleClient } from '../helpers/console.ts';
import { openStream, parseSse } from '../helpers/raw.ts';
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
  const result = async (c: ConsoleClient, method: string, input: unknown = {}) => {
    const r = await rpc(c, method, input);
    if (r.status !== 200) throw new Error(`${method}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.result;
  };
  afterAll(async () => {
    await t.close();
  });
  /** A pending request of a fresh key of `tenant` (a reboot of its first device): its approval id. */
  const ask = async (tenant: string, reason = `for ${tenant}`) => {
    const c = await t.connect('http', await t.key({ name: `asker-${tenant}`, tenants: [tenant] }));
    const device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = ? ORDER BY d.hostname LIMIT 1`, [tenant]))!.id;
    return structured<{ approvalId: string }>(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason } })).approvalId;
  };
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

  it('rights come before anything about the request: another tenant\'s decided request is not found, a viewer is forbidden', async () => {
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const val = await consoleLogin(t.url, PASS, 'val');
    const globex = await ask('globex-logistics', 'decided first');
    expect((await rpc(dana1, 'deny', { id: globex, reason: 'no' })).status).toBe(200);
    // Dana learns it is decided; Ed (not his tenant) only that there is none, Val (a viewer) only that she may not.
    expect((await rpc(dana1, 'approve', { id: globex })).body.error.data).toMatchObject({ code: 'CONFLICT' });
    expect((await rpc(ed1, 'approve', { id: globex })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
    expect((await rpc(ed1, 'deny', { id: globex, reason: 'x' })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
    expect((await rpc(val, 'approve', { id: globex })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
    expect((await rpc(val, 'deny', { id: globex, reason: 'x' })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a technician\'s page of requests is full of their tenants\' requests, however many newer ones other tenants have', async () => {
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const acme = await ask('acme-dental', 'older, and Ed\'s');
    for (let i = 0; i < 3; i++) await ask('globex-logistics', `newer ${i}`);
    const page = (await rpc(ed1, 'listApprovals', { status: ['pending'], limit: 2 })).body.result as { approvals: { id: string; tenant: string }[]; pendingCount: number; nextBefore: string | null };
    expect(page.approvals.map((a) => a.id)).toContain(acme);
    expect(new Set(page.approvals.map((a) => a.tenant))).toEqual(new Set(['acme-dental']));
    expect(page.approvals.length).toBe(Math.min(2, page.pendingCount));
  });

  it('grants and plans: a technician lists and ends those of their tenants only; a viewer ends none', async () => {
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const val = await consoleLogin(t.url, PASS, 'val');
    const id = await ask('globex-logistics', 'grant from it');
    const offer = (await rpc(dana1, 'getApproval', { id })).body.result.approval.grantOffer;
    const made = await rpc(dana1, 'approve', { id, grant: { envelope: offer.card, minutes: 30 } });
    const grantId = made.body.result.grant.id as string;
    const planCaller = await t.connect('http', await t.key({ name: 'planner', tenants: ['globex-logistics'] }));
    const device = (await t.app.store.sql.get<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants x ON x.id = d.tenant_id WHERE x.slug = 'globex-logistics' ORDER BY d.hostname LIMIT 1`))!.id;
    const proposed = structured<{ approvalId: string }>(await planCaller.callTool({ name: 'propose_plan', arguments: { goal: 'one reboot',
      steps: [{ tool: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: 'planned' } }] } })).approvalId;
    const planId = (await rpc(dana1, 'approve', { id: proposed })).body.result.approval.result.planId as string;
    const listed = async (c: ConsoleClient) => {
      const r = (await rpc(c, 'listGrants', {})).body.result as { grants: { id: string }[]; plans: { id: string }[] };
      return [...r.grants.map((g) => g.id), ...r.plans.map((p) => p.id)];
    };
    expect(await listed(dana1)).toEqual(expect.arrayContaining([grantId, planId]));
    expect(await listed(ed1)).not.toContain(grantId);
    expect(await listed(ed1)).not.toContain(planId);
    expect((await rpc(ed1, 'revokeGrant', { id: grantId })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
    expect((await rpc(ed1, 'stopPlan', { id: planId })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
    expect((await rpc(val, 'revokeGrant', { id: grantId })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
    expect((await rpc(val, 'stopPlan', { id: planId })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
    // Neither ended anything; Dana (every tenant) can.
    expect((await t.app.gate.standing.grants.list()).find((g) => g.id === grantId)!.revokedAt).toBeNull();
    expect((await t.app.gate.standing.plans.list()).find((p) => p.id === planId)!.state).toBe('active');
    expect((await rpc(dana1, 'revokeGrant', { id: grantId })).body.result.grant.revokedBy).toBe('dana');
    expect((await rpc(dana1, 'stopPlan', { id: planId })).body.result.plan.state).toBe('stopped');
  });

  it('an open event stream follows the account: narrowing its tenants closes it, and the stream opened again brings only their cards, calls and key changes', async () => {
    await t.app.technicians.update(ed.id, { tenants: ['acme-dental', 'globex-logistics'] }, 'dana');
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const port = Number(new URL(t.url).port);
    const wide = await openStream({ port, path: '/console/api/events', headers: { cookie: ed1.cookie } });
    expect(wide.status).toBe(200);
    await t.app.technicians.update(ed.id, { tenants: ['acme-dental'] }, 'dana');
    await wide.ended;
    // The server ended it (a complete response, not the helper's idle timeout), without session-ended: the page
    // reconnects rather than signing Ed out.
    expect(wide.res.complete).toBe(true);
    expect(parseSse(wide.text()).filter((f) => f.event === 'session-ended')).toEqual([]);
    const narrow = await openStream({ port, path: '/console/api/events', headers: { cookie: ed1.cookie } });
    const globex = await ask('globex-logistics', 'after narrowing');
    const acme = await ask('acme-dental', 'after narrowing');
    // Cards come in order: once Acme's is there, Globex's would have come before it.
    await narrow.waitFor(`"type":"approval.created","approval":{"id":"${acme}"`);
    const events = parseSse(narrow.text()).filter((f) => f.event === 'message').map((f) => JSON.parse(f.data));
    expect(events.filter((e) => e.type === 'approval.created').map((e) => e.approval.id)).not.toContain(globex);
    // Nor the call itself on the live feed; Acme's is there.
    const calls = events.filter((e) => e.type === 'call').map((e) => e.call);
    expect(calls.map((c) => c.approvalId)).toContain(acme);
    expect(calls.map((c) => c.tenant)).not.toContain('globex-logistics');
    // Key changes: of his own keys only (Dana's, made first, would have come first).
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const danas = (await rpc(dana1, 'createKey', { name: 'dana-stream', scopes: ['ai:read'], tenants: ['globex-logistics'] })).body.result.key.id as string;
    const eds = (await rpc(ed1, 'createKey', { name: 'ed-stream', scopes: ['ai:read'], tenants: ['acme-dental'] })).body.result.key.id as string;
    await narrow.waitFor(`"keyId":"${eds}"`);
    expect(narrow.text()).not.toContain(danas);
    narrow.close();
    await narrow.ended;
  });

  it('a technician limited to some tenants reads only theirs: audit pages and entries, live calls, the fleet, enrollment tokens, decision times; whole-install work is refused', async () => {
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const ed1 = await consoleLogin(t.url, PASS, 'ed');
    const globex = await ask('globex-logistics', 'read scope');
    await ask('acme-dental', 'read scope');
    // A fast approval of Globex's request: a decision time the stats list.
    expect((await rpc(dana1, 'approve', { id: globex, viewedMs: 300 })).status).toBe(200);
    const page = await result(ed1, 'queryAudit', { limit: 500 });
    expect(page.total).toBeGreaterThan(0);
    expect(new Set(page.entries.map((e: { tenant: string | null }) => e.tenant))).toEqual(new Set(['acme-dental']));
    expect(await result(ed1, 'queryAudit', { tenant: 'globex-logistics' })).toEqual({ entries: [], total: 0, nextBeforeSeq: null });
    const globexEntry = (await result(dana1, 'queryAudit', { tenant: 'globex-logistics', limit: 1 })).entries[0].seq as number;
    expect((await result(dana1, 'getAuditEntry', { seq: globexEntry })).entry.tenant).toBe('globex-logistics');
    expect((await rpc(ed1, 'getAuditEntry', { seq: globexEntry })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
    const live = await result(ed1, 'liveCalls', {});
    expect(live.calls.length).toBeGreaterThan(0);
    expect(new Set(live.calls.map((c: { tenant: string }) => c.tenant))).toEqual(new Set(['acme-dental']));
    expect((await result(dana1, 'liveCalls', {})).calls.map((c: { tenant: string }) => c.tenant)).toContain('globex-logistics');
    expect((await result(ed1, 'fleet')).tenants.map((x: { slug: string }) => x.slug)).toEqual(['acme-dental']);
    expect((await result(ed1, 'lookups')).tenants.map((x: { slug: string }) => x.slug)).toEqual(['acme-dental']);
    const fastOf = async (c: ConsoleClient) => (await result(c, 'decisionStats', {})).fast.map((f: { approvalId: string }) => f.approvalId);
    expect(await fastOf(dana1)).toContain(globex);
    expect(await fastOf(ed1)).not.toContain(globex);
    const token = (await result(dana1, 'createEnrollmentToken', { tenant: 'globex-logistics', uses: 1 })).token.id as string;
    expect((await result(dana1, 'listEnrollmentTokens')).tokens.map((x: { id: string }) => x.id)).toContain(token);
    expect((await result(ed1, 'listEnrollmentTokens')).tokens.map((x: { id: string }) => x.id)).not.toContain(token);
    // The export is a download (GET, streamed); over RPC it is refused with where to get it.
    expect((await rpc(dana1, 'exportAudit', { format: 'jsonl' })).body.error).toMatchObject({ data: { code: 'BAD_INPUT' }, message: expect.stringContaining('GET /console/api/audit/export') });
    expect((await rpc(ed1, 'simulatePolicy', { days: 1, draft: {} })).body.error.data).toMatchObject({ code: 'FORBIDDEN' });
    const download = (c?: ConsoleClient, method = 'GET', query = '?format=jsonl') =>
      fetch(`${t.url}/console/api/audit/export${query}`, { method, headers: c ? { Cookie: c.cookie } : {} });
    expect((await download()).status).toBe(401);
    expect((await download(ed1)).status).toBe(403);
    expect((await download(ed1, 'HEAD')).status).toBe(403);
    expect((await download(dana1, 'GET', '?format=pdf')).status).toBe(400);
    const head = await download(dana1, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const got = await download(dana1);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-disposition')).toMatch(/^attachment; filename="countersign-audit-.*\.jsonl"$/);
    const file = join(mkdtempSync(join(tmpdir(), 'cs-dl-')), 'export.jsonl');
    writeFileSync(file, Buffer.from(await got.arrayBuffer()));
    expect(await verifyExport(file, { key: t.app.secrets.verifyKey })).toMatchObject({ ok: true });
    const exported = await t.app.store.sql.get<{ rule: string; detail_json: string }>(`SELECT rule, detail_json FROM audit_log WHERE outcome = 'audit exported' ORDER BY seq DESC LIMIT 1`);
    expect(exported?.rule).toBe('dana');
    expect(JSON.parse(exported!.detail_json)).toMatchObject({ format: 'jsonl', via: 'download' });
  });

  it('an admin limited to some tenants makes and ends enrollment tokens of those only', async () => {
    await t.app.technicians.create({ name: 'adele', passphrase: PASS, role: 'admin', tenants: ['acme-dental'] }, 'test');
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const adele = await consoleLogin(t.url, PASS, 'adele');
    const globexToken = (await rpc(dana1, 'createEnrollmentToken', { tenant: 'globex-logistics', uses: 1 })).body.result.token.id as string;
    expect((await rpc(adele, 'createEnrollmentToken', { tenant: 'globex-logistics', uses: 1 })).body.error).toMatchObject({ data: { code: 'BAD_INPUT' }, message: expect.stringContaining('unknown tenant') });
    expect((await rpc(adele, 'agentInstallCommands', { tenant: 'globex-logistics' })).body.error.data).toMatchObject({ code: 'BAD_INPUT' });
    expect((await rpc(adele, 'revokeEnrollmentToken', { id: globexToken })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
    const own = (await rpc(adele, 'createEnrollmentToken', { tenant: 'acme-dental', uses: 1 })).body.result.token.id as string;
    expect((await rpc(adele, 'revokeEnrollmentToken', { id: own })).status).toBe(200);
    // Dana's token for Globex is still live.
    expect((await rpc(dana1, 'listEnrollmentTokens')).body.result.tokens.find((x: { id: string }) => x.id === globexToken).state).toBe('active');
  });

  it('an admin limited to some tenants changes no install-wide policy, and sees and sets tier overrides of its tenants only', async () => {
    if (!(await t.app.technicians.list()).some((x) => x.name === 'adela')) await t.app.technicians.create({ name: 'adela', passphrase: PASS, role: 'admin', tenants: ['acme-dental'] }, 'test');
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const adela = await consoleLogin(t.url, PASS, 'adela');
    const forbidden = async (method: string, input: unknown) => expect((await rpc(adela, method, input)).body.error?.data, method).toMatchObject({ code: 'FORBIDDEN' });
    // The policy's values hold for every tenant: lowering them would weaken tenants this account does not act on.
    await forbidden('updatePolicy', { requireExecuteAdmin: false });
    await forbidden('acceptPolicy', { shown: 'a'.repeat(64) });
    await forbidden('setTierOverride', { tool: 'get_device_details', tier: 3 });
    // Dana's overrides: one for every tenant, one for Globex.
    const wide = (await result(dana1, 'setTierOverride', { tool: 'get_device_details', tier: 3 })).overrides.find((o: { tool: string; tenant: string | null }) => o.tool === 'get_device_details' && o.tenant === null);
    const globex = (await result(dana1, 'setTierOverride', { tool: 'get_alerts', tenant: 'globex-logistics', tier: 3 })).overrides.find((o: { tool: string; tenant: string | null }) => o.tool === 'get_alerts' && o.tenant === 'globex-logistics');
    await result(dana1, 'updatePolicy', { requireTicketTenants: ['globex-logistics', 'acme-dental'] });
    try {
      const seen = await result(adela, 'getPolicy');
      const ids = seen.overrides.map((o: { id: string }) => o.id);
      expect(ids).toContain(wide.id);
      expect(ids).not.toContain(globex.id);
      expect(seen.values.requireTicketTenants).toEqual(['acme-dental']);
      expect((await result(adela, 'listTierOverrides')).overrides.map((o: { id: string }) => o.id)).not.toContain(globex.id);
      // Globex is a tenant this account does not know of: setting is refused as for an unknown one, removing as for no such override.
      expect((await rpc(adela, 'setTierOverride', { tool: 'get_alerts', tenant: 'globex-logistics', tier: 3 })).body.error).toMatchObject({ data: { code: 'BAD_INPUT' }, message: expect.stringContaining('unknown tenant') });
      expect((await rpc(adela, 'removeTierOverride', { id: globex.id })).body.error.data).toMatchObject({ code: 'NOT_FOUND' });
      await forbidden('removeTierOverride', { id: wide.id });
      // Its own tenant's overrides are its to set and remove.
      const own = (await result(adela, 'setTierOverride', { tool: 'get_alerts', tenant: 'acme-dental', tier: 3 })).overrides.find((o: { tenant: string | null; tool: string }) => o.tool === 'get_alerts' && o.tenant === 'acme-dental');
      expect((await rpc(adela, 'removeTierOverride', { id: own.id })).status).toBe(200);
      // Dana's stand.
      const danas = (await result(dana1, 'listTierOverrides')).overrides.map((o: { id: string }) => o.id);
      expect(danas).toEqual(expect.arrayContaining([wide.id, globex.id]));
      expect((await result(dana1, 'getPolicy')).values.requireTicketTenants).toEqual(['globex-logistics', 'acme-dental']);
    } finally {
      await result(dana1, 'removeTierOverride', { id: wide.id });
      await result(dana1, 'removeTierOverride', { id: globex.id });
      await result(dana1, 'updatePolicy', { requireTicketTenants: [] });
    }
  });

  it('an admin limited to some tenants manages accounts, four-eyes rules and keys of its tenants only, and cannot widen itself', async () => {
    if (!(await t.app.technicians.list()).some((x) => x.name === 'adela')) await t.app.technicians.create({ name: 'adela', passphrase: PASS, role: 'admin', tenants: ['acme-dental'] }, 'test');
    const dana1 = await consoleLogin(t.url, PASS, 'dana');
    const adela = await consoleLogin(t.url, PASS, 'adela');
    const code = async (method: string, input: unknown) => (await rpc(adela, method, input)).body.error?.data?.code;
    const me = (await t.app.technicians.list()).find((x) => x.name === 'adela')!;
    // Widening itself, or making an account of every tenant or of another tenant: refused.
    expect(await code('updateTechnician', { id: me.id, tenants: 'all' })).toBe('FORBIDDEN');
    expect(await code('updateTechnician', { id: me.id, tenants: ['acme-dental', 'globex-logistics'] })).toBe('BAD_INPUT');
    expect(await code('createTechnician', { name: 'wide', passphrase: PASS, role: 'technician', tenants: 'all' })).toBe('FORBIDDEN');
    expect(await code('createTechnician', { name: 'other', passphrase: PASS, role: 'technician', tenants: ['globex-logistics'] })).toBe('BAD_INPUT');
    expect((await t.app.technicians.get(me.id))!.tenants).toMatchObject([{ slug: 'acme-dental' }]);
    // Accounts of every tenant (Dana, Val) are not its to see or change; Ed's (Acme only) are.
    const names = (await result(adela, 'listTechnicians')).technicians.map((x: { name: string }) => x.name);
    expect(names).toContain('ed');
    expect(names).toContain('adela');
    expect(names).not.toContain('dana');
    expect(names).not.toContain('val');
    expect(await code('updateTechnician', { id: dana.id, disabled: true })).toBe('NOT_FOUND');
    expect(await code('resetTechnicianPassphrase', { id: dana.id, passphrase: 'another long passphrase here' })).toBe('NOT_FOUND');
    expect((await t.app.technicians.get(dana.id))!.disabledAt).toBeNull();
    // Four-eyes rules: another tenant's is not seen, and neither it nor one without a tenant is changed.
    const globexRule = (await result(dana1, 'setFourEyesRule', { tenant: 'globex-logistics', approvers: 2 })).rule;
    const wideRule = (await result(dana1, 'setFourEyesRule', { tool: 'run_script', approvers: 2 })).rule;
    try {
      const seen = (await result(adela, 'listFourEyesRules')).rules.map((r: { id: string }) => r.id);
      expect(seen).toContain(wideRule.id);
      expect(seen).not.toContain(globexRule.id);
      expect(await code('removeFourEyesRule', { id: globexRule.id })).toBe('NOT_FOUND');
      expect(await code('removeFourEyesRule', { id: wideRule.id })).toBe('FORBIDDEN');
      expect(await code('setFourEyesRule', { replaces: globexRule.id, tenant: 'acme-dental', approvers: 2 })).toBe('NOT_FOUND');
      expect(await code('setFourEyesRule', { approvers: 3 })).toBe('FORBIDDEN');
      expect(await code('setFourEyesRule', { tenant: 'globex-logistics', approvers: 3 })).toBe('BAD_INPUT');
      const own = (await result(adela, 'setFourEyesRule', { tenant: 'acme-dental', approvers: 2 })).rule;
      expect((await rpc(adela, 'removeFourEyesRule', { id: own.id })).status).toBe(200);
      expect((await result(dana1, 'listFourEyesRules')).rules.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining([globexRule.id, wideRule.id]));
    } finally {
      await result(dana1, 'removeFourEyesRule', { id: globexRule.id });
      await result(dana1, 'removeFourEyesRule', { id: wideRule.id });
    }
    // Keys: another tenant's (or one of several tenants beyond its own) is not its to see or revoke, nor to hear of.
    const stream = await openStream({ port: Number(new URL(t.url).port), path: '/console/api/events', headers: { cookie: adela.cookie } });
    const globexKey = (await result(dana1, 'createKey', { name: 'dana-globex', scopes: ['ai:read'], tenants: ['globex-logistics'] })).key;
    const acmeKey = (await result(dana1, 'createKey', { name: 'dana-acme', scopes: ['ai:read'], tenants: ['acme-dental'] })).key;
    // In order: once the Acme key's creation is heard, the Globex key's would have come before it.
    await stream.waitFor(`"keyId":"${acmeKey.id}"`);
    expect(stream.text()).not.toContain(globexKey.id);
    stream.close();
    await stream.ended;
    const keys = (await result(adela, 'listKeys')).keys.map((k: { id: string }) => k.id);
    expect(keys).toContain(acmeKey.id);
    expect(keys).not.toContain(globexKey.id);
    expect(await code('revokeKey', { id: globexKey.id })).toBe('NOT_FOUND');
    expect((await t.app.keys.get(globexKey.id))!.revokedAt).toBeNull();
    // A key is judged by the tenants it was issued for: one of Acme and Globex, narrowed to Acme by its owner's change,
    // is still not an Acme admin's (widened back, it acts on Globex again).
    const tess = await t.app.technicians.create({ name: 'tess', passphrase: PASS, role: 'technician', tenants: ['acme-dental', 'globex-logistics'] }, 'test');
    const both = (await t.app.keys.create({ name: 'tess-both', scopes: ['ai:read'], tenants: ['acme-dental', 'globex-logistics'], ownerId: tess.id }, 'tess')).key;
    await t.app.technicians.update(tess.id, { tenants: ['acme-dental'] }, 'test');
    expect((await t.app.keys.get(both.id))!.tenants.map((x) => x.slug)).toEqual(['acme-dental']);
    expect((await result(adela, 'listKeys')).keys.map((k: { id: string }) => k.id)).not.toContain(both.id);
    expect(await code('revokeKey', { id: both.id })).toBe('NOT_FOUND');
    // Making a key: another tenant's slug is unknown to it, as everywhere else.
    const made = await rpc(adela, 'createKey', { name: 'adela-globex', scopes: ['ai:read'], tenants: ['globex-logistics'] });
    expect(made.body.error).toMatchObject({ data: { code: 'BAD_INPUT' }, message: expect.stringContaining('unknown tenant') });
    // A tampered account (its row edited past its binding) reads as one of no tenant: not found for it, before any
    // word of its state.
    const setRole = (role: string) => t.app.store.write((tx) => tx.sql.run('UPDATE technicians SET role = ? WHERE id = ?', [role, tess.id]));
    await setRole('owner');
    try {
      expect(await code('updateTechnician', { id: tess.id, disabled: true })).toBe('NOT_FOUND');
      expect(await code('resetTechnicianPassphrase', { id: tess.id, passphrase: 'another long passphrase here' })).toBe('NOT_FOUND');
      expect(await code('removeTechnician', { id: tess.id })).toBe('NOT_FOUND');
    } finally {
      await setRole('technician');
    }
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
