// Policy simulation from the console (Policy page) and the CLI: a draft replayed over the recorded calls, per tool and
// key, with examples, before anyone applies it. test/governance/simulateExact.test.ts proves it exact on 50,000 calls.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FULL_REFUSALS_PER_MINUTE } from '../../src-main/audit/flood.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, structured, type ConsoleClient } from '../helpers/console.ts';
import { budget } from '../helpers/wait.ts';
import { postgresAvailable } from '../helpers/stores.ts';

const MAIN = join(import.meta.dirname, '../../src-main/cli/main.ts');
let t: TestServer;
let admin: ConsoleClient;
/** Refusals of a flooding key past its allowance: counted, not stored one by one. */
const FLOOD_COUNTED = 7;

beforeAll(async () => {
  t = await startTestServer();
  admin = await consoleLogin(t.url);
  const c = await t.connect('http', await t.key({ name: 'sim-bot', tenants: ['acme-dental'] }));
  const devs = t.app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND d.os = 'windows' ORDER BY d.hostname`).all() as { id: string }[];
  const script = (t.app.db.prepare(`SELECT id FROM scripts WHERE name = 'Clear temp files'`).get() as { id: string }).id;
  for (let i = 0; i < 5; i++) await c.callTool({ name: 'list_devices', arguments: { limit: 2 } });
  // A script card approved with a grant, then twice more under the grant; a reboot card; a lock.
  const first = structured<{ approvalId: string }>(await c.callTool({ name: 'run_script', arguments: { scriptId: script, deviceIds: [devs[0]!.id] } }));
  const offer = (await admin.post('/rpc/getApproval', { id: first.approvalId })).body.result.approval.grantOffer;
  await admin.post('/rpc/approve', { id: first.approvalId, grant: { envelope: offer.card, minutes: 60 } });
  for (let i = 0; i < 2; i++) await c.callTool({ name: 'run_script', arguments: { scriptId: script, deviceIds: [devs[0]!.id] } });
  await c.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [devs[1]!.id] } });
  await c.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [devs[2]!.id] } });
  // A key that floods with refusals: its allowance is stored one by one, the rest counted (written once the minute ends,
  // or at once here, as on close). The clock stands still meanwhile, so the flood never straddles two minutes.
  const flooder = await t.connect('http', await t.key({ name: 'sim-flooder', tenants: ['acme-dental'] }));
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  try {
    for (let i = 0; i < FULL_REFUSALS_PER_MINUTE + FLOOD_COUNTED; i++) await flooder.callTool({ name: 'no_such_tool', arguments: {} });
    await t.app.store.audit.flushFloods(true);
  } finally {
    vi.useRealTimers();
  }
});
afterAll(async () => { await t.close(); });

const simulate = (draft: unknown, days = 1) => admin.post('/rpc/simulatePolicy', { days, draft });

describe('simulating a draft', () => {
  it('unchanged, it reproduces the record', async () => {
    const r = (await simulate({})).body.result;
    expect(r.after).toEqual(r.before);
    expect(r.changes).toEqual([]);
    expect(r.byKey.find((k: { keyName: string }) => k.keyName === 'sim-bot').before).toEqual({ ran: 8, card: 2, denied: 0 });
    expect(r.grants).toHaveLength(1);
    expect(r.grants[0].covered).toBe(2);
    // The flood: what was stored is replayed, what was counted is reported as such.
    expect(r.byKey.find((k: { keyName: string }) => k.keyName === 'sim-flooder').before).toEqual({ ran: 0, card: 0, denied: FULL_REFUSALS_PER_MINUTE });
    expect(r.counted).toBe(FLOOD_COUNTED);
  });

  it('shows what a draft would have done, per tool and key, with examples', async () => {
    const r = (await simulate({
      values: { executeAllowlist: ['device_actions'] },
      overrides: [{ tool: 'device_actions', action: 'lock', tenant: 'acme-dental', tier: 3 }],
      grants: 'none',
    })).body.result;
    const tool = (name: string) => r.byTool.find((x: { tool: string }) => x.tool === name);
    expect(tool('run_script')).toEqual({ tool: 'run_script', before: { ran: 2, card: 1, denied: 0 }, after: { ran: 0, card: 0, denied: 3 } });
    expect(tool('device_actions')).toEqual({ tool: 'device_actions', before: { ran: 1, card: 1, denied: 0 }, after: { ran: 0, card: 2, denied: 0 } });
    expect(tool('list_devices').after).toEqual(tool('list_devices').before);
    expect(r.changes).toEqual(expect.arrayContaining([{ from: 'ran', to: 'denied', count: 2 }, { from: 'card', to: 'denied', count: 1 }, { from: 'ran', to: 'card', count: 1 }]));
    expect(r.examples).toContainEqual(expect.objectContaining({ tool: 'run_script', from: 'ran', to: 'denied', reason: expect.stringMatching(/^NOT_ALLOWLISTED/) }));
    expect(r.examples).toContainEqual(expect.objectContaining({ tool: 'device_actions', action: 'lock', from: 'ran', to: 'card' }));
    expect(r.grants).toEqual([]);
    // Nothing was applied.
    expect((await admin.post('/rpc/getPolicy', {})).body.result.values.executeAllowlist).toBeNull();
  });

  it('refuses a draft it cannot read', async () => {
    expect((await simulate({ overrides: [{ tool: 'no_such_tool', tier: 3 }] })).status).toBe(400);
    expect((await simulate({ values: { bulkDeviceThreshold: -1 } })).status).toBe(400);
    expect((await simulate({ grants: 'some' })).status).toBe(400);
  });
});

describe('countersign policy simulate', () => {
  const cs = (...args: string[]) => spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { encoding: 'utf8', timeout: budget(60_000) });

  it('prints the same counts as the console, as a table or JSON; a bad draft is a usage error', async () => {
    const draft = join(t.dir, 'draft.json');
    const body = { values: { executeAllowlist: ['device_actions'] }, grants: 'none' };
    writeFileSync(draft, JSON.stringify(body));
    const table = cs('policy', 'simulate', '--data-dir', t.dir, '--days', '7', '--draft', draft);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/tool calls from .* replayed under the draft in \d+ ms/);
    expect(table.stdout).toMatch(/under the draft\s+\d+\s+\d+\s+\d+/);
    expect(table.stdout).toMatch(/run_script: \{"ran":2,"card":1,"denied":0\} → \{"ran":0,"card":0,"denied":3\}/);
    expect(table.stdout).toContain(`${FLOOD_COUNTED} more refusal(s) were counted during a flood, not stored one by one: not replayed`);
    const json = cs('policy', 'simulate', '--data-dir', t.dir, '--days', '7', '--draft', draft, '--json');
    expect(json.status, json.stderr).toBe(0);
    const fromCli = JSON.parse(json.stdout);
    const fromConsole = (await simulate(body, 7)).body.result;
    expect(fromCli.after).toEqual(fromConsole.after);
    expect(fromCli.byTool).toEqual(fromConsole.byTool);
    expect(fromCli.counted).toBe(FLOOD_COUNTED);

    writeFileSync(draft, '{"values": {"nope": 1}}');
    const bad = cs('policy', 'simulate', '--data-dir', t.dir, '--draft', draft);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/draft\.json: draft: values: Unrecognized key/);
    expect(cs('policy', 'simulate', '--data-dir', t.dir).status).toBe(2);
    expect(cs('policy', 'simulate', '--data-dir', t.dir, '--draft', join(t.dir, 'missing.json')).stderr).toMatch(/ENOENT/);
  });

  it.skipIf(!postgresAvailable())(`replays the team database with --store, not a SQLite file in the data directory${postgresAvailable() ? '' : ' [skipped: no PostgreSQL for this run]'}`, async () => {
    const team = await startTestServer({ store: 'postgres' });
    try {
      const c = await team.connect('http', await team.key({ name: 'simulated on postgres', scopes: ['ai:read'], tenants: ['acme-dental'] }));
      await c.callTool({ name: 'whoami', arguments: {} });
      const draft = join(team.dir, 'draft.json');
      writeFileSync(draft, JSON.stringify({ values: { executeAllowlist: [] } }));
      const r = cs('policy', 'simulate', '--data-dir', team.dir, '--store', team.storeUrl!, '--draft', draft, '--json');
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).byKey.map((k: { keyName: string | null }) => k.keyName)).toContain('simulated on postgres');
      // The data directory of a team install has no SQLite file, and the command made none.
      expect(existsSync(join(team.dir, 'countersign.db'))).toBe(false);
    } finally {
      await team.close();
    }
  });
});
