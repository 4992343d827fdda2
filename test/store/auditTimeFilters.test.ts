// The audit log has no index on `at` (every commit wrote a page of it): time filters read entries in seq order. They
// still find exactly the entries in the window, also those written while the clock had stepped back, on both stores;
// on SQLite the console's page and the simulator's history run in seq order, never sorting the window.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GENESIS_HASH, hashRow, HASHED_COLUMNS, type AuditRow } from '../../src-main/audit/log.ts';
import { createAuditQueries } from '../../src-main/console/auditQuery.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { MIGRATIONS } from '../../src-main/store/migrations/index.ts';
import { openPgStore } from '../../src-main/store/pg/store.ts';
import { sqliteStore, type Store } from '../../src-main/store/store.ts';
import { describeStores, newDatabase } from '../helpers/stores.ts';

const signingKey = generateKeyPairSync('ed25519').privateKey;
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'cs-audit-time-')), 'countersign.db');

async function openStore(kind: 'sqlite' | 'postgres'): Promise<Store> {
  if (kind === 'postgres') return openPgStore({ url: await newDatabase('audit-time'), signingKey });
  return sqliteStore(openDatabase(dbFile(), { create: true }), { signingKey });
}

// Minutes past 10:00 at which entries 1..8 are written: the clock steps back after the fourth.
const MINUTES = [0, 10, 20, 30, 5, 15, 25, 35];
const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 10, m)).toISOString();

afterEach(() => void vi.useRealTimers());

describeStores('audit time filters without an index on at', (kind) => {
  it('find every entry in the window, in seq order, newest first, also those written after the clock stepped back', async () => {
    const store = await openStore(kind);
    try {
      const indexes = kind === 'postgres'
        ? `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'audit_log' AND indexname <> 'audit_log_pkey' ORDER BY 1`
        : `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY 1`;
      // No index on at (migration 14) nor on key_id (20): an append writes the table's pages only.
      expect((await store.sql.all<{ name: string }>(indexes)).map((r) => r.name)).toEqual([]);
      vi.useFakeTimers({ toFake: ['Date'] });
      for (const [i, m] of MINUTES.entries()) {
        vi.setSystemTime(new Date(at(m)));
        await store.audit.append({ event: 'system', decision: 'info', outcome: `entry ${i + 1}` });
      }
      vi.useRealTimers();
      const q = createAuditQueries(store.sql);
      const window = { from: at(8), to: at(26) };
      const expected = MINUTES.map((m, i) => ({ seq: i + 1, m })).filter(({ m }) => m >= 8 && m <= 26).map(({ seq }) => seq).reverse();
      expect(expected).toEqual([7, 6, 3, 2]);
      const all = await q.query({ ...window, limit: 50 });
      expect(all.entries.map((e) => e.seq)).toEqual(expected);
      expect(all.total).toBe(4);
      // Keyset pages over the window give the same entries.
      const first = await q.query({ ...window, limit: 3 });
      expect(first.entries.map((e) => e.seq)).toEqual([7, 6, 3]);
      const second = await q.query({ ...window, limit: 3, beforeSeq: first.nextBeforeSeq! });
      expect(second.entries.map((e) => e.seq)).toEqual([2]);
      expect(second.nextBeforeSeq).toBeNull();
      expect((await store.audit.verify()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('the audit log without audit_by_time [SQLite]', () => {
  it('a database made before the migrations loses both indexes (at, then key_id), keeps its entries and their chain', () => {
    const file = dbFile();
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    // Every migration before the drop (later ones need the schema it leaves).
    const drop = MIGRATIONS.findIndex((m) => m.name === 'audit-without-time-index');
    expect(drop).toBeGreaterThan(0);
    const before = MIGRATIONS.slice(0, drop);
    old.transaction(() => {
      for (const m of before) old.exec(m.sql);
      old.pragma(`user_version = ${before.at(-1)!.version}`);
    })();
    const insert = old.prepare(`INSERT INTO audit_log (${HASHED_COLUMNS.join(', ')}, prev_hash, hash) VALUES (${HASHED_COLUMNS.map((c) => `@${c}`).join(', ')}, @prev_hash, @hash)`);
    let prev = GENESIS_HASH;
    for (const [i, m] of MINUTES.entries()) {
      const row = { ...Object.fromEntries(HASHED_COLUMNS.map((c) => [c, null])), seq: i + 1, at: at(m), event: 'system', decision: 'info', prev_hash: prev } as unknown as Omit<AuditRow, 'hash'>;
      prev = hashRow(row);
      insert.run({ ...row, hash: prev });
    }
    const indexes = (d: Database.Database) => d.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY name`).pluck().all();
    expect(indexes(old)).toEqual(['audit_by_key', 'audit_by_time']);
    old.close();

    const db = openDatabase(file);
    expect(indexes(db)).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(MINUTES.length);
    expect((db.prepare('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1').pluck().get())).toBe(prev);
    db.close();
  });

  it('the console\'s time-window page and the simulator\'s history read in seq order, without sorting the window', () => {
    const db = openDatabase(dbFile(), { create: true });
    const plan = (sql: string, n: number) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<string>(n).fill('x')) as { detail: string }[]).map((r) => r.detail).join(' | ');
    // The console (console/auditQuery.ts): a page of a time window, newest first, within a range of blocks the
    // summaries name (audit/facets.ts), and the next page after a seq (the range's end moved below it).
    expect(plan('SELECT seq FROM audit_log WHERE seq >= ? AND seq <= ? AND at >= ? AND at <= ? ORDER BY seq DESC LIMIT ?', 5)).toBe('SEARCH audit_log USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)');
    // The simulator's history (governance/simulate.ts), in keyset pages within each such range.
    expect(plan(`SELECT seq FROM audit_log WHERE event = 'tool_call' AND at >= ? AND at <= ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT 500`, 4)).toBe('SEARCH audit_log USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)');
    // A key's entries are read as the other filters' are (migration 20): newest first, in seq order, never sorted.
    expect(plan('SELECT seq FROM audit_log WHERE seq >= ? AND seq <= ? AND key_id = ? ORDER BY seq DESC LIMIT ?', 4)).toBe('SEARCH audit_log USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)');
    db.close();
  });
});
