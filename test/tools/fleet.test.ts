import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { HEALTH_RULE, complianceSummary, fleetHealthCheck, gradeOf, healthOf } from '../../src-main/tools/fleet.ts';
import { deployPatches } from '../../src-main/tools/patches.ts';
import { SEED_NOW, ctxAt, denial, runner } from './util.ts';

let h: Harness;
let run: ReturnType<typeof runner>;
const count = (sql: string, ...params: unknown[]) => (h.db.prepare(sql).get(...params) as { n: number }).n;
const tenantId = (slug: string) => h.tenants.find((t) => t.slug === slug)!.id;
const STALE = new Date(SEED_NOW.getTime() - 24 * 3_600_000).toISOString();
const MISSING = `FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id WHERE d.tenant_id = ? AND dp.state IN ('missing', 'failed')`;

beforeAll(async () => {
  h = await createHarness();
  run = runner(h);
  // Some pending commands to count: a scheduled patch install on acme-dental.
  const m = h.db.prepare(`SELECT dp.device_id, dp.patch_id FROM device_patches dp JOIN devices d ON d.id = dp.device_id
    WHERE d.tenant_id = ? AND dp.state = 'missing' AND d.os = 'windows' LIMIT 2`).all(tenantId('acme-dental')) as { device_id: string; patch_id: string }[];
  await run(deployPatches, { deviceIds: m.map((x) => x.device_id), patchIds: m.map((x) => x.patch_id) }, ctxAt(h, ['acme-dental']));
});

describe('fleet_health_check', () => {
  it('reports per-tenant numbers that match the store', async () => {
    const r = await run(fleetHealthCheck, {}, ctxAt(h));
    expect(r.tenants.map((t) => t.tenant).sort()).toEqual(h.tenants.map((t) => t.slug).sort());
    expect(r.healthRule).toBe(HEALTH_RULE);
    for (const t of r.tenants) {
      const tid = tenantId(t.tenant);
      expect(t.devices.total).toBe(count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', tid));
      expect(t.devices.online).toBe(count(`SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND status = 'online'`, tid));
      expect(t.devices.offline).toBe(count(`SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND status = 'offline'`, tid));
      for (const os of t.devices.byOs) {
        expect(os.online).toBe(count(`SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND os = ? AND status = 'online'`, tid, os.os));
        expect(os.offline).toBe(count(`SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND os = ? AND status = 'offline'`, tid, os.os));
      }
      expect(t.devices.byOs.reduce((s, o) => s + o.total, 0)).toBe(t.devices.total);
      expect(t.notSeenOver24h).toBe(count('SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND last_seen_at < ?', tid, STALE));
      for (const sev of ['critical', 'high', 'medium', 'low', 'info'] as const) {
        expect(t.openAlerts[sev]).toBe(count(`SELECT count(*) AS n FROM alerts WHERE tenant_id = ? AND severity = ? AND status != 'resolved'`, tid, sev));
      }
      expect(t.openAlerts.total).toBe(count(`SELECT count(*) AS n FROM alerts WHERE tenant_id = ? AND status != 'resolved'`, tid));
      for (const sev of ['critical', 'important', 'moderate', 'low'] as const) {
        expect(t.missingPatches[sev]).toBe(count(`SELECT count(*) AS n ${MISSING} AND p.severity = ?`, tid, sev));
      }
      expect(t.missingPatches.devicesAffected).toBe(count(`SELECT count(DISTINCT dp.device_id) AS n ${MISSING}`, tid));
      expect(t.compliance.nonCompliant).toBe(count(`SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND compliance = 'non_compliant'`, tid));
      expect(t.compliance.compliant + t.compliance.nonCompliant + t.compliance.unknown).toBe(t.devices.total);
      expect(t.pendingCommands).toBe(count(`SELECT count(*) AS n FROM device_commands WHERE tenant_id = ? AND status IN ('queued', 'running')`, tid));
    }
    expect(r.tenants.find((t) => t.tenant === 'acme-dental')!.pendingCommands).toBeGreaterThan(0);
  });

  it('lists the worst devices with reasons, capped with an explicit truncated flag', async () => {
    const r = await run(fleetHealthCheck, { tenant: 'acme-dental', topDevices: 2 }, ctxAt(h));
    const t = r.tenants[0]!;
    expect(r.tenants).toHaveLength(1);
    const tid = tenantId('acme-dental');
    const problems = count(`SELECT count(*) AS n FROM devices d WHERE d.tenant_id = ? AND (d.status = 'offline' OR d.last_seen_at < ? OR d.compliance = 'non_compliant'
      OR d.isolated = 1 OR EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = d.id AND a.status != 'resolved' AND a.severity IN ('critical', 'high'))
      OR EXISTS (SELECT 1 FROM device_patches dp JOIN patches p ON p.id = dp.patch_id WHERE dp.device_id = d.id
        AND ((dp.state IN ('missing', 'failed') AND p.severity = 'critical') OR dp.state = 'failed')))`, tid, STALE);
    expect(t.problemDeviceTotal).toBe(problems);
    expect(t.problemDevices).toHaveLength(Math.min(2, problems));
    expect(t.problemDevicesTruncated).toBe(problems > 2);
    expect(t.problemDevices[0]!.points).toBeGreaterThanOrEqual(t.problemDevices[1]!.points);
    expect(t.problemDevices.every((d) => d.reasons.length > 0 && d.hostname.startsWith('ACME-'))).toBe(true);
    const all = (await run(fleetHealthCheck, { tenant: 'acme-dental', topDevices: 25 }, ctxAt(h))).tenants[0]!;
    expect(all.problemDevices).toHaveLength(problems);
    expect(all.problemDevicesTruncated).toBe(false);
  });

  it('scores health by the documented rule', async () => {
    const r = await run(fleetHealthCheck, {}, ctxAt(h));
    expect(fleetHealthCheck.description).toContain(HEALTH_RULE);
    for (const t of r.tenants) {
      const sum = t.health.deductions.reduce((s, d) => s + d.points, 0);
      expect(t.health.score).toBe(Math.max(0, Math.round(100 - sum)));
      expect(t.health.grade).toBe(gradeOf(t.health.score));
      const crit = t.health.deductions.find((d) => d.factor === 'open critical alerts')?.points ?? 0;
      expect(crit).toBe(Math.min(20, 5 * t.openAlerts.critical));
      const nc = t.health.deductions.find((d) => d.factor === 'non-compliant devices')?.points ?? 0;
      expect(nc).toBeCloseTo((25 * t.compliance.nonCompliant) / t.devices.total, 1);
    }
    expect([gradeOf(100), gradeOf(90), gradeOf(89), gradeOf(60), gradeOf(59)]).toEqual(['A', 'A', 'B', 'D', 'F']);
    expect(healthOf([], 0, 0, STALE)).toEqual({ score: 100, grade: 'A', deductions: [] });
    expect(healthOf([], 10, 10, STALE).score).toBe(70);
  });

  it('keeps to the key\'s tenants', async () => {
    const r = await run(fleetHealthCheck, {}, ctxAt(h, ['northwind-legal']));
    expect(r.tenants.map((t) => t.tenant)).toEqual(['northwind-legal']);
    expect((await denial(() => run(fleetHealthCheck, { tenant: 'acme-dental' }, ctxAt(h, ['northwind-legal'])))).code).toBe('TENANT_DENIED');
    expect(fleetHealthCheck.annotations.readOnlyHint).toBe(true);
  });
});

describe('compliance_summary', () => {
  it('counts compliance per tenant and overall, matching SQL', async () => {
    const r = await run(complianceSummary, {}, ctxAt(h));
    for (const t of r.tenants) {
      const tid = tenantId(t.tenant);
      const c = (v: string) => count('SELECT count(*) AS n FROM devices WHERE tenant_id = ? AND compliance = ?', tid, v);
      expect([t.compliant, t.nonCompliant, t.unknown]).toEqual([c('compliant'), c('non_compliant'), c('unknown')]);
      expect(t.total).toBe(count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', tid));
      expect(t.compliantPercent).toBe(Math.round((t.compliant / t.total) * 1000) / 10);
      expect(t.devicesMissingCriticalPatches).toBe(count(`SELECT count(DISTINCT dp.device_id) AS n ${MISSING} AND p.severity = 'critical'`, tid));
      expect(t.nonCompliantDevices.every((d) => d.compliance === 'non_compliant')).toBe(true);
      expect(t.nonCompliantDevices).toHaveLength(t.nonCompliant);
      expect(t.criticalPatchDevices.every((d) => d.missingCriticalPatches > 0)).toBe(true);
    }
    expect(r.overall.total).toBe(count('SELECT count(*) AS n FROM devices'));
    expect(r.overall.compliant).toBe(count(`SELECT count(*) AS n FROM devices WHERE compliance = 'compliant'`));
  });

  it('caps the device lists with truncated flags, totals stay complete', async () => {
    const t = (await run(complianceSummary, { tenant: 'globex-logistics', listLimit: 1 }, ctxAt(h))).tenants[0]!;
    expect(t.nonCompliantDevices.length).toBe(Math.min(1, t.nonCompliant));
    expect(t.nonCompliantTruncated).toBe(t.nonCompliant > 1);
    expect(t.criticalPatchDevices.length).toBe(1);
    expect(t.criticalPatchDevicesTruncated).toBe(t.devicesMissingCriticalPatches > 1);
    expect(t.devicesMissingCriticalPatches).toBeGreaterThan(1);
    expect(() => complianceSummary.input.parse({ listLimit: 101 })).toThrow();
  });

  it('stays inside the key', async () => {
    const r = await run(complianceSummary, {}, ctxAt(h, ['acme-dental']));
    expect(r.tenants.map((t) => t.tenant)).toEqual(['acme-dental']);
    expect(r.overall.total).toBe(count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', tenantId('acme-dental')));
  });
});
