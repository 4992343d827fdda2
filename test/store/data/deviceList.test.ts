import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initDataDir } from '../../../src-main/app.ts';
import { seedDemoFleet } from '../../../src-main/demo/seed.ts';
import { listTenants, type Tenant } from '../../../src-main/auth/keys.ts';
import { tenantReader } from '../../../src-main/store/data/index.ts';
import { listDevices } from '../../../src-main/tools/devices.ts';
import type { ReadContext } from '../../../src-main/tools/types.ts';
import type { Store } from '../../../src-main/store/store.ts';
import { describeStores, storeUrlFor } from '../../helpers/stores.ts';

// list_devices reads totals from counts kept by triggers and chooses between walking the hostname index, sorting the
// filtered devices and the trigram index's candidates: none of that may change an answer. Every page of a seeded mix
// of filters, followed by its cursors, must give exactly what a plain filter over all the rows gives, in the store's
// own hostname order, with the same total on every page; and again after devices are inserted, changed and deleted.
// 6,000 devices, so a search without other filters goes through the trigram index and one with them does not.
const DEVICES = 6_000;
const STATUS = ['online', 'offline'] as const;
const OS = ['windows', 'macos', 'linux'] as const;
const COMPLIANCE = ['compliant', 'non_compliant', 'unknown'] as const;
// Beyond ASCII: a BMP letter above the surrogates (fullwidth Ａ) and one beyond the BMP (𝔸): the store's text order, not JavaScript's.
const HOSTS = ['WS', 'srv', 'Lap', 'SYN', 'Ünï-kiosk', 'Ａ-fw', '𝔸-math'];
const TERMS = [undefined, undefined, 'ws-1', 'EAST', 'SYN-00', 'SYN-001', 's', '5', '%', '_', 'zzz', 'Ünï', 'ünï', 'v-2', 'west', 'ws-17-mid'];
const GROUPS = [undefined, undefined, 'servers', 'Workstations', 'no such group'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

interface Row { id: string; tenant_id: string; hostname: string; status: string; os: string; compliance: string; group_name: string | null }
interface Filter { tenant?: string; status?: string; os?: string; compliance?: string; group?: string; search?: string }
/** SQLite's lower() and PostgreSQL's under the "C" collation fold ASCII letters only: the reference does too. */
const fold = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

describeStores('list_devices against a plain filter over every device', (kind) => {
  let store: Store;
  let tenants: Tenant[];
  const rand = rng(20_261_203);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;

  beforeAll(async () => {
    ({ store } = await initDataDir(mkdtempSync(join(tmpdir(), 'cs-list-')), undefined, { storeUrl: await storeUrlFor(kind, 'list') }));
    await seedDemoFleet(store);
    tenants = await listTenants(store.sql);
    const groups = await store.sql.all<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM device_groups ORDER BY id');
    await store.write(async (tx) => {
      for (let i = 0; i < DEVICES; i++) {
        const t = tenants[i % tenants.length]!;
        const own = groups.filter((g) => g.tenant_id === t.id);
        // Repeated hostnames (ties ordered by id), devices without a group, letters in both cases and beyond ASCII.
        const host = `${pick(HOSTS)}-${Math.floor(rand() * 40)}-${pick(['east', 'WEST', 'Mid'])}${i % 9 === 0 ? '' : `-${i}`}`;
        await tx.sql.run(`INSERT INTO devices (id, tenant_id, group_id, hostname, os, os_version, status, compliance, last_seen_at, enrolled_at)
          VALUES (?, ?, ?, ?, ?, '1', ?, ?, '2026-01-01', '2026-01-01')`,
        [`dev-${String(i).padStart(5, '0')}`, t.id, i % 5 === 0 ? null : pick(own).id, host, pick(OS), pick(STATUS), pick(COMPLIANCE)]);
      }
    });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
  });

  async function reference(scope: readonly Tenant[], f: Filter): Promise<string[]> {
    const rows = await store.sql.all<Row>(`SELECT d.id, d.tenant_id, d.hostname, d.status, d.os, d.compliance, g.name AS group_name
      FROM devices d LEFT JOIN device_groups g ON g.id = d.group_id ORDER BY d.hostname, d.id`);
    const ids = new Set((f.tenant ? scope.filter((t) => t.slug === f.tenant) : scope).map((t) => t.id));
    return rows.filter((r) => ids.has(r.tenant_id) && (!f.status || r.status === f.status) && (!f.os || r.os === f.os)
      && (!f.compliance || r.compliance === f.compliance) && (!f.group || (r.group_name !== null && fold(r.group_name) === fold(f.group)))
      && (!f.search || fold(r.hostname).includes(fold(f.search)))).map((r) => r.id);
  }

  /** Every page of the tool's answer, following nextCursor: the ids in order and each page's total. */
  async function pages(scope: Tenant[], f: Filter, limit: number): Promise<{ ids: string[]; totals: number[] }> {
    const ctx = { data: tenantReader(store.readOnly, scope, { keyId: 'k', approvalId: null, now: new Date() }) } as ReadContext;
    const ids: string[] = [];
    const totals: number[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < 1000; n++) {
      const args = listDevices.input.parse({ ...f, limit, cursor });
      const out = await listDevices.execute(args, ctx, await listDevices.plan(args, ctx));
      ids.push(...out.devices.map((d) => d.id));
      totals.push(out.total);
      expect(out.truncated).toBe(out.nextCursor !== null);
      if (!out.nextCursor) break;
      cursor = out.nextCursor;
    }
    return { ids, totals };
  }

  async function compareMix(rounds: number): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const scope = i % 3 === 0 ? tenants.slice(0, 2) : tenants;
      const f: Filter = {
        tenant: rand() < 0.25 ? pick(scope).slug : undefined,
        status: rand() < 0.4 ? pick(STATUS) : undefined,
        os: rand() < 0.4 ? pick(OS) : undefined,
        compliance: rand() < 0.25 ? pick(COMPLIANCE) : undefined,
        group: pick(GROUPS),
        search: pick(TERMS),
      };
      const want = await reference(scope, f);
      // Pages of 100 over a long answer are few; short pages only where the answer is short.
      const limit = want.length > 1500 ? 100 : pick([7, 25, 100]);
      const got = await pages(scope, f, limit);
      expect({ f, ids: got.ids }).toEqual({ f, ids: want });
      expect(new Set(got.totals)).toEqual(new Set([want.length]));
    }
  }

  it('gives every page of a seeded mix of filters as the plain filter does', async () => {
    await compareMix(40);
  }, 120_000);

  it('a text search over the whole fleet (through the trigram index) keeps the exact meaning of a substring', async () => {
    // The trigram index folds letters beyond ASCII too ('Ü' and 'ü'); the answer does not.
    for (const search of ['ünï', 'Ünï', 'ÜNÏ-KIOSK', 'EAST', 'SYN-001', 'kiosk-1', '-fw-', '-1']) {
      const want = await reference(tenants, { search });
      expect({ search, ids: (await pages(tenants, { search }, 100)).ids }).toEqual({ search, ids: want });
    }
  });

  it('a page asked for by offset alone (a cursor without the last id) is the same page', async () => {
    const ctx = { data: tenantReader(store.readOnly, tenants, { keyId: 'k', approvalId: null, now: new Date() }) } as ReadContext;
    for (const f of [{ status: 'online' }, { search: 'SYN-00' }, { search: 's' }, { os: 'linux', group: 'servers' }] as Filter[]) {
      const want = await reference(tenants, f);
      const cursor = Buffer.from(JSON.stringify({ o: 50 })).toString('base64url');
      const args = listDevices.input.parse({ ...f, limit: 25, cursor });
      const out = await listDevices.execute(args, ctx, await listDevices.plan(args, ctx));
      expect(out.devices.map((d) => d.id)).toEqual(want.slice(50, 75));
      expect(out.total).toBe(want.length);
    }
  });

  it('follows inserts, changes and deletes in the device rows\' own transactions', async () => {
    const ids = (await store.sql.all<{ id: string }>(`SELECT id FROM devices WHERE id LIKE 'dev-%' ORDER BY id`)).map((r) => r.id);
    const groups = await store.sql.all<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM device_groups ORDER BY id');
    await store.write(async (tx) => {
      for (let i = 0; i < 300; i++) {
        const id = ids[Math.floor(rand() * ids.length)]!;
        const change = i % 5;
        if (change === 0) await tx.sql.run('UPDATE devices SET status = ? WHERE id = ?', [pick(STATUS), id]);
        if (change === 1) await tx.sql.run('UPDATE devices SET os = ?, compliance = ? WHERE id = ?', [pick(OS), pick(COMPLIANCE), id]);
        if (change === 2) {
          const g = pick(groups);
          await tx.sql.run('UPDATE devices SET tenant_id = ?, group_id = ? WHERE id = ?', [g.tenant_id, rand() < 0.3 ? null : g.id, id]);
        }
        if (change === 3) await tx.sql.run('UPDATE devices SET hostname = ?, last_seen_at = ? WHERE id = ?', [`renamed-${i}-WS`, '2026-02-02', id]);
        if (change === 4) await tx.sql.run(`DELETE FROM devices WHERE id = ? AND NOT EXISTS (SELECT 1 FROM device_software WHERE device_id = devices.id)`, [id]);
      }
      for (let i = 0; i < 50; i++) {
        await tx.sql.run(`INSERT INTO devices (id, tenant_id, hostname, os, os_version, status, compliance, last_seen_at, enrolled_at)
          VALUES (?, ?, ?, ?, '1', ?, ?, '2026-01-01', '2026-01-01')`, [`late-${i}`, pick(tenants).id, `late-${i}-east`, pick(OS), pick(STATUS), pick(COMPLIANCE)]);
      }
    });
    const counts = await store.sql.all<Record<string, unknown>>(`SELECT tenant_id, status, os, compliance, group_id, n FROM device_counts WHERE n > 0 ORDER BY 1, 2, 3, 4, 5`);
    const grouped = await store.sql.all<Record<string, unknown>>(`SELECT tenant_id, status, os, compliance, coalesce(group_id, '') AS group_id, count(*) AS n
      FROM devices GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`);
    expect(counts).toEqual(grouped);
    await compareMix(25);
  }, 120_000);
});
