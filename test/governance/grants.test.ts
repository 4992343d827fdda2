// Grants ("approve and allow similar"): made from a card, never wider than it; calls inside the envelope run without a
// card, audited with the grant id and counted against it; anything outside gets a card. Per key, never tier 4, expire
// closed, decided again against the policy in force, revocable at once, visible in whoami, bound like approvals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, denial, structured, type ConsoleClient } from '../helpers/console.ts';

let t: TestServer;
let admin: ConsoleClient;
type Dev = { id: string; hostname: string; group: string };
let operatories: Dev[];
let servers: Dev[];
let scriptId: string;
let otherScriptId: string;

beforeAll(async () => {
  t = await startTestServer();
  admin = await consoleLogin(t.url);
  const devs = (group: string) => t.app.db.prepare(`SELECT d.id, d.hostname, g.name AS "group" FROM devices d JOIN tenants t ON t.id = d.tenant_id
    JOIN device_groups g ON g.id = d.group_id WHERE t.slug = 'acme-dental' AND g.name = ? AND d.os = 'windows' ORDER BY d.hostname`).all(group) as Dev[];
  operatories = devs('Operatories');
  servers = devs('Servers');
  const script = (name: string) => (t.app.db.prepare('SELECT id FROM scripts WHERE name = ?').get(name) as { id: string }).id;
  scriptId = script('Clear temp files');
  otherScriptId = script('Restart Print Spooler');
});
afterAll(async () => { await t.close(); });

type Outcome = { kind: 'card'; approvalId: string } | { kind: 'ran'; value: Record<string, unknown> };
async function call(c: Client, name: string, args: Record<string, unknown>): Promise<Outcome> {
  const r = await c.callTool({ name, arguments: args });
  expect(r.isError, JSON.stringify(r.content).slice(0, 400)).toBeFalsy();
  const s = structured<Record<string, unknown>>(r);
  return s.status === 'pending_approval' ? { kind: 'card', approvalId: String(s.approvalId) } : { kind: 'ran', value: s };
}
const card = async (id: string) => (await admin.post('/rpc/getApproval', { id })).body.result.approval;
const lastCall = (keyName: string) => t.app.db.prepare(`SELECT decision, rule, tier, approval_id, detail_json FROM audit_log WHERE event = 'tool_call' AND key_name = ? ORDER BY seq DESC LIMIT 1`)
  .get(keyName) as { decision: string; rule: string | null; tier: number; approval_id: string | null; detail_json: string };
const grantOf = async (id: string) => (await admin.post('/rpc/listGrants', {})).body.result.grants.find((g: { id: string }) => g.id === id);

async function newKey(name: string): Promise<Client> {
  return t.connect('http', await t.key({ name, tenants: ['acme-dental'] }));
}

describe('a grant made from a card', () => {
  it('offers exactly the card, refuses anything wider without approving, and covers repeats of the pattern', async () => {
    const c = await newKey('grant-script');
    const two = [operatories[0]!.id, operatories[1]!.id];
    const first = await call(c, 'run_script', { scriptId, deviceIds: two, parameters: { Days: '7' } });
    expect(first.kind).toBe('card');
    const id = (first as { approvalId: string }).approvalId;
    const offer = (await card(id)).grantOffer;
    expect(offer.card).toMatchObject({ devices: { kind: 'set', ids: [...two].sort() }, maxDevicesPerCall: 2, script: { scriptId, maxTimeoutSeconds: 300 } });
    expect(offer.group).toMatchObject({ name: 'Operatories', devices: 4 });

    // Wider than the card: another device, more devices per call, a longer timeout, a group it does not share.
    for (const envelope of [
      { ...offer.card, devices: { kind: 'set', ids: [...two, servers[0]!.id] } },
      { ...offer.card, maxDevicesPerCall: 3 },
      { ...offer.card, script: { ...offer.card.script, maxTimeoutSeconds: 3600 } },
      { ...offer.card, script: { ...offer.card.script, sha256: 'a'.repeat(64) } },
      { ...offer.card, devices: { kind: 'group', groupId: 'not-a-group', name: 'Servers' } },
    ]) {
      const r = await admin.post('/rpc/approve', { id, grant: { envelope, minutes: 30 } });
      expect(r.status, JSON.stringify(envelope)).toBe(400);
      expect(r.body.error.message).toMatch(/more than the card/);
    }
    expect((await card(id)).status).toBe('pending');

    const r = await admin.post('/rpc/approve', { id, viewedMs: 5400, grant: { envelope: offer.card, minutes: 30, uses: 2 } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.result.approval.status).toBe('running');
    const grant = r.body.result.grant;
    expect(grant).toMatchObject({ state: 'live', uses: 0, maxUses: 2, tool: 'run_script', tenant: 'acme-dental', sourceApprovalId: id });

    // The same pattern, and a subset of its devices: no card, audited with the grant id, counted.
    const again = await call(c, 'run_script', { scriptId, deviceIds: [...two].reverse(), parameters: { Days: '7' } });
    expect(again.kind).toBe('ran');
    expect(((again as { value: Record<string, unknown> }).value.commands as unknown[])).toHaveLength(2);
    const audit = lastCall('grant-script');
    expect(audit).toMatchObject({ decision: 'allowed', rule: 'grant', tier: 3, approval_id: null });
    expect(JSON.parse(audit.detail_json)).toMatchObject({ grantId: grant.id, grantUse: 1, grantMaxUses: 2 });
    expect((await call(c, 'run_script', { scriptId, deviceIds: [two[0]], parameters: { Days: '7' } })).kind).toBe('ran');
    expect(await grantOf(grant.id)).toMatchObject({ uses: 2, state: 'used_up' });
    // Used up: a card again.
    expect((await call(c, 'run_script', { scriptId, deviceIds: two, parameters: { Days: '7' } })).kind).toBe('card');
  });

  it('outside the envelope is a card: another device, script, parameter, timeout, or another key with the same call', async () => {
    const c = await newKey('grant-outside');
    const dev = operatories[2]!.id;
    const first = await call(c, 'run_script', { scriptId, deviceIds: [dev] });
    const id = (first as { approvalId: string }).approvalId;
    const { grant } = (await admin.post('/rpc/approve', { id, grant: { envelope: (await card(id)).grantOffer.card, minutes: 60 } })).body.result;
    expect((await call(c, 'run_script', { scriptId, deviceIds: [dev] })).kind).toBe('ran');
    expect((await call(c, 'run_script', { scriptId, deviceIds: [operatories[3]!.id] })).kind).toBe('card');
    expect((await call(c, 'run_script', { scriptId: otherScriptId, deviceIds: [dev] })).kind).toBe('card');
    expect((await call(c, 'run_script', { scriptId, deviceIds: [dev], parameters: { Days: '1' } })).kind).toBe('card');
    expect((await call(c, 'run_script', { scriptId, deviceIds: [dev], timeoutSeconds: 600 })).kind).toBe('card');
    expect((await call(c, 'run_script', { language: 'powershell', body: 'Write-Output 1', deviceIds: [dev] })).kind).toBe('card');
    const other = await newKey('grant-other-key');
    expect((await call(other, 'run_script', { scriptId, deviceIds: [dev] })).kind).toBe('card');
    expect(await grantOf(grant.id)).toMatchObject({ uses: 1, state: 'live' });
  });

  it('a group grant covers the group\'s other devices, up to the devices per call', async () => {
    const c = await newKey('grant-group');
    const first = await call(c, 'device_actions', { action: 'reboot', deviceIds: [operatories[0]!.id, operatories[1]!.id] });
    const id = (first as { approvalId: string }).approvalId;
    const offer = (await card(id)).grantOffer;
    const envelope = { ...offer.card, devices: { kind: 'group', groupId: offer.group.id, name: offer.group.name } };
    expect((await admin.post('/rpc/approve', { id, grant: { envelope, uses: 10 } })).status).toBe(200);
    expect((await call(c, 'device_actions', { action: 'reboot', deviceIds: [operatories[2]!.id, operatories[3]!.id] })).kind).toBe('ran');
    expect((await call(c, 'device_actions', { action: 'reboot', deviceIds: [operatories[0]!.id, operatories[2]!.id, operatories[3]!.id] })).kind).toBe('card');
    expect((await call(c, 'device_actions', { action: 'reboot', deviceIds: [servers[0]!.id] })).kind).toBe('card');
    // Another action on the same devices is outside too.
    expect((await call(c, 'device_actions', { action: 'shutdown', deviceIds: [operatories[2]!.id] })).kind).toBe('card');
  });

  it('patches: a severity ceiling, and the maintenance-window override only if the grant allows it', async () => {
    // Now must be outside the tenant's window (the demo's is weekends 02:00–06:00 UTC, when an override is no override):
    // an hour-long window every day, starting twelve hours from now.
    const now = new Date();
    const start = (now.getUTCHours() * 60 + now.getUTCMinutes() + 720) % 1440;
    t.app.db.prepare(`UPDATE maintenance_windows SET days = '[0,1,2,3,4,5,6]', start_minute = ?, duration_minutes = 60
      WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'acme-dental')`).run(start);
    const c = await newKey('grant-patches');
    const rows = t.app.db.prepare(`SELECT dp.device_id, p.id, p.severity FROM device_patches dp JOIN patches p ON p.id = dp.patch_id JOIN devices d ON d.id = dp.device_id
      JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND dp.state = 'missing' AND p.os = d.os ORDER BY p.id`).all() as { device_id: string; id: string; severity: string }[];
    const sev = (ps: typeof rows, s: string) => ps.find((p) => p.severity === s);
    const [dev, patches] = [...Map.groupBy(rows, (m) => m.device_id)].find(([, ps]) => ['important', 'moderate', 'low', 'critical'].every((s) => sev(ps, s)))!;
    const id = ((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [sev(patches, 'important')!.id, sev(patches, 'low')!.id], overrideMaintenanceWindow: true })) as { approvalId: string }).approvalId;
    const offer = (await card(id)).grantOffer;
    expect(offer.card.patches).toEqual({ maxSeverity: 'important', maxCount: 2, allowWindowOverride: true });
    const envelope = { ...offer.card, patches: { maxSeverity: 'moderate', maxCount: 1, allowWindowOverride: false } };
    expect((await admin.post('/rpc/approve', { id, grant: { envelope, minutes: 60 } })).status).toBe(200);
    const moderate = sev(patches, 'moderate')!.id;
    // The override is outside this grant; the same patch scheduled into the next window is inside.
    expect((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [moderate], overrideMaintenanceWindow: true })).kind).toBe('card');
    expect((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [moderate] })).kind).toBe('ran');
    expect((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [sev(patches, 'critical')!.id] })).kind).toBe('card');
  });

  it('patches above the ceiling get a card', async () => {
    const c = await newKey('grant-ceiling');
    const rows = t.app.db.prepare(`SELECT dp.device_id, p.id, p.severity FROM device_patches dp JOIN patches p ON p.id = dp.patch_id JOIN devices d ON d.id = dp.device_id
      JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND dp.state = 'missing' AND p.os = d.os ORDER BY p.id`).all() as { device_id: string; id: string; severity: string }[];
    const [dev, patches] = [...Map.groupBy(rows, (m) => m.device_id)].find(([, ps]) => ps.some((p) => p.severity === 'low') && ps.some((p) => p.severity === 'critical'))!;
    const lowP = patches.find((p) => p.severity === 'low')!;
    const critical = patches.find((p) => p.severity === 'critical')!;
    const id = ((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [lowP.id, critical.id], overrideMaintenanceWindow: true })) as { approvalId: string }).approvalId;
    await admin.post('/rpc/deny', { id, reason: 'not both' });
    const id2 = ((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [lowP.id], overrideMaintenanceWindow: true })) as { approvalId: string }).approvalId;
    const card2 = (await card(id2)).grantOffer.card;
    expect(card2.patches.maxSeverity).toBe('low');
    // The card held only a low patch: a grant may not reach critical.
    expect((await admin.post('/rpc/approve', { id: id2, grant: { envelope: { ...card2, patches: { ...card2.patches, maxSeverity: 'critical' } }, minutes: 5 } })).status).toBe(400);
    expect((await admin.post('/rpc/approve', { id: id2, grant: { envelope: { ...card2, patches: { ...card2.patches, maxCount: 5 } }, minutes: 5 } })).status).toBe(400);
    expect((await admin.post('/rpc/approve', { id: id2, grant: { envelope: card2, minutes: 5 } })).status).toBe(200);
    expect((await call(c, 'deploy_patches', { deviceIds: [dev], patchIds: [critical.id], overrideMaintenanceWindow: true })).kind).toBe('card');
  });
});

describe('a grant stays under the gate', () => {
  it('revoked at once; whoami shows it while it is live', async () => {
    const c = await newKey('grant-revoke');
    // Asked before the grant exists ("none" is remembered), and again once it does: the new grant shows.
    expect(structured<{ grants: unknown[] }>(await c.callTool({ name: 'whoami', arguments: {} })).grants).toEqual([]);
    const dev = servers[0]!.id;
    const id = ((await call(c, 'device_actions', { action: 'isolate', deviceIds: [dev], reason: 'edr' })) as { approvalId: string }).approvalId;
    const { grant } = (await admin.post('/rpc/approve', { id, grant: { envelope: (await card(id)).grantOffer.card, minutes: 60 } })).body.result;
    const answer = await c.callTool({ name: 'whoami', arguments: {} });
    // Its text block is exactly the JSON of its structured content, with a grant in it too (tools/resultJson.ts).
    expect((answer.content as { text: string }[])[0]!.text).toBe(JSON.stringify(answer.structuredContent));
    const who = structured<{ grants: { grantId: string; covers: string; usesLeft: number | null }[] }>(answer);
    expect(who.grants).toEqual([expect.objectContaining({ grantId: grant.id, usesLeft: null, covers: expect.stringContaining('device_actions (isolate)') })]);
    expect((await call(c, 'device_actions', { action: 'isolate', deviceIds: [dev], reason: 'again' })).kind).toBe('ran');
    const revoked = await admin.post('/rpc/revokeGrant', { id: grant.id });
    expect(revoked.body.result.grant).toMatchObject({ state: 'revoked', revokedBy: 'console-admin' });
    expect((await call(c, 'device_actions', { action: 'isolate', deviceIds: [dev], reason: 'after revoke' })).kind).toBe('card');
    expect((await admin.post('/rpc/revokeGrant', { id: grant.id })).status).toBe(409);
    expect(structured<{ grants: unknown[] }>(await c.callTool({ name: 'whoami', arguments: {} })).grants).toEqual([]);
    const audit = t.app.db.prepare(`SELECT outcome FROM audit_log WHERE event = 'policy' AND detail_json LIKE ? ORDER BY seq`).all(`%${grant.id}%`) as { outcome: string }[];
    expect(audit.map((a) => a.outcome)).toEqual(['grant_created', 'grant_revoked']);
  });

  it('the policy in force decides first: the allowlist, a tier-4 override, admin-only', async () => {
    const c = await newKey('grant-policy');
    const dev = operatories[3]!.id;
    const id = ((await call(c, 'device_actions', { action: 'reboot', deviceIds: [dev], reason: 'p' })) as { approvalId: string }).approvalId;
    const { grant } = (await admin.post('/rpc/approve', { id, grant: { envelope: (await card(id)).grantOffer.card, minutes: 60 } })).body.result;
    try {
      await admin.post('/rpc/updatePolicy', { executeAllowlist: ['run_script'] });
      expect(denial(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev] } })).code).toBe('NOT_ALLOWLISTED');
      expect(await grantOf(grant.id)).toMatchObject({ state: 'suspended', reason: expect.stringMatching(/allowlist/) });
      await admin.post('/rpc/updatePolicy', { executeAllowlist: null });
      const over = (await admin.post('/rpc/setTierOverride', { tool: 'device_actions', action: 'reboot', tier: 4 })).body.result.overrides
        .find((o: { tool: string; action: string }) => o.tool === 'device_actions' && o.action === 'reboot');
      expect(denial(await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [dev] } })).code).toBe('TIER4_BLOCKED');
      expect(await grantOf(grant.id)).toMatchObject({ state: 'suspended' });
      await admin.post('/rpc/removeTierOverride', { id: over.id });
      expect((await call(c, 'device_actions', { action: 'reboot', deviceIds: [dev] })).kind).toBe('ran');
    } finally {
      await admin.post('/rpc/updatePolicy', { executeAllowlist: null });
    }
    // A key that loses its tenant keeps nothing either.
    const k = (await t.app.keys.list()).find((x) => x.name === 'grant-policy')!;
    t.app.keys.revoke(k.id);
    expect(await grantOf(grant.id)).toMatchObject({ state: 'suspended', reason: expect.stringMatching(/revoked/) });
  });

  it('expires closed, and a grant edited in the database covers nothing', async () => {
    const c = await newKey('grant-tamper');
    const dev = servers[1]!.id;
    const id = ((await call(c, 'device_actions', { action: 'shutdown', deviceIds: [dev] })) as { approvalId: string }).approvalId;
    const { grant } = (await admin.post('/rpc/approve', { id, grant: { envelope: (await card(id)).grantOffer.card, minutes: 60 } })).body.result;
    // Someone who can write the database widens it to every device and a longer life: the binding no longer holds.
    t.app.db.prepare(`UPDATE grants SET envelope_json = json_set(envelope_json, '$.maxDevicesPerCall', 50) WHERE id = ?`).run(grant.id);
    expect(await grantOf(grant.id)).toMatchObject({ state: 'tampered' });
    expect((await call(c, 'device_actions', { action: 'shutdown', deviceIds: [dev] })).kind).toBe('card');
    // One made an hour ago for one minute has expired.
    const key = (await t.app.keys.list()).find((x) => x.name === 'grant-tamper')!;
    const tenant = key.tenants[0]!;
    const old = await t.app.store.write((tx) => t.app.gate.standing.grants.create(tx, {
      key, tenant, tool: 'device_actions', action: 'shutdown', draft: { envelope: { devices: { kind: 'set', ids: [dev] }, maxDevicesPerCall: 1 }, minutes: 1 },
      sourceApprovalId: null, actor: 'test', now: new Date(Date.now() - 3_600_000),
    }));
    expect(old.state).toBe('expired');
    expect((await call(c, 'device_actions', { action: 'shutdown', deviceIds: [dev], reason: 'expired grant' })).kind).toBe('card');
  });

  it('no grant from a card that cannot be one: a plan, or anything with hidden characters', async () => {
    const c = await newKey('grant-none');
    const bidi = await call(c, 'run_script', { language: 'powershell', body: 'Write-Output "ok"\u202E', deviceIds: [operatories[0]!.id] });
    const id = (bidi as { approvalId: string }).approvalId;
    expect((await card(id)).grantOffer).toBeNull();
    const r = await admin.post('/rpc/approve', { id, confirmHiddenText: true, grant: { envelope: { devices: { kind: 'set', ids: [operatories[0]!.id] }, maxDevicesPerCall: 1 }, minutes: 5 } });
    expect(r.status).toBe(409);
    expect((await card(id)).status).toBe('pending');
  });
});
