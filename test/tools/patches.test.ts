import { beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { deployPatches, getPatchStatus } from '../../src-main/tools/patches.ts';
import { SEED_NOW, ctxAt, denial, runner } from './util.ts';

let h: Harness;
let run: ReturnType<typeof runner>;
const count = (sql: string, ...params: unknown[]) => (h.db.prepare(sql).get(...params) as { n: number }).n;
const tenantId = (slug: string) => h.tenants.find((t) => t.slug === slug)!.id;
const JOIN = 'FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id';

/** Device-patch pairs of a tenant in a state, for one OS. */
const pairs = (slug: string, state: string, os = 'windows') => h.db.prepare(`SELECT dp.device_id AS deviceId, dp.patch_id AS patchId, d.hostname,
    p.external_id AS externalId ${JOIN} WHERE d.tenant_id = ? AND dp.state = ? AND d.os = ? ORDER BY d.hostname, p.external_id`)
  .all(tenantId(slug), state, os) as { deviceId: string; patchId: string; hostname: string; externalId: string }[];
const stateOf = (deviceId: string, patchId: string) =>
  (h.db.prepare('SELECT state FROM device_patches WHERE device_id = ? AND patch_id = ?').get(deviceId, patchId) as { state: string }).state;

beforeEach(async () => {
  h = await createHarness();
  run = runner(h);
});

describe('get_patch_status', () => {
  it('lists every device-patch pair of the key, most severe first, and filters match SQL', async () => {
    const ctx = ctxAt(h);
    const all = await run(getPatchStatus, { limit: 100 }, ctx);
    expect(all.total).toBe(count(`SELECT count(*) AS n FROM device_patches`));
    const rank = { critical: 0, important: 1, moderate: 2, low: 3 };
    for (let i = 1; i < all.patches.length; i++) expect(rank[all.patches[i]!.severity] >= rank[all.patches[i - 1]!.severity]).toBe(true);
    expect((await run(getPatchStatus, { state: 'missing' }, ctx)).total).toBe(count(`SELECT count(*) AS n FROM device_patches WHERE state = 'missing'`));
    expect((await run(getPatchStatus, { severity: ['critical', 'low'], state: 'installed' }, ctx)).total)
      .toBe(count(`SELECT count(*) AS n ${JOIN} WHERE p.severity IN ('critical', 'low') AND dp.state = 'installed'`));
    const linux = await run(getPatchStatus, { os: 'linux', tenant: 'globex-logistics', limit: 100 }, ctx);
    expect(linux.total).toBe(count(`SELECT count(*) AS n ${JOIN} WHERE d.os = 'linux' AND d.tenant_id = ?`, tenantId('globex-logistics')));
    expect(linux.patches.every((p) => p.os === 'linux' && p.tenant === 'globex-logistics' && p.hostname.startsWith('GLX-'))).toBe(true);
    const { deviceId } = pairs('acme-dental', 'missing')[0]!;
    const one = await run(getPatchStatus, { deviceId, limit: 100 }, ctx);
    expect(one.total).toBe(count('SELECT count(*) AS n FROM device_patches WHERE device_id = ?', deviceId));
    expect(one.patches.every((p) => p.deviceId === deviceId && p.externalId.length > 0 && typeof p.requiresReboot === 'boolean')).toBe(true);
  });

  it('summarises missing patches by severity under the tenant/device/OS filters', async () => {
    const ctx = ctxAt(h);
    const r = await run(getPatchStatus, { tenant: 'northwind-legal', state: 'installed', limit: 1 }, ctx);
    for (const sev of ['critical', 'important', 'moderate', 'low'] as const) {
      expect(r.missingBySeverity[sev]).toBe(count(`SELECT count(*) AS n ${JOIN} WHERE d.tenant_id = ? AND p.severity = ? AND dp.state IN ('missing', 'failed')`,
        tenantId('northwind-legal'), sev));
    }
    expect(r.missingBySeverity.critical).toBeGreaterThan(0);
  });

  it('walks all pages without duplicates', async () => {
    const ctx = ctxAt(h);
    const seen = new Set<string>();
    let cursor: string | undefined;
    let total = 0;
    let rows = 0;
    do {
      const r = await run(getPatchStatus, { limit: 13, ...(cursor ? { cursor } : {}) }, ctx);
      total = r.total;
      for (const p of r.patches) seen.add(`${p.deviceId}/${p.patchId}`), rows++;
      cursor = r.nextCursor ?? undefined;
      expect(r.truncated).toBe(cursor !== undefined);
    } while (cursor);
    expect(rows).toBe(total);
    expect(seen.size).toBe(total);
  });

  it('hides other tenants: a foreign device is NOT_FOUND and lists stay inside the key', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    expect((await run(getPatchStatus, {}, ctx)).total).toBe(count(`SELECT count(*) AS n ${JOIN} WHERE d.tenant_id = ?`, tenantId('acme-dental')));
    const foreign = pairs('globex-logistics', 'missing')[0]!.deviceId;
    expect((await denial(() => run(getPatchStatus, { deviceId: foreign }, ctx))).code).toBe('NOT_FOUND');
  });
});

describe('deploy_patches', () => {
  // SEED_NOW is Friday 12:00 UTC; acme-dental's window is Sat + Sun 02:00-06:00 UTC.
  const NEXT_ACME = '2026-11-21T02:00:00.000Z';

  it('outside the window, schedules for the next window start and marks the patches scheduled', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const missing = pairs('acme-dental', 'missing').slice(0, 3);
    const deviceIds = [...new Set(missing.map((m) => m.deviceId))];
    const patchIds = [...new Set(missing.map((m) => m.patchId))];
    const before = count('SELECT total_changes() AS n');
    const plan = await h.plan(deployPatches, deployPatches.input.parse({ deviceIds, patchIds }), ctx);
    expect(count('SELECT total_changes() AS n')).toBe(before);
    expect(plan.tenant?.slug).toBe('acme-dental');
    expect(plan.detail).toMatchObject({
      windowFit: 'scheduled_for_next_window', notBefore: NEXT_ACME, overrideMaintenanceWindow: false,
      nextWindow: { name: 'Weekend overnight patching', schedule: 'Sun, Sat 02:00-06:00 UTC (240 min)', start: NEXT_ACME },
    });
    const devices = plan.detail.devices as { hostname: string; os: string; status: string; online: boolean }[];
    expect(devices.every((d) => d.hostname && d.os === 'windows' && typeof d.online === 'boolean')).toBe(true);
    expect((plan.detail.patches as { severity: string; requiresReboot: boolean }[]).every((p) => p.severity && typeof p.requiresReboot === 'boolean')).toBe(true);
    expect(plan.summary).toContain(NEXT_ACME);

    const r = await run(deployPatches, { deviceIds, patchIds }, ctx);
    expect(r.windowFit).toBe('scheduled_for_next_window');
    expect(r.notBefore).toBe(NEXT_ACME);
    expect(r.commands.length).toBe(r.deployed.length);
    expect(r.commands.every((c) => c.notBefore === NEXT_ACME && c.status === 'queued')).toBe(true);
    for (const m of missing) expect(stateOf(m.deviceId, m.patchId)).toBe('scheduled');
    const cmd = h.db.prepare(`SELECT kind, not_before, payload_json FROM device_commands WHERE execution_id = ? AND device_id = ?`)
      .get(r.executionId, missing[0]!.deviceId) as { kind: string; not_before: string; payload_json: string };
    expect(cmd.kind).toBe('patch_install');
    expect(cmd.not_before).toBe(NEXT_ACME);
    expect(JSON.parse(cmd.payload_json).patches).toContain(missing[0]!.externalId);
    expect(count(`SELECT count(*) AS n FROM executions WHERE id = ? AND kind = 'patch_install' AND tool = 'deploy_patches'`, r.executionId)).toBe(1);
    // A later read shows the new state; a repeat has nothing left to deploy.
    const scheduled = await run(getPatchStatus, { tenant: 'acme-dental', state: 'scheduled', limit: 100 }, ctx);
    expect(scheduled.total).toBe(r.deployed.reduce((n, d) => n + d.patches.length, 0));
    const again = await denial(() => run(deployPatches, { deviceIds, patchIds }, ctx));
    expect(again.rule).toBe('nothing_to_deploy');
    expect(again.message).toContain('already scheduled');
  });

  it('refuses outside the window when asked to, naming the next window, and writes nothing', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const m = pairs('acme-dental', 'missing')[0]!;
    const e = await denial(() => run(deployPatches, { deviceIds: [m.deviceId], patchIds: [m.patchId], whenOutsideWindow: 'refuse' }, ctx));
    expect(e.code).toBe('INVALID_ARGUMENTS');
    expect(e.rule).toBe('maintenance_window');
    expect(e.message).toContain('Weekend overnight patching');
    expect(e.message).toContain(NEXT_ACME);
    expect(stateOf(m.deviceId, m.patchId)).toBe('missing');
    expect(count('SELECT count(*) AS n FROM device_commands')).toBe(0);
  });

  it('overrides the window when told to, runs now and flags it for the approval card', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const m = pairs('acme-dental', 'missing')[0]!;
    const args = { deviceIds: [m.deviceId], patchIds: [m.patchId], overrideMaintenanceWindow: true, whenOutsideWindow: 'refuse' };
    const plan = await h.plan(deployPatches, deployPatches.input.parse(args), ctx);
    expect(plan.detail).toMatchObject({ windowFit: 'override', overrideMaintenanceWindow: true, notBefore: null });
    expect(plan.summary).toContain('OVERRIDING');
    const r = await run(deployPatches, args, ctx);
    expect(r.windowFit).toBe('override');
    expect(r.commands[0]!.notBefore).toBeNull();
    expect(stateOf(m.deviceId, m.patchId)).toBe('scheduled');
  });

  it('inside the window, queues now even when refusing outside windows', async () => {
    const ctx = ctxAt(h, ['acme-dental'], new Date('2026-11-22T03:15:00Z'));
    const m = pairs('acme-dental', 'missing')[0]!;
    const r = await run(deployPatches, { deviceIds: [m.deviceId], patchIds: [m.patchId], whenOutsideWindow: 'refuse' }, ctx);
    expect(r.windowFit).toBe('inside');
    expect(r.notBefore).toBeNull();
  });

  it('is inside a window that wraps past midnight (northwind: Wednesday 22:00 for 3 hours)', async () => {
    const m = pairs('northwind-legal', 'missing')[0]!;
    const args = { deviceIds: [m.deviceId], patchIds: [m.patchId], whenOutsideWindow: 'refuse' };
    const thursdayEarly = await h.plan(deployPatches, deployPatches.input.parse(args), ctxAt(h, ['northwind-legal'], new Date('2026-11-19T00:45:00Z')));
    expect(thursdayEarly.detail.windowFit).toBe('inside');
    expect(thursdayEarly.detail.currentWindow).toMatchObject({ start: '2026-11-18T22:00:00.000Z', end: '2026-11-19T01:00:00.000Z' });
    const e = await denial(() => h.plan(deployPatches, deployPatches.input.parse(args), ctxAt(h, ['northwind-legal'], new Date('2026-11-19T01:00:00Z'))));
    expect(e.message).toContain('2026-11-25T22:00:00.000Z'); // next week
  });

  it('deploys only patches for the device OS that are missing there; the rest are skipped with reasons', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const missing = pairs('acme-dental', 'missing')[0]!;
    const installed = pairs('acme-dental', 'installed').find((i) => i.deviceId === missing.deviceId) ?? pairs('acme-dental', 'installed')[0]!;
    const linuxPatch = pairs('acme-dental', 'missing', 'linux')[0]!;
    const r = await run(deployPatches, { deviceIds: [missing.deviceId, installed.deviceId], patchIds: [missing.patchId, installed.patchId, linuxPatch.externalId] }, ctx);
    const deployedPairs = r.deployed.flatMap((d) => d.patches.map((p) => `${d.deviceId}/${p.patchId}`));
    expect(deployedPairs).toContain(`${missing.deviceId}/${missing.patchId}`);
    expect(deployedPairs).not.toContain(`${installed.deviceId}/${installed.patchId}`);
    expect(r.skipped.find((s) => s.deviceId === installed.deviceId && s.patchId === installed.patchId)?.reason).toBe('already installed');
    expect(r.skipped.find((s) => s.patchId === linuxPatch.patchId)?.reason).toMatch(/patch is for linux; the device runs windows/);
    expect(stateOf(installed.deviceId, installed.patchId)).toBe('installed');
    for (const p of deployedPairs) {
      const [d, pa] = p.split('/');
      expect(count(`SELECT count(*) AS n FROM device_patches WHERE device_id = ? AND patch_id = ? AND state IN ('missing', 'failed')`, d, pa)).toBe(0);
    }
  });

  it('accepts vendor ids such as KB numbers', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const m = pairs('acme-dental', 'missing').find((x) => x.externalId.startsWith('KB'))!;
    const r = await run(deployPatches, { deviceIds: [m.deviceId], patchIds: [m.externalId.toLowerCase()] }, ctx);
    expect(r.deployed[0]!.patches).toEqual([{ patchId: m.patchId, externalId: m.externalId }]);
  });

  it('refuses foreign devices and unknown patches like unknown ids, and devices of two tenants', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const mine = pairs('acme-dental', 'missing')[0]!;
    const foreign = pairs('globex-logistics', 'missing')[0]!;
    expect((await denial(() => run(deployPatches, { deviceIds: [mine.deviceId, foreign.deviceId], patchIds: [mine.patchId] }, ctx))).code).toBe('NOT_FOUND');
    expect((await denial(() => run(deployPatches, { deviceIds: [mine.deviceId], patchIds: ['KB0000000'] }, ctx))).code).toBe('NOT_FOUND');
    const both = await denial(() => run(deployPatches, { deviceIds: [mine.deviceId, foreign.deviceId], patchIds: [mine.patchId] }, ctxAt(h)));
    expect(both.rule).toBe('single_tenant');
    expect(count('SELECT count(*) AS n FROM device_commands')).toBe(0);
  });

  it('without any maintenance window, schedule is refused and override still works', async () => {
    h.db.prepare('DELETE FROM maintenance_windows WHERE tenant_id = ?').run(tenantId('acme-dental'));
    const ctx = ctxAt(h, ['acme-dental']);
    const m = pairs('acme-dental', 'missing')[0]!;
    const e = await denial(() => run(deployPatches, { deviceIds: [m.deviceId], patchIds: [m.patchId] }, ctx));
    expect(e.rule).toBe('maintenance_window');
    expect(e.message).toContain('no maintenance window');
    expect((await run(deployPatches, { deviceIds: [m.deviceId], patchIds: [m.patchId], overrideMaintenanceWindow: true }, ctx)).windowFit).toBe('override');
  });

  it('bounds its input and declares itself tier 3 and destructive', async () => {
    expect(() => deployPatches.input.parse({ deviceIds: [], patchIds: ['x'] })).toThrow();
    expect(() => deployPatches.input.parse({ deviceIds: Array.from({ length: 51 }, (_, i) => `d${i}`), patchIds: ['x'] })).toThrow();
    expect(() => deployPatches.input.parse({ deviceIds: ['d'], patchIds: Array.from({ length: 51 }, (_, i) => `p${i}`) })).toThrow();
    expect(() => deployPatches.input.parse({ deviceIds: ['d'], patchIds: ['p'], whenOutsideWindow: 'later' })).toThrow();
    expect(deployPatches.baseTier).toBe(3);
    expect(deployPatches.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(SEED_NOW.getUTCDay()).toBe(5);
  });
});
