// A generated history of tool calls for the policy simulator: its benchmark (bench/simulate.ts) and its exactness test
// (test/governance/simulateExact.test.ts). Several keys and tenants; reads, tier-2 locks that fill the bulk window,
// tier-3 device actions and scripts (some with a ticket, some with a hidden character), tier 4, bad arguments, foreign
// ids, unknown tools; calls in small concurrent batches, seconds apart, with bursts and pauses. Plus a draft policy
// that changes every kind of decision.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import type { ApiKey } from '../src-main/auth/keys.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import type { Envelope } from '../src-main/governance/envelope.ts';
import type { Gate } from '../src-main/governance/gate.ts';
import type { SimulationDraft } from '../src-main/governance/simulate.ts';
import type { Db } from '../src-main/store/db.ts';
import { makeRng } from '../src-main/demo/seed.ts';

/** An ad-hoc script with a right-to-left override: a grant never covers it. */
export const TROJAN = 'Write-Output "ok"\u202E';
const EMPTY_PARAMETERS = createHash('sha256').update('{}').digest('hex');

export interface SimFleet {
  /** The data directory as it was before the history (for a replay from the same start). */
  before: string;
  dir: string;
  keys: { admin: ApiKey; writer: ApiKey; standard: ApiKey; reader: ApiKey };
  devices: Record<'acme' | 'globex' | 'northwind', { id: string; os: string; grp: string | null }[]>;
  operatories: string[];
  operatoriesGroup: string;
  scripts: { id: string; sha256: string }[];
}

/** Tool calls the log holds one by one (not the counts of a flood). */
export const storedCalls = (db: Db): number =>
  Number(db.prepare(`SELECT count(*) FROM audit_log WHERE event = 'tool_call' AND json_extract(detail_json, '$.aggregated') IS NOT 1`).pluck().get());

/** A demo fleet with four keys and the policy in force while the history happens (allowlist, admin-only tier 3). */
export async function simulationFleet(): Promise<SimFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-sim-'));
  const { store } = await initDataDir(dir);
  await seedDemoFleet(store, { seed: 7, now: new Date() });
  await store.close();
  const app = await openApp(dir, { env: {}, log: () => {} });
  try {
    const mk = async (name: string, scopes: ApiKey['scopes'], tenants: string[], role: 'admin' | 'standard', extra: { writePerMinute?: number } = {}) =>
      (await app.keys.create({ name, scopes, tenants, role, ...extra })).key;
    const keys = {
      admin: await mk('sim-admin', ['ai:read', 'ai:write', 'ai:execute'], ['acme-dental', 'globex-logistics'], 'admin'),
      writer: await mk('sim-writer', ['ai:read', 'ai:write'], ['acme-dental'], 'standard'),
      standard: await mk('sim-standard', ['ai:read', 'ai:write', 'ai:execute'], ['globex-logistics'], 'standard', { writePerMinute: 20 }),
      reader: await mk('sim-reader', ['ai:read'], ['northwind-legal', 'acme-dental'], 'standard'),
    };
    await app.policy.update({ executeAllowlist: ['device_actions'], requireExecuteAdmin: true }, 'simulation fleet');
    const devicesOf = (slug: string) => app.db.prepare(`SELECT d.id, d.os, g.name AS grp FROM devices d JOIN tenants t ON t.id = d.tenant_id
      LEFT JOIN device_groups g ON g.id = d.group_id WHERE t.slug = ? ORDER BY d.hostname`).all(slug) as { id: string; os: string; grp: string | null }[];
    const devices = { acme: devicesOf('acme-dental'), globex: devicesOf('globex-logistics'), northwind: devicesOf('northwind-legal') };
    const scripts = app.db.prepare(`SELECT id, sha256 FROM scripts WHERE language = 'powershell' AND tenant_id IS NULL ORDER BY name`).all() as { id: string; sha256: string }[];
    const operatoriesGroup = (app.db.prepare(`SELECT g.id FROM device_groups g JOIN tenants t ON t.id = g.tenant_id WHERE g.name = 'Operatories' AND t.slug = 'acme-dental'`).get() as { id: string }).id;
    app.close();
    const before = mkdtempSync(join(tmpdir(), 'cs-sim-before-'));
    cpSync(dir, before, { recursive: true });
    return { before, dir, keys, devices, operatories: devices.acme.filter((d) => d.os === 'windows' && d.grp === 'Operatories').map((d) => d.id), operatoriesGroup, scripts };
  } catch (e) {
    app.close();
    throw e;
  }
}

/**
 * Makes `entries` calls through `gate`, in batches of `batch` concurrent calls; `tick(ms)` is told each batch's time
 * (the caller sets the clock), starting at `start`. With `stored`, it goes on until the log holds `entries` calls one by
 * one (refusals in a flood are only counted: audit/flood.ts). Returns the time of the last batch.
 */
export async function generateHistory(gate: Gate, f: SimFleet, o: { entries: number; seed: number; start: number; batch?: number; tick?: (ms: number) => void; stored?: () => number }): Promise<number> {
  const rng = makeRng(o.seed);
  const pick = <T>(xs: readonly T[]) => rng.pick(xs);
  const some = (ds: readonly { id: string }[], max: number) => rng.shuffle(ds).slice(0, rng.int(1, max)).map((d) => d.id);
  const win = (ds: SimFleet['devices']['acme']) => ds.filter((d) => d.os === 'windows');
  const { admin, writer, standard, reader } = f.keys;
  const inTenant = (slug: string) => (slug === 'acme-dental' ? f.devices.acme : slug === 'globex-logistics' ? f.devices.globex : f.devices.northwind);
  const call = (): { key: ApiKey; name: string; args: Record<string, unknown> } => {
    const r = rng.next();
    if (r < 0.34) {
      const key = pick([admin, writer, standard, reader]);
      const slug = pick(key.tenants).slug;
      return rng.chance(0.5) ? { key, name: 'list_devices', args: { limit: 3, ...(rng.chance(0.7) ? { tenant: slug } : {}) } }
        : rng.chance(0.8) ? { key, name: 'get_device_details', args: { deviceId: pick(inTenant(slug)).id } } : { key, name: 'whoami', args: {} };
    }
    if (r < 0.52) {
      const key = pick([admin, writer, standard]);
      return { key, name: 'device_actions', args: { action: 'lock', deviceIds: some(inTenant(pick(key.tenants).slug), 3) } };
    }
    if (r < 0.72) {
      const key = pick([admin, admin, standard, writer]);
      const slug = pick(key.tenants).slug;
      const ds = slug === 'acme-dental' && rng.chance(0.6) ? f.devices.acme.filter((d) => f.operatories.includes(d.id)) : inTenant(slug);
      const ticket = rng.chance(0.3) ? { ticket: { system: 'autotask', id: `T${rng.int(1, 9)}` } } : {};
      return { key, name: 'device_actions', args: { action: pick(['reboot', 'reboot', 'isolate', 'shutdown']), deviceIds: some(ds, 3), reason: `r${rng.int(0, 2)}`, ...ticket } };
    }
    if (r < 0.88) {
      const key = pick([admin, admin, standard]);
      const slug = pick(key.tenants).slug;
      const base = rng.chance(0.7) ? { scriptId: pick(f.scripts).id } : { language: 'powershell', body: rng.chance(0.2) ? TROJAN : pick(['Get-Service', 'Write-Output 1']) };
      const deviceIds = slug === 'acme-dental' && rng.chance(0.6) ? rng.shuffle(f.operatories).slice(0, rng.int(1, 3)) : some(win(inTenant(slug)), 2);
      return { key, name: 'run_script', args: { ...base, deviceIds, ...(rng.chance(0.2) ? { ticket: { system: 'other', id: 'INC-1' } } : {}) } };
    }
    if (r < 0.91) return { key: pick([admin, standard]), name: 'device_actions', args: { action: 'wipe', deviceIds: [pick(f.devices.acme).id] } };
    if (r < 0.94) return { key: pick([admin, writer, standard]), name: 'device_actions', args: { action: 'reboot' } };
    if (r < 0.97) return { key: writer, name: 'device_actions', args: { action: 'lock', deviceIds: [pick(f.devices.globex).id] } };
    if (r < 0.985) return { key: pick([admin, standard]), name: 'upgrade_agent', args: { deviceIds: [pick(f.devices.globex).id] } };
    return { key: pick([admin, reader]), name: 'no_such_tool', args: {} };
  };
  const batch = o.batch ?? 8;
  let now = o.start;
  for (let left = o.entries; left > 0; left = o.stored ? o.entries - o.stored() : 0) {
    for (let n = 0; n < left; n += batch) {
      // Mostly seconds apart, sometimes a burst (the same instant), sometimes minutes.
      now += rng.chance(0.15) ? 0 : rng.chance(0.05) ? rng.int(30_000, 120_000) : rng.int(2_000, 14_000);
      o.tick?.(now);
      const calls = Array.from({ length: Math.min(batch, left - n) }, call);
      await Promise.all(calls.map(async (c) => gate.call(c.name, c.args, { key: (await gate.d.keys.current(c.key.id))! })));
    }
  }
  return now;
}

/**
 * A draft that changes every kind of decision: lower budgets, a wider allowlist, no admin-only, a tighter bulk window, a
 * tenant's tier overrides, a required ticket, and grants (one over the hidden-character script, which never covers).
 */
export function simulationDraft(f: SimFleet): SimulationDraft & { grants: Exclude<SimulationDraft['grants'], string | undefined> } {
  const ops = (): Envelope => ({ devices: { kind: 'group', groupId: f.operatoriesGroup, name: 'Operatories' }, maxDevicesPerCall: 2 });
  const script = (scriptId: string | null, sha256: string) => ({ scriptId, sha256, language: 'powershell', parameters: EMPTY_PARAMETERS, maxTimeoutSeconds: 300 });
  return {
    values: {
      executeAllowlist: ['device_actions', 'run_script'], requireExecuteAdmin: false, defaultWritePerMinute: 30, defaultReadPerMinute: 120,
      bulkDeviceThreshold: 4, bulkWindowMinutes: 5, requireTicketTenants: ['globex-logistics'],
    },
    overrides: [
      { tool: 'device_actions', action: 'lock', tenant: 'acme-dental', tier: 3 },
      { tool: 'list_devices', tenant: 'northwind-legal', tier: 2 },
      { tool: 'get_device_details', tenant: 'globex-logistics', tier: 3 },
    ],
    grants: [
      { key: f.keys.admin.id, tenant: 'acme-dental', tool: 'run_script', action: null, minutes: 1440, uses: 900, envelope: { ...ops(), script: script(f.scripts[0]!.id, f.scripts[0]!.sha256) } },
      { key: f.keys.admin.id, tenant: 'acme-dental', tool: 'device_actions', action: 'reboot', minutes: 600, uses: 300, envelope: ops() },
      { key: f.keys.admin.id, tenant: 'acme-dental', tool: 'device_actions', action: 'lock', minutes: 1200, envelope: { devices: { kind: 'set', ids: f.devices.acme.slice(0, 6).map((d) => d.id) }, maxDevicesPerCall: 3 } },
      { key: f.keys.standard.id, tenant: 'globex-logistics', tool: 'device_actions', action: 'reboot', minutes: 1300, uses: 400, envelope: { devices: { kind: 'set', ids: f.devices.globex.map((d) => d.id) }, maxDevicesPerCall: 2 } },
      { key: f.keys.admin.id, tenant: 'acme-dental', tool: 'run_script', action: null, minutes: 900,
        envelope: { devices: { kind: 'set', ids: f.operatories }, maxDevicesPerCall: 3, script: script(null, createHash('sha256').update(TROJAN).digest('hex')) } },
    ],
  };
}
