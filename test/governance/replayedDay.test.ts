// A replayed day of work: one AI client's triage session in one tenant, about 60 tier-3 requests — maintenance scripts
// repeated on the same devices, patch deployments device by device in each group, reboots after them, and a few
// one-off actions. Played twice on identical fleets: once with a card for every request, once with one grant per
// repeated pattern, made from that pattern's first card. The same work gets done; the second needs at least 80% fewer
// cards, and every call it ran without a card ran under a grant.
import { describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, structured, type ConsoleClient } from '../helpers/console.ts';
import { budget } from '../helpers/wait.ts';

type Call = { name: string; arguments: Record<string, unknown> };
/** One request of the day; `pattern` names the repeated pattern it belongs to (one-offs have none). */
type Step = { call: Call; pattern?: string; grant?: (offer: Offer) => Record<string, unknown> };
type Offer = { card: Record<string, any>; group: { id: string; name: string } | null };

/** The session, built from the fleet as the model would see it. */
function session(t: TestServer): Step[] {
  const db = t.app.db;
  const inGroup = (group: string, os: string) => (db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id JOIN device_groups g ON g.id = d.group_id
    WHERE t.slug = 'acme-dental' AND g.name = ? AND d.os = ? ORDER BY d.hostname`).all(group, os) as { id: string }[]).map((d) => d.id);
  const script = (name: string) => (db.prepare('SELECT id FROM scripts WHERE name = ?').get(name) as { id: string }).id;
  const operatories = inGroup('Operatories', 'windows');
  const frontDesk = inGroup('Front Desk', 'windows');
  const servers = inGroup('Servers', 'windows');
  const linux = inGroup('Servers', 'linux');
  const macs = inGroup('Workstations', 'macos');
  const missing = (device: string) => (db.prepare(`SELECT p.id FROM device_patches dp JOIN patches p ON p.id = dp.patch_id JOIN devices d ON d.id = dp.device_id
    WHERE dp.device_id = ? AND dp.state = 'missing' AND p.os = d.os ORDER BY p.id`).all(device) as { id: string }[]).map((p) => p.id);

  // How the technician narrows each pattern's first card: the set of devices, or the group they share.
  const asCard = (o: Offer) => ({ envelope: o.card, minutes: 600 });
  const asGroup = (perCall: number) => (o: Offer) => ({ envelope: { ...o.card, devices: { kind: 'group', groupId: o.group!.id, name: o.group!.name }, maxDevicesPerCall: perCall }, minutes: 600 });
  const asGroupPatches = (o: Offer) => ({
    envelope: { ...o.card, devices: { kind: 'group', groupId: o.group!.id, name: o.group!.name }, maxDevicesPerCall: 1 },
    minutes: 600,
  });

  const day: Step[] = [];
  const clearTemp = { name: 'run_script', arguments: { scriptId: script('Clear temp files'), deviceIds: operatories } };
  const bitlocker = { name: 'run_script', arguments: { scriptId: script('Get BitLocker status'), deviceIds: servers } };
  const disk = { name: 'run_script', arguments: { scriptId: script('Check disk usage'), deviceIds: linux } };
  for (let hour = 0; hour < 14; hour++) {
    day.push({ call: clearTemp, pattern: 'clear temp files on the operatories', grant: asCard });
    if (hour < 12) day.push({ call: { name: 'run_script', arguments: { scriptId: script('Restart Print Spooler'), deviceIds: [frontDesk[hour % 2]!] } }, pattern: 'restart the spooler at the front desk', grant: asGroup(1) });
    if (hour < 8) day.push({ call: bitlocker, pattern: 'BitLocker status of the servers', grant: asCard });
    if (hour < 8) day.push({ call: disk, pattern: 'disk usage of the Linux servers', grant: asCard });
  }
  // Patches, device by device, in each group: scheduled into the next maintenance window. The device with the most
  // (and most severe) missing patches goes first, so its card shows the widest the grant may cover.
  const rank = (d: string) => {
    const sev = (db.prepare(`SELECT max(CASE p.severity WHEN 'critical' THEN 4 WHEN 'important' THEN 3 WHEN 'moderate' THEN 2 ELSE 1 END) AS s FROM device_patches dp
      JOIN patches p ON p.id = dp.patch_id JOIN devices x ON x.id = dp.device_id WHERE dp.device_id = ? AND dp.state = 'missing' AND p.os = x.os`).get(d) as { s: number }).s;
    return sev * 100 + missing(d).length;
  };
  for (const [group, devices] of [['Operatories', operatories], ['Front Desk', frontDesk], ['Servers', servers]] as const) {
    for (const d of [...devices].sort((a, b) => rank(b) - rank(a))) day.push({ call: { name: 'deploy_patches', arguments: { deviceIds: [d], patchIds: missing(d) } }, pattern: `patches for ${group}`, grant: asGroupPatches });
  }
  // Reboots after the patches, twice, one operatory at a time.
  for (const round of [1, 2]) {
    for (const d of operatories) day.push({ call: { name: 'device_actions', arguments: { action: 'reboot', deviceIds: [d], reason: `apply updates, round ${round}` } }, pattern: 'reboot an operatory', grant: asGroup(1) });
  }
  // A few one-off actions: always a card.
  day.push({ call: { name: 'device_actions', arguments: { action: 'isolate', deviceIds: [frontDesk[0]!], reason: 'EDR alert: suspicious macro' } } });
  day.push({ call: { name: 'run_script', arguments: { language: 'powershell', body: 'Get-WinEvent -LogName Security -MaxEvents 50', deviceIds: [servers[0]!] } } });
  day.push({ call: { name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [macs[0]!], reason: 'leaving for the weekend' } } });
  day.push({ call: { name: 'device_actions', arguments: { action: 'reboot', deviceIds: [linux[0]!], reason: 'kernel update' } } });
  return day;
}

interface Played { requests: number; cards: number; ranUnderGrant: number; executions: number; grants: number; patterns: Set<string> }

async function play(withGrants: boolean): Promise<Played> {
  const t = await startTestServer();
  try {
    const admin: ConsoleClient = await consoleLogin(t.url);
    const c: Client = await t.connect('http', await t.key({ name: 'triage-bot', tenants: ['acme-dental'], writePerMinute: 1000 }));
    const granted = new Set<string>();
    const out: Played = { requests: 0, cards: 0, ranUnderGrant: 0, executions: 0, grants: 0, patterns: new Set() };
    for (const step of session(t)) {
      out.requests++;
      if (step.pattern) out.patterns.add(step.pattern);
      const r = await c.callTool({ name: step.call.name, arguments: step.call.arguments });
      expect(r.isError, `${step.call.name}: ${JSON.stringify(r.content).slice(0, 300)}`).toBeFalsy();
      const s = structured<{ status?: string; approvalId?: string; executionId?: string }>(r);
      if (s.status !== 'pending_approval') {
        const audit = t.app.db.prepare(`SELECT rule FROM audit_log WHERE event = 'tool_call' AND key_name = 'triage-bot' ORDER BY seq DESC LIMIT 1`).get() as { rule: string };
        expect(audit.rule, 'a tier-3 call that ran without a card').toBe('grant');
        out.ranUnderGrant++;
        continue;
      }
      out.cards++;
      // The technician reads the card and approves it; for the first card of a repeated pattern, with a grant.
      const body: Record<string, unknown> = { id: s.approvalId, viewedMs: 6000 };
      if (withGrants && step.pattern && step.grant && !granted.has(step.pattern)) {
        const offer = (await admin.post('/rpc/getApproval', { id: s.approvalId })).body.result.approval.grantOffer as Offer;
        expect(offer, step.pattern).toBeTruthy();
        body.grant = step.grant(offer);
        granted.add(step.pattern);
      }
      const decided = await admin.post('/rpc/approve', body);
      expect(decided.status, JSON.stringify(decided.body).slice(0, 300)).toBe(200);
      expect(['running', 'completed']).toContain(decided.body.result.approval.status);
      if (body.grant) out.grants++;
    }
    out.executions = (t.app.db.prepare(`SELECT count(*) AS n FROM device_commands`).get() as { n: number }).n;
    return out;
  } finally {
    await t.close();
  }
}

describe('a replayed day of work', () => {
  it('one grant per repeated pattern: at least 80% fewer cards for the same work', async () => {
    const without = await play(false);
    const withGrants = await play(true);
    const fewer = 1 - withGrants.cards / without.cards;
    console.log(`[replayed day] ${without.requests} tier-3 requests, ${without.patterns.size} repeated patterns: ${without.cards} cards without grants, `
      + `${withGrants.cards} with ${withGrants.grants} grants (${withGrants.ranUnderGrant} calls ran under a grant): ${(fewer * 100).toFixed(1)}% fewer cards`);
    expect(without.requests).toBeGreaterThanOrEqual(55);
    expect(without.cards).toBe(without.requests);
    expect(withGrants.grants).toBe(withGrants.patterns.size);
    expect(withGrants.cards + withGrants.ranUnderGrant).toBe(withGrants.requests);
    // The same commands went out to the same devices either way.
    expect(withGrants.executions).toBe(without.executions);
    expect(fewer).toBeGreaterThanOrEqual(0.8);
  }, budget(180_000));
});
