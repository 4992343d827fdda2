import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../../../src-main/app.ts';
import { seedDemoFleet } from '../../../src-main/demo/seed.ts';
import { listTenants } from '../../../src-main/auth/keys.ts';
import { sqliteSql } from '../../../src-main/store/sql.ts';
import { tenantReader } from '../../../src-main/store/data/index.ts';
import type { Db } from '../../../src-main/store/db.ts';

// The trigram index must change how fast a hostname search is, never what it finds: every search gives exactly the
// devices a case-insensitive substring match over all of them would, after inserts, renames and deletes too.
let db: Db;
const names = ['WS-Accounting-01', 'ws-accounting-02', 'SRV-DC01', 'srv-dc02.corp.local', 'Laptop_Ünï', 'MAC-50%-OFF', 'nas\\backup', 'ab', 'SYN-000123', 'syn-000124', 'Café-POS'];

beforeAll(() => {
  ({ db } = initDataDir(mkdtempSync(join(tmpdir(), 'cs-search-'))));
  seedDemoFleet(db);
  const t = listTenants(db)[0]!;
  const insert = db.prepare(`INSERT INTO devices (id, tenant_id, hostname, os, os_version, status, compliance, last_seen_at, enrolled_at) VALUES (?, ?, ?, 'linux', '1', 'online', 'compliant', '2026-01-01', '2026-01-01')`);
  names.forEach((n, i) => insert.run(`search-${i}`, t.id, n));
  for (let i = 0; i < 2000; i++) insert.run(`bulk-${i}`, t.id, `BULK-${String(i).padStart(5, '0')}-${i % 3 ? 'east' : 'WEST'}`);
});
afterAll(() => db.close());

async function search(term: string): Promise<string[]> {
  const reader = tenantReader(sqliteSql(db, { readOnly: true }), listTenants(db), { keyId: 'k', approvalId: null, now: new Date() });
  const { total, rows } = await reader.devices.list({ search: term }, 0, 10_000);
  expect(total).toBe(rows.length);
  return rows.map((r) => r.hostname).sort();
}
const brute = (term: string) => (db.prepare('SELECT hostname FROM devices').pluck().all() as string[]).filter((h) => h.toLowerCase().includes(term.toLowerCase())).sort();

describe('hostname search through the trigram index', () => {
  const terms = ['acc', 'ACCOUNTING', 'dc0', 'corp.local', 'SYN-0001', 'ünï', 'Ünï', '50%', '%', '_', 'p_ü', 'nas\\b', 'ab', 'a', 'east', '-WEST', 'BULK-0199', 'zzz', 'é-P'];
  for (const term of terms) {
    it(`finds exactly what a full scan finds: ${JSON.stringify(term)}`, async () => {
      // Non-ASCII letters: SQLite's NOCASE folds ASCII only, so the reference does too for them.
      const expected = /[^\x00-\x7f]/.test(term) ? (db.prepare(`SELECT hostname FROM devices WHERE instr(hostname, ?) > 0`).pluck().all(term) as string[]).sort() : brute(term);
      expect(await search(term)).toEqual(expected);
    });
  }

  it('follows inserts, renames and deletes in the same transaction', async () => {
    const t = listTenants(db)[0]!;
    db.prepare(`INSERT INTO devices (id, tenant_id, hostname, os, os_version, status, compliance, last_seen_at, enrolled_at) VALUES ('late', ?, 'Reception-PC-7', 'windows', '11', 'online', 'compliant', '2026-01-01', '2026-01-01')`).run(t.id);
    expect(await search('eception')).toEqual(['Reception-PC-7']);
    db.prepare(`UPDATE devices SET hostname = 'FrontDesk-PC-7' WHERE id = 'late'`).run();
    expect(await search('eception')).toEqual([]);
    expect(await search('frontdesk')).toEqual(['FrontDesk-PC-7']);
    db.prepare(`DELETE FROM devices WHERE id = 'late'`).run();
    expect(await search('frontdesk')).toEqual([]);
    // FTS5's own check of the index against the devices table: it throws when they disagree.
    expect(() => db.prepare(`INSERT INTO device_search(device_search, rank) VALUES ('integrity-check', 1)`).run()).not.toThrow();
  });

  it('a search of three characters or more is answered from the index, not by reading every device', () => {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT d.id FROM devices d WHERE d.rowid IN (SELECT rowid FROM device_search WHERE hostname LIKE ?)`).all('%acc%') as { detail: string }[]).map((r) => r.detail).join('\n');
    expect(plan).toMatch(/VIRTUAL TABLE INDEX/);
    expect(plan).not.toMatch(/^SCAN d\b/m);
  });
});
