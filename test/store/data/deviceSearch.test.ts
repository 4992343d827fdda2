import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initDataDir } from '../../../src-main/app.ts';
import { seedDemoFleet } from '../../../src-main/demo/seed.ts';
import { listTenants, type Tenant } from '../../../src-main/auth/keys.ts';
import { tenantReader } from '../../../src-main/store/data/index.ts';
import type { Store } from '../../../src-main/store/store.ts';
import { describeStores, storeUrlFor } from '../../helpers/stores.ts';

// The trigram index (SQLite: FTS5; PostgreSQL: pg_trgm) must change how fast a hostname search is, never what it finds:
// every search gives exactly the devices a substring match over all of them would (ASCII letters in any case, other
// characters as they are, on both stores), after inserts, renames and deletes too.
const names = ['WS-Accounting-01', 'ws-accounting-02', 'SRV-DC01', 'srv-dc02.corp.local', 'Laptop_Ünï', 'MAC-50%-OFF', 'nas\\backup', 'ab', 'SYN-000123', 'syn-000124', 'Café-POS'];
const INSERT = `INSERT INTO devices (id, tenant_id, hostname, os, os_version, status, compliance, last_seen_at, enrolled_at) VALUES (?, ?, ?, 'linux', '1', 'online', 'compliant', '2026-01-01', '2026-01-01')`;
/** SQLite's lower() and PostgreSQL's under the "C" collation fold ASCII letters only: the reference does too. */
const fold = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

describeStores('hostname search through the trigram index', (kind) => {
  let store: Store;
  let tenant: Tenant;
  beforeAll(async () => {
    ({ store } = await initDataDir(mkdtempSync(join(tmpdir(), 'cs-search-')), undefined, { storeUrl: await storeUrlFor(kind, 'search') }));
    await seedDemoFleet(store);
    tenant = (await listTenants(store.sql))[0]!;
    await store.write(async (tx) => {
      for (const [i, n] of names.entries()) await tx.sql.run(INSERT, [`search-${i}`, tenant.id, n]);
      for (let i = 0; i < 2000; i++) await tx.sql.run(INSERT, [`bulk-${i}`, tenant.id, `BULK-${String(i).padStart(5, '0')}-${i % 3 ? 'east' : 'WEST'}`]);
    });
  });
  afterAll(async () => {
    await store.close();
  });

  async function search(term: string): Promise<string[]> {
    const reader = tenantReader(store.readOnly, await listTenants(store.sql), { keyId: 'k', approvalId: null, now: new Date() });
    const { total, rows } = await reader.devices.list({ search: term }, 0, 10_000);
    expect(total).toBe(rows.length);
    return rows.map((r) => r.hostname).sort();
  }
  const brute = async (term: string) => (await store.sql.all<{ hostname: string }>('SELECT hostname FROM devices')).map((r) => r.hostname)
    .filter((h) => fold(h).includes(fold(term))).sort();

  const terms = ['acc', 'ACCOUNTING', 'dc0', 'corp.local', 'SYN-0001', 'ünï', 'Ünï', '50%', '%', '_', 'p_ü', 'nas\\b', 'ab', 'a', 'east', '-WEST', 'BULK-0199', 'zzz', 'é-P'];
  for (const term of terms) {
    it(`finds exactly what a full scan finds: ${JSON.stringify(term)}`, async () => {
      expect(await search(term)).toEqual(await brute(term));
    });
  }

  it('follows inserts, renames and deletes in the same transaction', async () => {
    await store.write((tx) => tx.sql.run(INSERT.replace("'linux', '1'", "'windows', '11'"), ['late', tenant.id, 'Reception-PC-7']));
    expect(await search('eception')).toEqual(['Reception-PC-7']);
    await store.write((tx) => tx.sql.run(`UPDATE devices SET hostname = 'FrontDesk-PC-7' WHERE id = 'late'`));
    expect(await search('eception')).toEqual([]);
    expect(await search('frontdesk')).toEqual(['FrontDesk-PC-7']);
    await store.write((tx) => tx.sql.run(`DELETE FROM devices WHERE id = 'late'`));
    expect(await search('frontdesk')).toEqual([]);
    // SQLite: FTS5's own check of the index against the devices table (it throws when they disagree); PostgreSQL keeps
    // its index in the row's transaction itself.
    if (kind === 'sqlite') await store.write((tx) => tx.sql.run(`INSERT INTO device_search(device_search, rank) VALUES ('integrity-check', 1)`));
  });

  it('a search of three characters or more can be answered from the index, not by reading every device', async () => {
    if (kind === 'sqlite') {
      const plan = (await store.sql.all<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT d.id FROM devices d WHERE d.rowid IN (SELECT rowid FROM device_search WHERE hostname LIKE ?)`, ['%acc%']))
        .map((r) => r.detail).join('\n');
      expect(plan).toMatch(/VIRTUAL TABLE INDEX/);
      expect(plan).not.toMatch(/^SCAN d\b/m);
    } else {
      // The data layer's own predicate; sequential scans off, so the plan shows whether the index can serve it at all.
      const plan = await store.write(async (tx) => {
        await tx.sql.run('SET LOCAL enable_seqscan = off');
        // With the table's statistics, as autovacuum keeps them: without, a full walk of a b-tree index looks as cheap.
        await tx.sql.run('ANALYZE devices');
        return (await tx.sql.all<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT d.id FROM devices d WHERE lower(d.hostname COLLATE "C") LIKE lower(CAST(? AS text) COLLATE "C") ESCAPE '\\'`, ['%acc%']))
          .map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/devices_hostname_trgm/);
    }
  });
});
