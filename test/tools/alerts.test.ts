import { beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { acknowledgeAlerts, getAlerts, resolveAlerts } from '../../src-main/tools/alerts.ts';
import type { CallCtx } from '../helpers/toolHarness.ts';
import { SEED_NOW as NOW, denial, runner } from './util.ts';

let h: Harness;
let ctx: CallCtx;
let run: ReturnType<typeof runner>;
const count = (sql: string, ...params: unknown[]) => (h.db.prepare(sql).get(...params) as { n: number }).n;
const tenantId = (slug: string) => h.tenants.find((t) => t.slug === slug)!.id;
const alertIdsWhere = (sql: string, ...params: unknown[]) => (h.db.prepare(`SELECT id FROM alerts WHERE ${sql} ORDER BY id`).all(...params) as { id: string }[]).map((r) => r.id);

beforeEach(async () => {
  h = await createHarness();
  run = runner(h);
  ctx = { ...h.ctx(), now: NOW };
});

describe('get_alerts', () => {
  it('defaults to open alerts (active and acknowledged) of every tenant of the key', async () => {
    const r = await run(getAlerts, {}, ctx);
    expect(r.total).toBe(count(`SELECT count(*) AS n FROM alerts WHERE status != 'resolved'`));
    expect(r.total).toBeGreaterThan(0);
    expect(r.alerts.every((a) => a.status !== 'resolved')).toBe(true);
  });

  it('filters by status, severity (single or list), tenant and device, matching SQL counts', async () => {
    expect((await run(getAlerts, { status: 'resolved' }, ctx)).total).toBe(count(`SELECT count(*) AS n FROM alerts WHERE status = 'resolved'`));
    expect((await run(getAlerts, { status: ['active', 'acknowledged', 'resolved'] }, ctx)).total).toBe(count('SELECT count(*) AS n FROM alerts'));
    expect((await run(getAlerts, { severity: 'critical' }, ctx)).total)
      .toBe(count(`SELECT count(*) AS n FROM alerts WHERE status != 'resolved' AND severity = 'critical'`));
    const both = await run(getAlerts, { severity: ['critical', 'high'], limit: 100 }, ctx);
    expect(both.total).toBe(count(`SELECT count(*) AS n FROM alerts WHERE status != 'resolved' AND severity IN ('critical', 'high')`));
    expect(new Set(both.alerts.map((a) => a.severity))).toEqual(new Set(['critical', 'high']));
    const acme = await run(getAlerts, { tenant: 'acme-dental', limit: 100 }, ctx);
    expect(acme.total).toBe(count(`SELECT count(*) AS n FROM alerts WHERE status != 'resolved' AND tenant_id = ?`, tenantId('acme-dental')));
    expect(acme.alerts.every((a) => a.tenant === 'acme-dental')).toBe(true);
    const deviceId = (h.db.prepare(`SELECT device_id FROM alerts GROUP BY device_id ORDER BY count(*) DESC LIMIT 1`).get() as { device_id: string }).device_id;
    const dev = await run(getAlerts, { deviceId, status: ['active', 'acknowledged', 'resolved'] }, ctx);
    expect(dev.total).toBe(count('SELECT count(*) AS n FROM alerts WHERE device_id = ?', deviceId));
    expect(dev.alerts.every((a) => a.deviceId === deviceId && a.hostname.length > 0)).toBe(true);
  });

  it('filters on triggered time with since/until (offsets normalised)', async () => {
    const all = ['active', 'acknowledged', 'resolved'];
    const since = '2026-11-18T12:00:00Z';
    const until = '2026-11-19T12:00:00Z';
    expect((await run(getAlerts, { status: all, since }, ctx)).total).toBe(count('SELECT count(*) AS n FROM alerts WHERE triggered_at >= ?', '2026-11-18T12:00:00.000Z'));
    const between = await run(getAlerts, { status: all, since, until: '2026-11-19T13:00:00+01:00', limit: 100 }, ctx);
    expect(between.total).toBe(count('SELECT count(*) AS n FROM alerts WHERE triggered_at >= ? AND triggered_at < ?', '2026-11-18T12:00:00.000Z', '2026-11-19T12:00:00.000Z'));
    expect(between.alerts.every((a) => a.triggeredAt >= '2026-11-18T12:00:00.000Z' && a.triggeredAt < `${until.slice(0, 19)}.000Z`)).toBe(true);
    expect((await denial(() => run(getAlerts, { since: until, until: since }, ctx))).code).toBe('INVALID_ARGUMENTS');
    expect(() => getAlerts.input.parse({ since: 'yesterday' })).toThrow();
  });

  it('walks every page newest first without duplicates', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let last = '9999';
    let pages = 0;
    let total = 0;
    do {
      const r = await run(getAlerts, { status: ['active', 'acknowledged', 'resolved'], limit: 7, ...(cursor ? { cursor } : {}) }, ctx);
      total = r.total;
      for (const a of r.alerts) {
        expect(a.triggeredAt <= last).toBe(true);
        last = a.triggeredAt;
        seen.push(a.id);
      }
      expect(r.truncated).toBe(r.nextCursor !== null);
      cursor = r.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(total);
    expect(total).toBe(count('SELECT count(*) AS n FROM alerts'));
    expect(pages).toBe(Math.ceil(total / 7));
    expect((await denial(() => run(getAlerts, { cursor: 'garbage' }, ctx))).code).toBe('INVALID_ARGUMENTS');
  });

  it('keeps tenants apart: a key for one tenant sees only its alerts; foreign device ids are NOT_FOUND like unknown ones', async () => {
    const acmeOnly = { ...h.ctx(['acme-dental']), now: NOW };
    const r = await run(getAlerts, { status: ['active', 'acknowledged', 'resolved'], limit: 100 }, acmeOnly);
    expect(r.total).toBe(count('SELECT count(*) AS n FROM alerts WHERE tenant_id = ?', tenantId('acme-dental')));
    const foreignDevice = (h.db.prepare('SELECT id FROM devices WHERE tenant_id = ? LIMIT 1').get(tenantId('globex-logistics')) as { id: string }).id;
    const foreign = await denial(() => run(getAlerts, { deviceId: foreignDevice }, acmeOnly));
    const unknown = await denial(() => run(getAlerts, { deviceId: 'no-such-device' }, acmeOnly));
    expect(foreign.code).toBe('NOT_FOUND');
    expect(unknown.code).toBe('NOT_FOUND');
    expect(foreign.message.replace(foreignDevice, 'X')).toBe(unknown.message.replace('no-such-device', 'X'));
    expect((await denial(() => run(getAlerts, { tenant: 'globex-logistics' }, acmeOnly))).code).toBe('TENANT_DENIED');
  });
});

describe('acknowledge_alerts', () => {
  it('acknowledges active alerts, reports acknowledged ones as unchanged and resolved ones as skipped', async () => {
    const acme = tenantId('acme-dental');
    const active = alertIdsWhere(`tenant_id = ? AND status = 'active'`, acme).slice(0, 3);
    const acked = alertIdsWhere(`tenant_id = ? AND status = 'acknowledged'`, acme).slice(0, 1);
    const resolved = alertIdsWhere(`tenant_id = ? AND status = 'resolved'`, acme).slice(0, 1);
    expect(active.length).toBe(3);
    expect(acked.length).toBe(1);
    expect(resolved.length).toBe(1);
    const r = await run(acknowledgeAlerts, { alertIds: [...active, ...acked, ...resolved, active[0]], note: 'on it' }, ctx);
    expect(r.counts).toEqual({ changed: 3, unchanged: 1, skipped: 1 });
    expect(r.acknowledgedBy).toBe('key:test');
    expect(r.results.find((x) => x.alertId === resolved[0])).toMatchObject({ outcome: 'skipped', status: 'resolved' });
    expect(r.results.find((x) => x.alertId === acked[0])).toMatchObject({ outcome: 'unchanged', status: 'acknowledged' });

    const after = await run(getAlerts, { tenant: 'acme-dental', status: 'acknowledged', limit: 100 }, ctx);
    for (const id of active) {
      expect(after.alerts.find((a) => a.id === id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'key:test', acknowledgedAt: NOW.toISOString() });
    }
    // The earlier acknowledgement is kept, not overwritten.
    expect(after.alerts.find((a) => a.id === acked[0])!.acknowledgedBy).toBe('technician');
    // A repeat changes nothing.
    expect((await run(acknowledgeAlerts, { alertIds: active }, ctx)).counts).toEqual({ changed: 0, unchanged: 3, skipped: 0 });
  });

  it('plans without writing and describes the alerts for the approval card', async () => {
    const ids = alertIdsWhere(`tenant_id = ? AND status = 'active'`, tenantId('northwind-legal')).slice(0, 2);
    const before = count('SELECT total_changes() AS n');
    const plan = await h.plan(acknowledgeAlerts, acknowledgeAlerts.input.parse({ alertIds: ids, note: 'looking' }), ctx);
    expect(count('SELECT total_changes() AS n')).toBe(before);
    expect(plan.tenant?.slug).toBe('northwind-legal');
    expect(plan.summary).toContain('acknowledge 2 alert(s) in northwind-legal');
    expect(plan.detail).toMatchObject({ alertCount: 2, note: 'looking' });
    expect(count(`SELECT count(*) AS n FROM alerts WHERE id IN (?, ?) AND status = 'active'`, ...ids)).toBe(2);
  });

  it('refuses foreign and unknown ids alike, and alerts spanning tenants', async () => {
    const acmeOnly = { ...h.ctx(['acme-dental']), now: NOW };
    const foreign = alertIdsWhere('tenant_id = ?', tenantId('northwind-legal'))[0]!;
    const mine = alertIdsWhere(`tenant_id = ? AND status = 'active'`, tenantId('acme-dental'))[0]!;
    const e = await denial(() => run(acknowledgeAlerts, { alertIds: [mine, foreign] }, acmeOnly));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).not.toContain('northwind');
    expect((await denial(() => run(acknowledgeAlerts, { alertIds: ['nope'] }, acmeOnly))).code).toBe('NOT_FOUND');
    expect(count(`SELECT count(*) AS n FROM alerts WHERE id = ? AND status = 'active'`, mine)).toBe(1);
    const span = await denial(() => run(acknowledgeAlerts, { alertIds: [mine, foreign] }, ctx));
    expect(span.code).toBe('INVALID_ARGUMENTS');
    expect(span.rule).toBe('single_tenant');
  });

  it('bounds its input', async () => {
    expect(() => acknowledgeAlerts.input.parse({ alertIds: [] })).toThrow();
    expect(() => acknowledgeAlerts.input.parse({ alertIds: Array.from({ length: 101 }, (_, i) => `a${i}`) })).toThrow();
    expect(() => acknowledgeAlerts.input.parse({ alertIds: ['a'], note: 'x'.repeat(1001) })).toThrow();
    expect(acknowledgeAlerts.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: true });
  });
});

describe('resolve_alerts', () => {
  it('resolves open alerts with the note kept; later reads show it and default reads hide it', async () => {
    const globex = tenantId('globex-logistics');
    const open = alertIdsWhere(`tenant_id = ? AND status IN ('active', 'acknowledged')`, globex).slice(0, 4);
    const note = 'Rebooted the print server; queue drained and CUPS is healthy.';
    const r = await run(resolveAlerts, { alertIds: open, resolutionNote: note }, ctx);
    expect(r.counts).toEqual({ changed: 4, unchanged: 0, skipped: 0 });
    expect(r.resolvedBy).toBe('key:test');

    const resolved = await run(getAlerts, { tenant: 'globex-logistics', status: 'resolved', limit: 100 }, ctx);
    for (const id of open) {
      expect(resolved.alerts.find((a) => a.id === id)).toMatchObject({ status: 'resolved', resolutionNote: note, resolvedBy: 'key:test', resolvedAt: NOW.toISOString() });
    }
    const defaults = await run(getAlerts, { tenant: 'globex-logistics', limit: 100 }, ctx);
    expect(defaults.alerts.some((a) => open.includes(a.id))).toBe(false);

    // Resolving again leaves the first note in place.
    const again = await run(resolveAlerts, { alertIds: open.slice(0, 1), resolutionNote: 'different' }, ctx);
    expect(again.results[0]).toMatchObject({ outcome: 'unchanged', status: 'resolved' });
    expect((h.db.prepare('SELECT resolution_note FROM alerts WHERE id = ?').get(open[0]) as { resolution_note: string }).resolution_note).toBe(note);
    // Resolved alerts can no longer be acknowledged.
    expect((await run(acknowledgeAlerts, { alertIds: open.slice(0, 1) }, ctx)).results[0]!.outcome).toBe('skipped');
  });

  it('requires a bounded resolution note and refuses foreign ids', async () => {
    expect(() => resolveAlerts.input.parse({ alertIds: ['a'] })).toThrow();
    expect(() => resolveAlerts.input.parse({ alertIds: ['a'], resolutionNote: '   ' })).toThrow();
    expect(() => resolveAlerts.input.parse({ alertIds: ['a'], resolutionNote: 'x'.repeat(2001) })).toThrow();
    const foreign = alertIdsWhere(`tenant_id = ? AND status = 'active'`, tenantId('globex-logistics'))[0]!;
    const e = await denial(() => run(resolveAlerts, { alertIds: [foreign], resolutionNote: 'done' }, { ...h.ctx(['northwind-legal']), now: NOW }));
    expect(e.code).toBe('NOT_FOUND');
    expect(count(`SELECT count(*) AS n FROM alerts WHERE id = ? AND status = 'active'`, foreign)).toBe(1);
  });
});
