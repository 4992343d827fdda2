// The property grants must hold: no call ever runs without a card outside a live grant's envelope. Thousands of random
// tier-3 calls (random keys, devices in and out of the tenant, scripts, parameters, timeouts, patches, window overrides,
// actions) against random grants (random envelopes, lifetimes, use counts, revocations, time passing) through the real
// gate on a real SQLite file. Every call that ran without a card is checked by an oracle written here from the call's
// own arguments and the fleet's rows, not from the gate's facts; and each grant's use count equals its audit entries.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiKey, Tenant } from '../../src-main/auth/keys.ts';
import type { Envelope } from '../../src-main/governance/envelope.ts';
import { canonicalJson } from '../../src-main/store/canonical.ts';
import { callTool } from '../helpers/gate.ts';
import { createRng, seedFromEnv } from '../helpers/prng.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { budget } from '../helpers/wait.ts';

const SEED = seedFromEnv('COUNTERSIGN_GRANT_SEED', 0x6a11);
const CALLS = Number(process.env.COUNTERSIGN_GRANT_CALLS ?? 2500);
const SEVERITIES = ['low', 'moderate', 'important', 'critical'];

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { COUNTERSIGN_READ_PER_MINUTE: '100000', COUNTERSIGN_WRITE_PER_MINUTE: '100000', COUNTERSIGN_BULK_DEVICE_THRESHOLD: '10000', COUNTERSIGN_APPROVAL_WAIT_SECONDS: '0' } });
});
afterAll(async () => {
  vi.useRealTimers();
  await t?.close();
});

interface Dev { id: string; tenant_id: string; group_id: string | null; os: string }
interface GrantRow { id: string; key_id: string; tenant_id: string; tool: string; action: string | null; envelope_json: string; expires_at: string; max_uses: number | null; revoked_at: string | null }

describe(`grants, property (seed ${SEED}, ${CALLS} calls)`, () => {
  it('no call runs without a card outside a live grant\'s envelope', async () => {
    const rng = createRng(SEED);
    const db = t.app.db;
    const acme = db.prepare(`SELECT id FROM tenants WHERE slug = 'acme-dental'`).get() as { id: string };
    const devices = db.prepare('SELECT id, tenant_id, group_id, os FROM devices').all() as Dev[];
    const mine = devices.filter((d) => d.tenant_id === acme.id && d.os === 'windows');
    const foreign = devices.filter((d) => d.tenant_id !== acme.id);
    const groups = [...new Set(mine.map((d) => d.group_id).filter((g): g is string => g !== null))];
    const scripts = db.prepare(`SELECT id, sha256 FROM scripts WHERE language = 'powershell' AND (tenant_id IS NULL OR tenant_id = ?)`).all(acme.id) as { id: string; sha256: string }[];
    const bodies = ['Write-Output 1', 'Get-Service', 'Restart-Service Spooler'];
    const patchRows = db.prepare(`SELECT dp.device_id, p.id, p.severity FROM device_patches dp JOIN patches p ON p.id = dp.patch_id WHERE p.os = 'windows'`).all() as { device_id: string; id: string; severity: string }[];
    const patchIds = [...new Set(patchRows.map((p) => p.id))];
    const severity = new Map(patchRows.map((p) => [p.id, p.severity]));
    const paramsChoices = [undefined, { Days: '7' }, { Days: '30' }];
    const timeouts = [60, 300, 600];
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
    const paramDigest = (p: unknown) => sha(canonicalJson(p ?? {}));

    const keys: ApiKey[] = [];
    for (let i = 0; i < 3; i++) {
      await t.key({ name: `prop-${i}`, tenants: i === 2 ? ['acme-dental', 'globex-logistics'] : ['acme-dental'] });
      keys.push((await t.app.keys.list()).find((k) => k.name === `prop-${i}`)!);
    }
    const tenant = keys[0]!.tenants[0]! as Tenant;
    const pickDevices = (n: number) => rng.shuffle(mine).slice(0, n).map((d) => d.id);

    // ---- random grants ----
    const randomEnvelope = (tool: string): Envelope => {
      const devicesScope = rng.chance(0.3)
        ? { kind: 'group' as const, groupId: rng.pick(groups), name: 'g' }
        : { kind: 'set' as const, ids: pickDevices(rng.int(1, 5)).sort() };
      const env: Envelope = { devices: devicesScope, maxDevicesPerCall: rng.int(1, 4) };
      if (tool === 'run_script') {
        const lib = rng.chance(0.6) ? rng.pick(scripts) : undefined;
        env.script = {
          scriptId: lib?.id ?? null, sha256: lib?.sha256 ?? sha(rng.pick(bodies)), language: 'powershell', parameters: paramDigest(rng.pick(paramsChoices)),
          maxTimeoutSeconds: rng.pick(timeouts),
        };
      }
      if (tool === 'deploy_patches') env.patches = { maxSeverity: rng.pick(SEVERITIES) as 'low', maxCount: rng.int(1, 3), allowWindowOverride: rng.chance(0.5) };
      return env;
    };
    const makeGrant = async () => {
      const tool = rng.pick(['run_script', 'device_actions', 'deploy_patches']);
      const action = tool === 'device_actions' ? rng.pick(['reboot', 'shutdown', 'isolate']) : null;
      const key = rng.pick(keys);
      const minutes = rng.int(1, 90);
      const uses = rng.chance(0.6) ? rng.int(1, 6) : undefined;
      await t.app.store.write((tx) => t.app.gate.standing.grants.create(tx, {
        key, tenant, tool, action, draft: { envelope: randomEnvelope(tool), minutes, uses }, sourceApprovalId: null, actor: 'property',
        now: new Date(Date.now() - rng.int(0, 30) * 60_000),
      }));
    };

    // ---- random calls ----
    const randomCall = (): { name: string; args: Record<string, unknown> } => {
      const n = rng.int(1, 4);
      const deviceIds = rng.chance(0.05) ? [...pickDevices(n - 1), rng.pick(foreign).id] : pickDevices(n);
      const tool = rng.pick(['run_script', 'device_actions', 'deploy_patches']);
      if (tool === 'device_actions') return { name: tool, args: { action: rng.pick(['reboot', 'shutdown', 'isolate']), deviceIds, reason: `r${rng.int(0, 3)}` } };
      if (tool === 'run_script') {
        const params = rng.pick(paramsChoices);
        const timeoutSeconds = rng.chance(0.5) ? rng.pick(timeouts) : undefined;
        const base = rng.chance(0.6) ? { scriptId: rng.pick(scripts).id } : { language: 'powershell', body: rng.pick(bodies) };
        return { name: tool, args: { ...base, deviceIds, ...(params ? { parameters: params } : {}), ...(timeoutSeconds ? { timeoutSeconds } : {}) } };
      }
      const ids = rng.shuffle(patchIds).slice(0, rng.int(1, 3));
      return { name: tool, args: { deviceIds, patchIds: ids, overrideMaintenanceWindow: rng.chance(0.5) } };
    };

    // Half the calls are made near a grant: its key, devices, script, patches, with one thing sometimes pushed outside.
    const bodyOf = new Map(bodies.map((b) => [sha(b), b]));
    const nearCall = (g: GrantRow): { name: string; args: Record<string, unknown>; key: ApiKey } => {
      const env = JSON.parse(g.envelope_json) as Envelope;
      const key = rng.chance(0.9) ? keys.find((k) => k.id === g.key_id)! : rng.pick(keys);
      const pool = env.devices.kind === 'set' ? env.devices.ids : mine.filter((d) => d.group_id === (env.devices as { groupId: string }).groupId).map((d) => d.id);
      let deviceIds = rng.shuffle(pool).slice(0, rng.int(1, Math.min(pool.length, env.maxDevicesPerCall + (rng.chance(0.2) ? 1 : 0))));
      if (rng.chance(0.1)) deviceIds = [...deviceIds, rng.pick(mine).id];
      if (g.tool === 'device_actions') return { key, name: g.tool, args: { action: rng.chance(0.9) ? g.action : rng.pick(['reboot', 'shutdown', 'isolate']), deviceIds } };
      if (g.tool === 'run_script') {
        const sc = env.script!;
        const base = sc.scriptId ? { scriptId: sc.scriptId } : { language: 'powershell', body: bodyOf.get(sc.sha256) ?? rng.pick(bodies) };
        const params = rng.chance(0.85) ? paramsChoices.find((p) => paramDigest(p) === sc.parameters) : rng.pick(paramsChoices);
        const timeoutSeconds = rng.chance(0.8) ? rng.pick(timeouts.filter((x) => x <= sc.maxTimeoutSeconds)) ?? sc.maxTimeoutSeconds : rng.pick(timeouts);
        return { key, name: g.tool, args: { ...base, deviceIds, ...(params ? { parameters: params } : {}), timeoutSeconds } };
      }
      const p = env.patches!;
      const fitting = patchIds.filter((id) => SEVERITIES.indexOf(severity.get(id)!) <= SEVERITIES.indexOf(p.maxSeverity) || rng.chance(0.05));
      const ids = rng.shuffle(fitting.length ? fitting : patchIds).slice(0, rng.int(1, p.maxCount + 1));
      return { key, name: g.tool, args: { deviceIds, patchIds: ids, overrideMaintenanceWindow: rng.chance(0.3) } };
    };

    // ---- the oracle, from the call's arguments and the rows ----
    const grantRow = (id: string) => db.prepare('SELECT * FROM grants WHERE id = ?').get(id) as GrantRow;
    const groupOf = new Map(devices.map((d) => [d.id, d.group_id]));
    const violations: string[] = [];
    const check = (call: { name: string; args: Record<string, unknown> }, key: ApiKey, seq: number, at: number, result: unknown) => {
      const e = db.prepare('SELECT rule, detail_json, args_json FROM audit_log WHERE seq = ?').get(seq) as { rule: string; detail_json: string };
      const d = JSON.parse(e.detail_json) as { grantId?: string; grantUse?: number };
      const fail = (why: string) => violations.push(`seq ${seq} ${call.name} ${JSON.stringify(call.args)}: ${why}`);
      if (e.rule !== 'grant' || !d.grantId) return fail('ran without a card and without a grant');
      const g = grantRow(d.grantId);
      const env = JSON.parse(g.envelope_json) as Envelope;
      if (g.key_id !== key.id) fail('another key\'s grant');
      if (g.tenant_id !== tenant.id) fail('another tenant\'s grant');
      if (g.tool !== call.name) fail('another tool\'s grant');
      if (call.name === 'device_actions' && g.action !== call.args.action) fail('another action');
      if (Date.parse(g.expires_at) <= at) fail('expired grant');
      if (g.revoked_at && Date.parse(g.revoked_at) <= at) fail('revoked grant');
      if (g.max_uses !== null && d.grantUse! > g.max_uses) fail(`use ${d.grantUse} of ${g.max_uses}`);
      const ids = [...new Set(call.args.deviceIds as string[])];
      if (ids.length > env.maxDevicesPerCall) fail(`${ids.length} devices > ${env.maxDevicesPerCall}`);
      for (const dev of ids) {
        const dv = devices.find((x) => x.id === dev)!;
        if (dv.tenant_id !== tenant.id) fail(`device of another tenant ${dev}`);
        if (env.devices.kind === 'set' ? !env.devices.ids.includes(dev) : groupOf.get(dev) !== env.devices.groupId) fail(`device ${dev} outside`);
      }
      if (call.name === 'run_script') {
        const s = env.script!;
        const sid = (call.args.scriptId as string | undefined) ?? null;
        const hash = sid ? scripts.find((x) => x.id === sid)!.sha256 : sha(String(call.args.body));
        if (sid !== s.scriptId || hash !== s.sha256) fail('another script');
        if (paramDigest(call.args.parameters) !== s.parameters) fail('other parameters');
        if (((call.args.timeoutSeconds as number | undefined) ?? 300) > s.maxTimeoutSeconds) fail('longer timeout');
      }
      if (call.name === 'deploy_patches') {
        // What was installed, from the execution's own result: the deployed patches and whether the window was overridden.
        const p = env.patches!;
        const out = result as { deployed: { patches: { patchId: string }[] }[]; windowFit: string };
        const installed = new Set(out.deployed.flatMap((x) => x.patches.map((q) => q.patchId)));
        if (installed.size > p.maxCount) fail(`${installed.size} patches > ${p.maxCount}`);
        for (const id of installed) if (SEVERITIES.indexOf(severity.get(id)!) > SEVERITIES.indexOf(p.maxSeverity)) fail(`patch ${id} above ${p.maxSeverity}`);
        if (out.windowFit === 'override' && !p.allowWindowOverride) fail('window override outside the grant');
      }
    };

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-18T12:00:00Z'));
    const tally = { ran: 0, card: 0, refused: 0 };
    for (let i = 0; i < 40; i++) await makeGrant();
    for (let i = 0; i < CALLS; i++) {
      if (rng.chance(0.02)) await makeGrant();
      if (rng.chance(0.01)) {
        const live = db.prepare('SELECT id FROM grants WHERE revoked_at IS NULL').all() as { id: string }[];
        if (live.length) await t.app.gate.standing.grants.revoke(rng.pick(live).id, 'property');
      }
      if (rng.chance(0.05)) vi.setSystemTime(Date.now() + rng.int(1, 20) * 60_000);
      const live = db.prepare(`SELECT * FROM grants WHERE revoked_at IS NULL AND expires_at > ? AND (max_uses IS NULL OR uses < max_uses)`).all(new Date().toISOString()) as GrantRow[];
      const near = live.length && rng.chance(0.5) ? nearCall(rng.pick(live)) : undefined;
      const key = near?.key ?? rng.pick(keys);
      const c = near ?? randomCall();
      const at = Date.now();
      const r = await callTool(t.app, c.name, c.args, { key });
      const s = r.structuredContent as { status?: string } | undefined;
      if (r.isError) tally.refused++;
      else if (s?.status === 'pending_approval') tally.card++;
      else {
        tally.ran++;
        const seq = (db.prepare(`SELECT max(seq) AS s FROM audit_log WHERE event = 'tool_call' AND key_id = ?`).get(key.id) as { s: number }).s;
        check(c, key, seq, at, s);
      }
    }
    vi.useRealTimers();
    console.log(`[grant property] seed ${SEED}: ${CALLS} calls, ${tally.ran} ran under a grant, ${tally.card} cards, ${tally.refused} refused`);
    expect(violations, violations.slice(0, 10).join('\n')).toEqual([]);
    // Enough of each outcome that the property was exercised, not passed vacuously.
    expect(tally.ran).toBeGreaterThan(CALLS / 20);
    expect(tally.card).toBeGreaterThan(CALLS / 10);
    // Every use counted: a grant's uses equal the audit entries that ran under it.
    const counted = db.prepare(`SELECT g.id, g.uses, (SELECT count(*) FROM audit_log a WHERE a.event = 'tool_call' AND a.rule = 'grant' AND json_extract(a.detail_json, '$.grantId') = g.id) AS n FROM grants g`).all() as { id: string; uses: number; n: number }[];
    expect(counted.filter((g) => g.uses !== g.n)).toEqual([]);
  }, budget(300_000));
});
