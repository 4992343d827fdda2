// What a card carries beyond the plan: hidden characters found on the server (on the approval record and the audit
// entry, with a second confirmation to approve), the PSA ticket (required per tenant by policy), and how long the card
// was on screen before the decision (per-day counts, medians, rubber-stamping flags).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, denial, structured, type ConsoleClient } from '../helpers/console.ts';
import { scanText, visibleSegments } from '../../src-main/hiddenChars.ts';
import { decisionStats } from '../../src-main/console/standingAdmin.ts';

let t: TestServer;
let admin: ConsoleClient;
let dev: { id: string; hostname: string };

beforeAll(async () => {
  t = await startTestServer();
  admin = await consoleLogin(t.url);
  dev = t.app.db.prepare(`SELECT d.id, d.hostname FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND d.os = 'windows' ORDER BY d.hostname LIMIT 1`).get() as typeof dev;
});
afterAll(async () => { await t.close(); });

const pendingId = (r: unknown) => {
  const s = structured<{ status: string; approvalId: string }>(r);
  expect(s.status, JSON.stringify(r).slice(0, 300)).toBe('pending_approval');
  return s.approvalId;
};

describe('the scanner', () => {
  it('finds bidi controls, zero-width and control characters, odd spaces, hostname look-alikes and mixed scripts', () => {
    const kinds = (s: string, host = false) => scanText(s, 'f', { hostname: host }).map((f) => `${f.kind}:${f.codePoint}`);
    expect(kinds('a\u202Eb\u2066c\u2069d\u200Be')).toEqual(['bidi:U+202E', 'bidi:U+2066', 'bidi:U+2069', 'invisible:U+200B']);
    expect(kinds('tab\tand\nnew line\r\n are fine')).toEqual([]);
    expect(kinds('bell\u0007 nbsp\u00A0 sep\u2028 bom\uFEFF tag\u{E0041}')).toEqual(['control:U+0007', 'space:U+00A0', 'space:U+2028', 'invisible:U+FEFF', 'invisible:U+E0041']);
    expect(kinds('DC01')).toEqual([]);
    expect(kinds('D\u0421\u004f1', true)).toEqual(['confusable:U+0421']);
    expect(kinds('Invoke-Expr\u0435ssion')).toEqual(['mixed-script:U+0435']);
    // A whole word in another script is text, not a look-alike; accents are Latin.
    expect(kinds('Привет café naïve')).toEqual([]);
  });

  it('renders flagged characters as escaped code points, never as themselves', () => {
    const segs = visibleSegments('x\u202Ey');
    expect(segs).toEqual([{ text: 'x' }, { text: '\u202E', flag: { kind: 'bidi', codePoint: 'U+202E', name: 'RIGHT-TO-LEFT OVERRIDE' } }, { text: 'y' }]);
    expect(visibleSegments('plain')).toEqual([{ text: 'plain' }]);
  });
});

describe('hidden characters on a card', () => {
  it('are flagged on the approval record and its audit entry, and approving needs the second confirmation', async () => {
    const c = await t.connect('http', await t.key({ name: 'trojan', tenants: ['acme-dental'] }));
    const body = 'if ($access -ne "user\u202E \u2066# admins only\u2069 \u2066") {\n  Write-Output "granted"\u200B\n}';
    const id = pendingId(await c.callTool({ name: 'run_script', arguments: { language: 'powershell', body, deviceIds: [dev.id] } }));
    const a = (await admin.post('/rpc/getApproval', { id })).body.result.approval;
    expect(a.detail.hiddenText).toEqual({ count: 5, kinds: { bidi: 4, invisible: 1 } });
    expect(a.view.hiddenText.count).toBe(5);
    expect(a.view.hiddenText.findings.map((f: { field: string; codePoint: string }) => `${f.field}:${f.codePoint}`))
      .toEqual(['script.body:U+202E', 'script.body:U+2066', 'script.body:U+2069', 'script.body:U+2066', 'script.body:U+200B']);
    const pending = t.app.db.prepare(`SELECT detail_json FROM audit_log WHERE approval_id = ? AND event = 'tool_call'`).get(id) as { detail_json: string };
    expect(JSON.parse(pending.detail_json).hiddenText).toEqual({ count: 5, kinds: { bidi: 4, invisible: 1 } });

    const once = await admin.post('/rpc/approve', { id });
    expect(once.status).toBe(409);
    expect(once.body.error.message).toMatch(/5 invisible, bidirectional or look-alike/);
    // The plain REST route cannot skip it either.
    expect((await admin.post(`/approvals/${id}/approve`)).status).toBe(409);
    expect((await admin.post('/rpc/getApproval', { id })).body.result.approval.status).toBe('pending');
    const twice = await admin.post('/rpc/approve', { id, confirmHiddenText: true, viewedMs: 12_000 });
    expect(twice.body.result.approval.status).toBe('running');
    const decision = t.app.db.prepare(`SELECT detail_json FROM audit_log WHERE approval_id = ? AND event = 'approval' AND decision = 'approved'`).get(id) as { detail_json: string };
    expect(JSON.parse(decision.detail_json)).toMatchObject({ hiddenTextConfirmed: 5, viewedMs: 12_000 });
  });

  it('a hostname with a look-alike letter is flagged', async () => {
    const c = await t.connect('http', await t.key({ name: 'lookalike', tenants: ['acme-dental'] }));
    const original = dev.hostname;
    t.app.db.prepare('UPDATE devices SET hostname = ? WHERE id = ?').run(original.replace('C', '\u0421'), dev.id);
    try {
      const id = pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev.id], reason: 'look-alike' } }));
      const a = (await admin.post('/rpc/getApproval', { id })).body.result.approval;
      expect(a.view.hiddenText.findings).toContainEqual(expect.objectContaining({ field: 'devices[0].hostname', kind: 'confusable', codePoint: 'U+0421' }));
      await admin.post('/rpc/deny', { id, reason: 'look-alike host' });
    } finally {
      t.app.db.prepare('UPDATE devices SET hostname = ? WHERE id = ?').run(original, dev.id);
    }
  });
});

describe('the PSA ticket', () => {
  it('is on the card and in the audit entry; a tenant can require one for tier 3', async () => {
    const c = await t.connect('http', await t.key({ name: 'ticketed', tenants: ['acme-dental'] }));
    const ticket = { system: 'connectwise', id: '104233' };
    const id = pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev.id], reason: 't1', ticket } }));
    expect((await admin.post('/rpc/getApproval', { id })).body.result.approval.view.ticket).toEqual(ticket);
    const entry = t.app.db.prepare(`SELECT args_json FROM audit_log WHERE approval_id = ? AND event = 'tool_call'`).get(id) as { args_json: string };
    expect(JSON.parse(entry.args_json).ticket).toEqual(ticket);
    expect(denial(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev.id], ticket: { system: 'jira', id: '1' } } })).code).toBe('INVALID_ARGUMENTS');
    expect(denial(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev.id], ticket: { system: 'other', id: 'T\u202E1' } } })).code).toBe('INVALID_ARGUMENTS');

    // Required from now on for acme-dental: a tier-3 call without one is refused, tier 2 is not; the pending one without a ticket cannot run.
    const bare = pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev.id], reason: 'no ticket yet' } }));
    expect((await admin.post('/rpc/updatePolicy', { requireTicketTenants: ['acme-dental'] })).status).toBe(200);
    try {
      const refused = denial(await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [dev.id] } }));
      expect(refused).toMatchObject({ code: 'TICKET_REQUIRED', tenant: 'acme-dental' });
      expect(structured<{ executionId: string }>(await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [dev.id] } })).executionId).toBeTruthy();
      pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [dev.id], ticket: { system: 'other', id: 'INC-7' } } }));
      expect((await admin.post('/rpc/approve', { id: bare })).body.result.approval).toMatchObject({ status: 'denied', decisionCode: 'POLICY_CHANGED' });
      expect((await admin.post('/rpc/approve', { id })).body.result.approval.status).toBe('running');
      expect(structured<{ ticketRequiredTenants: string[] }>(await c.callTool({ name: 'whoami', arguments: {} })).ticketRequiredTenants).toEqual(['acme-dental']);
      expect((await admin.post('/rpc/updatePolicy', { requireTicketTenants: ['no-such-tenant'] })).status).toBe(400);
    } finally {
      await admin.post('/rpc/updatePolicy', { requireTicketTenants: [] });
    }
  });
});

describe('decision telemetry', () => {
  it('records time on screen per decision; counts per day, median, fast approvals and streaks', async () => {
    const c = await t.connect('http', await t.key({ name: 'telemetry', tenants: ['acme-dental'] }));
    const ask = async (i: number) => pendingId(await c.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [dev.id], reason: `telemetry ${i}` } }));
    const times = [900, 1200, 700, 8000, 1500];
    for (const [i, ms] of times.entries()) await admin.post('/rpc/approve', { id: await ask(i), viewedMs: ms });
    await admin.post('/rpc/deny', { id: await ask(99), reason: 'no', viewedMs: 30_000 });
    const stats = (await admin.post('/rpc/decisionStats', { days: 1 })).body.result;
    expect(stats.fastMs).toBe(2000);
    const today = stats.days[0];
    expect(today.approved).toBeGreaterThanOrEqual(5);
    expect(today.denied).toBeGreaterThanOrEqual(1);
    const mine = stats.fast.filter((f: { viewedMs: number }) => [900, 1200, 700, 1500].includes(f.viewedMs));
    expect(mine).toHaveLength(4);
    // 900, 1200, 700 in a row is a streak; 8000 breaks it; 1500 alone is only fast.
    expect(stats.streaks).toContainEqual(expect.objectContaining({ count: 3, decidedBy: 'console-admin' }));
    expect(mine.find((f: { viewedMs: number }) => f.viewedMs === 1500).streak).toBe(false);
    const history = (await admin.post('/rpc/listApprovals', { status: ['running', 'denied'], limit: 20 })).body.result.approvals;
    expect(history.map((a: { decisionMs: number | null }) => a.decisionMs)).toEqual(expect.arrayContaining([8000, 30_000]));
  });

  it('the statistics on hand-made rows: median of the approvals, streaks per technician', () => {
    const row = (at: string, ms: number | null, decision: 'approved' | 'denied' = 'approved', by = 'a') => ({
      approval_id: at, decision, decided_at: at, decided_by: by, viewed_ms: ms, tool: 'run_script', action: null, tenant_slug: 't', key_name: 'k',
    });
    const s = decisionStats([
      row('2026-01-01T10:00:00Z', 500), row('2026-01-01T10:01:00Z', 600, 'approved', 'b'), row('2026-01-01T10:02:00Z', 700), row('2026-01-01T10:03:00Z', 800),
      row('2026-01-02T09:00:00Z', 4000), row('2026-01-02T09:05:00Z', null), row('2026-01-02T09:06:00Z', 100, 'denied'),
    ]);
    expect(s.days).toEqual([
      { date: '2026-01-02', approved: 2, denied: 1, medianMs: 4000, fast: 0 },
      { date: '2026-01-01', approved: 4, denied: 0, medianMs: 650, fast: 4 },
    ]);
    expect(s.streaks).toEqual([{ from: '2026-01-01T10:00:00Z', to: '2026-01-01T10:03:00Z', count: 3, decidedBy: 'a' }]);
    expect(s.fast.filter((f) => f.streak).map((f) => f.viewedMs).sort()).toEqual([500, 700, 800]);
  });
});
