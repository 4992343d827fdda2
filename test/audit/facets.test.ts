// The audit log's block summaries (audit/facets.ts, migrations 21 and 22): written by the append that closes each block,
// equal to the log's own grouping on both stores; the console's key, tenant, tool and time-window filters read through
// them and give the same pages and totals as reading the whole log, also where the clock stepped back; the migrations
// make the summaries of an existing log; the background integrity check finds a summary an attacker edited.
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSummaryCheck, summaryMismatches } from '../../src-main/audit/facetCheck.ts';
import { BLOCK, planBlocks } from '../../src-main/audit/facets.ts';
import type { AuditRow } from '../../src-main/audit/log.ts';
import { createAuditQueries } from '../../src-main/console/auditQuery.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { startIntegrityCheck } from '../../src-main/store/integrity.ts';
import { MIGRATIONS } from '../../src-main/store/migrations/index.ts';
import { PG_MIGRATIONS } from '../../src-main/store/pg/migrations/index.ts';
import { pgSql } from '../../src-main/store/pg/sql.ts';
import { openPgStore } from '../../src-main/store/pg/store.ts';
import { sqliteStore, type Store } from '../../src-main/store/store.ts';
import { describeStores, newDatabase, postgresAvailable, type StoreKind } from '../helpers/stores.ts';
import { createRng, type Rng } from '../helpers/prng.ts';

const signingKey = generateKeyPairSync('ed25519').privateKey;
const dbFile = () => join(mkdtempSync(join(tmpdir(), 'cs-audit-facets-')), 'countersign.db');

async function openStore(kind: StoreKind, file = dbFile()): Promise<Store> {
  if (kind === 'postgres') return openPgStore({ url: await newDatabase('audit-facets'), signingKey });
  return sqliteStore(openDatabase(file, { create: true }), { signingKey });
}

/** Entries 1..ENTRIES: two closed blocks and part of a third (the open one). */
const ENTRIES = 2 * BLOCK + 300;
const KEYS = ['k-busy', 'k-busy', 'k-busy', 'k-mid', 'k-mid', null];
const TENANTS = ['acme', 'acme', 'globex', null];
const TOOLS = ['whoami', 'list_devices', 'run_script', null];
const DECISIONS = ['allowed', 'allowed', 'failed', 'pending'] as const;

/** A seeded mix, and three values placed on purpose: a key only in the first block, one only in the open block, one in both. */
function entryAt(seq: number, rng: Rng) {
  const pick = <T>(xs: readonly T[]) => rng.pick(xs);
  let keyId = pick(KEYS);
  if (seq === 10 || seq === 700) keyId = 'k-rare-old';
  if (seq === 2 * BLOCK + 50) keyId = 'k-rare-new';
  if (seq === 20 || seq === 2 * BLOCK + 60) keyId = 'k-both-ends';
  return { event: 'tool_call' as const, decision: pick(DECISIONS), keyId, tenant: pick(TENANTS), tool: pick(TOOLS), outcome: seq % 7 === 0 ? 'seventh' : 'ok' };
}

/** Entry seq's time: a second apart, except that the clock stood an hour back for entries 900–1,099. */
const T0 = Date.UTC(2026, 5, 1, 12);
const atOf = (seq: number) => new Date(T0 + seq * 1000 - (seq >= 900 && seq < 1100 ? 3_600_000 : 0)).toISOString();

/** Migrations 21 and 22 of the store's dialect: the summaries' tables, and their rows made from the log. */
const summaryMigrations = (kind: StoreKind) => ['audit-facets', 'audit-block-times'].map((name) => (kind === 'postgres' ? PG_MIGRATIONS : MIGRATIONS).find((m) => m.name === name)!);

type Filter = { keyId?: string; tenant?: string; tool?: string; decision?: ('failed' | 'pending')[]; q?: string; from?: string; to?: string };
const decided = (f: Filter, d: string) => f.decision === undefined || (f.decision as string[]).includes(d);

/** What a filter must find, from every row of the log read in full. */
function expected(rows: AuditRow[], f: Filter): number[] {
  return rows.filter((r) => (f.keyId === undefined || r.key_id === f.keyId) && (f.tenant === undefined || r.tenant === f.tenant)
    && (f.tool === undefined || r.tool === f.tool) && decided(f, r.decision)
    && (f.q === undefined || r.outcome === f.q) && (f.from === undefined || r.at >= f.from) && (f.to === undefined || r.at <= f.to)).map((r) => r.seq).reverse();
}

const FILTERS: Filter[] = [
  { keyId: 'k-busy' }, { keyId: 'k-mid' }, { keyId: 'k-rare-old' }, { keyId: 'k-rare-new' }, { keyId: 'k-both-ends' }, { keyId: 'nobody' },
  { tenant: 'acme' }, { tenant: 'globex' }, { tool: 'run_script' }, { tool: 'nothing' },
  { keyId: 'k-mid', tool: 'whoami' }, { keyId: 'k-busy', tenant: 'globex', tool: 'run_script' }, { keyId: 'k-rare-old', tenant: 'acme' },
  { keyId: 'k-busy', decision: ['failed', 'pending'] }, { tenant: 'globex', q: 'seventh' },
  // Time windows: the whole second block and more, one inside a block, the hour the clock stood back, one end only,
  // with a key, with a condition the summaries cannot answer, and no filter at all.
  {}, { decision: ['pending'] },
  { from: atOf(1100), to: atOf(2 * BLOCK + 100) }, { from: atOf(1200), to: atOf(1300) }, { from: atOf(900), to: atOf(1099) },
  { from: atOf(2000) }, { to: atOf(500) }, { from: atOf(5000) }, { to: new Date(T0 - 7_200_000).toISOString() },
  { keyId: 'k-mid', from: atOf(1100), to: atOf(2 * BLOCK - 1) }, { tool: 'whoami', from: atOf(950) },
  { from: atOf(1024), to: atOf(2047), decision: ['failed'] },
];

describeStores('audit block summaries', (kind) => {
  let store: Store;
  let rows: AuditRow[];

  beforeAll(async () => {
    store = await openStore(kind);
    const rng = createRng(0xface7);
    // As the gate writes them: group-commit batches of a few entries (one crosses each block's end).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      for (let seq = 1; seq <= ENTRIES;) {
        const end = Math.min(ENTRIES, seq + 6);
        await store.write(async (tx) => {
          for (; seq <= end; seq++) {
            vi.setSystemTime(new Date(atOf(seq)));
            await tx.audit(entryAt(seq, rng));
          }
        });
      }
    } finally {
      vi.useRealTimers();
    }
    rows = await store.sql.all<AuditRow>('SELECT * FROM audit_log ORDER BY seq');
    expect(rows.length).toBe(ENTRIES);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('each closed block has its summary, equal to the log\'s own grouping; the open block has none', async () => {
    const stored = await store.sql.all<{ facet: string; value: string; block: number; entries: number }>('SELECT facet, value, block, entries FROM audit_facets');
    const derived = new Map<string, number>();
    for (const r of rows.filter((r) => r.seq < 2 * BLOCK)) {
      for (const [facet, value] of [['key', r.key_id], ['tenant', r.tenant], ['tool', r.tool]] as const) {
        if (value !== null) derived.set(`${facet} ${value} ${Math.floor(r.seq / BLOCK)}`, (derived.get(`${facet} ${value} ${Math.floor(r.seq / BLOCK)}`) ?? 0) + 1);
      }
    }
    expect(new Map(stored.map((s) => [`${s.facet} ${s.value} ${s.block}`, s.entries]))).toEqual(derived);
    expect(stored.some((s) => s.value === 'k-rare-new')).toBe(false);
    // Each closed block's count and earliest and latest time (block 0 holds the hour the clock stood back).
    const bounds = await store.sql.all<{ block: number; entries: number; first_at: string; last_at: string }>('SELECT block, entries, first_at, last_at FROM audit_blocks ORDER BY block');
    expect(bounds).toEqual([
      { block: 0, entries: BLOCK - 1, first_at: atOf(900), last_at: atOf(899) },
      { block: 1, entries: BLOCK, first_at: atOf(BLOCK), last_at: atOf(2 * BLOCK - 1) },
    ]);
  });

  it('filtered pages and totals through the summaries equal a read of the whole log, page after page', async () => {
    const q = createAuditQueries(store.sql);
    for (const f of FILTERS) {
      const want = expected(rows, f);
      const seen: number[] = [];
      let beforeSeq: number | undefined;
      for (let page = 0; page < 200; page++) {
        const r = await q.query({ ...f, limit: 97, ...(beforeSeq === undefined ? {} : { beforeSeq }) });
        expect(r.total, JSON.stringify(f)).toBe(want.length);
        seen.push(...r.entries.map((e) => e.seq));
        if (r.nextBeforeSeq === null) break;
        beforeSeq = r.nextBeforeSeq;
      }
      expect(seen, JSON.stringify(f)).toEqual(want);
    }
    expect(expected(rows, { keyId: 'k-rare-old' })).toEqual([700, 10]);
    expect(expected(rows, { keyId: 'k-both-ends' })).toEqual([2 * BLOCK + 60, 20]);
  });

  it('the migration makes the summaries of a log written before it, and running it again changes nothing', async () => {
    const migrations = summaryMigrations(kind);
    const read = async () => [
      await store.sql.all('SELECT facet, value, block, entries FROM audit_facets ORDER BY facet, value, block'),
      await store.sql.all('SELECT block, entries, first_at, last_at FROM audit_blocks ORDER BY block'),
    ];
    const before = await read();
    expect(before[0]!.length).toBeGreaterThan(10);
    expect(before[1]!.length).toBe(2);
    const migrate = () => store.write(async (tx) => {
      for (const m of migrations) for (const statement of m.sql.split(';').filter((s) => s.trim())) await tx.sql.run(statement);
    });
    await store.write(async (tx) => {
      await tx.sql.run('DELETE FROM audit_facets');
      await tx.sql.run('DELETE FROM audit_blocks');
    });
    await migrate();
    expect(await read()).toEqual(before);
    await migrate();
    expect(await read()).toEqual(before);
  });
  it('the comparison with the log finds them whole, then names each edit by kind and block (as PostgreSQL\'s check reports it)', async () => {
    expect(await summaryMismatches(store.sql)).toEqual([]);
    expect((await startSummaryCheck(store.sql).done).state).toBe('ok');
    await store.write(async (tx) => {
      await tx.sql.run(`UPDATE audit_facets SET entries = entries + 1 WHERE facet = 'key' AND value = 'k-mid' AND block = 1`);
      await tx.sql.run(`INSERT INTO audit_facets (facet, value, block, entries) VALUES ('tool', 'phantom', 0, 5)`);
      await tx.sql.run(`UPDATE audit_blocks SET last_at = '2000-01-01T00:00:00.000Z', first_at = '2000-01-01T00:00:00.000Z' WHERE block = 0`);
    });
    const wrong = ['missing or wrong: key in block 1', 'not in the log: key in block 1', 'missing or wrong: times in block 0', 'not in the log: times in block 0', 'not in the log: tool in block 0'];
    expect((await summaryMismatches(store.sql)).sort()).toEqual(wrong.sort());
    // A block at a time (the check reads the log in chunks of blocks): the same findings; and it stops when asked.
    expect((await summaryMismatches(store.sql, { chunk: 1 })).sort()).toEqual(wrong.sort());
    let asked = 0;
    expect(await summaryMismatches(store.sql, { chunk: 1, stopped: () => asked++ > 0 })).toEqual(['missing or wrong: times in block 0', 'not in the log: times in block 0', 'not in the log: tool in block 0']);
    const report = await startSummaryCheck(store.sql).done;
    expect(report.state).toBe('damaged');
    expect(report.detail).toContain('block summaries disagree with the log');
    expect(report.detail).not.toMatch(/k-mid|phantom|2000-01-01/);
    // Put back as the migrations make them.
    await store.write(async (tx) => {
      await tx.sql.run(`DELETE FROM audit_facets WHERE value = 'phantom'`);
      for (const m of summaryMigrations(kind)) for (const statement of m.sql.split(';').filter((x) => x.trim())) await tx.sql.run(statement);
    });
    expect(await summaryMismatches(store.sql)).toEqual([]);
  });

  it('a closed block without summaries (written by a version before them, or its rows deleted) is read, not skipped', async () => {
    await store.write(async (tx) => {
      await tx.sql.run('DELETE FROM audit_facets WHERE block = 1');
      await tx.sql.run('DELETE FROM audit_blocks WHERE block = 1');
    });
    const q = createAuditQueries(store.sql);
    for (const f of FILTERS) {
      const r = await q.query({ ...f, limit: 5000 });
      expect(r.total, JSON.stringify(f)).toBe(expected(rows, f).length);
      expect(r.entries.map((e) => e.seq), JSON.stringify(f)).toEqual(expected(rows, f));
    }
  });

  it('a row edited into the log with a seq two billion on: queries and the check step over the empty blocks (they walked every one)', async () => {
    const last = rows[rows.length - 1]!;
    const far = 2_000_000 * BLOCK + 5;
    const cols = Object.keys(last);
    await store.write((tx) => tx.sql.run(`INSERT INTO audit_log (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => (c === 'seq' ? far : (last as unknown as Record<string, unknown>)[c]))));
    let queries = 0;
    const counted = { ...store.sql, dialect: store.sql.dialect,
      all: (...a: Parameters<Store['sql']['all']>) => (queries++, store.sql.all(...a)),
      get: (...a: Parameters<Store['sql']['get']>) => (queries++, store.sql.get(...a)) } as Store['sql'];
    const plan = await planBlocks(counted, { values: [['tenant', 'acme']], others: false });
    expect(plan.ranges.length).toBeLessThan(10);
    const withFar = [...rows, { ...last, seq: far }];
    const r = await createAuditQueries(counted).query({ tenant: last.tenant ?? undefined, limit: 5000 });
    expect(r.entries.map((e) => e.seq)).toEqual(expected(withFar, { tenant: last.tenant ?? undefined }));
    queries = 0;
    const wrong = await summaryMismatches(counted);
    expect(queries).toBeLessThan(50);
    expect(wrong).toContain('missing or wrong: times in block 1');
  });
});

describe('audit block summaries and the integrity check [SQLite]', () => {
  const file = dbFile();

  beforeAll(async () => {
    const store = await openStore('sqlite', file);
    try {
      await store.write(async (tx) => {
        for (let seq = 1; seq <= BLOCK + 10; seq++) await tx.audit({ event: 'tool_call', decision: 'allowed', keyId: `k${seq % 3}`, tool: 'whoami' });
      });
    } finally {
      await store.close();
    }
  });

  it('finds the summaries whole, then finds an edited one and names it', async () => {
    const clean = await startIntegrityCheck(file).done;
    expect(clean.detail).toBeNull();
    expect(clean.state).toBe('ok');
    const db = openDatabase(file);
    // An attacker hides a key's first block from the console's filter.
    db.prepare(`DELETE FROM audit_facets WHERE facet = 'key' AND value = 'k1' AND block = 0`).run();
    // And sends another filter to a block with nothing of it, and moves a block's times out of a window that holds it.
    // (Its value holds a NUL, as an older log's could: the report still names only the kind and the block.)
    db.prepare(`INSERT INTO audit_facets (facet, value, block, entries) VALUES ('tool', ?, 0, 5)`).run('pha\u0000ntom in block 7');
    const [first, last] = db.prepare('SELECT first_at, last_at FROM audit_blocks WHERE block = 0').raw().get() as [string, string];
    db.prepare(`UPDATE audit_blocks SET first_at = '2000-01-01T00:00:00.000Z' WHERE block = 0`).run();
    db.close();
    const report = await startIntegrityCheck(file).done;
    expect(report.state).toBe('damaged');
    expect(report.detail).toContain('block summaries disagree with the log');
    expect(report.detail).toContain('missing or wrong: key in block 0');
    expect(report.detail).toContain('not in the log: tool in block 0');
    expect(report.detail).toContain('missing or wrong: times in block 0');
    // By kind and block only: /healthz, which answers anyone on the machine, shows this detail.
    expect(report.detail).not.toMatch(/k1|pha|block 7/);
    expect(report.detail).not.toContain(first.slice(0, 10));
    expect(last > first).toBe(true);
  });

  it('an entry whose block summary fails is not written either, even queued as one write; the next one takes its seq', async () => {
    const store = await openStore('sqlite');
    try {
      await store.write(async (tx) => {
        for (let seq = 1; seq < BLOCK - 1; seq++) await tx.audit({ event: 'tool_call', decision: 'allowed', keyId: 'k', tool: 'whoami' });
      });
      await store.sql.run(`CREATE TRIGGER no_room BEFORE INSERT ON audit_facets BEGIN SELECT RAISE(ABORT, 'no room for the summary'); END`);
      // Two reads' audit rows in one batch: the first closes the block and fails; the second is refused the same way.
      const results = await Promise.allSettled([0, 1].map(() => store.write((tx) => tx.audit({ event: 'tool_call', decision: 'allowed', keyId: 'k', tool: 'whoami' }), { oneWrite: true })));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(String((results[0] as PromiseRejectedResult).reason)).toContain('no room for the summary');
      expect((await store.sql.get<{ n: number }>('SELECT max(seq) AS n FROM audit_log'))!.n).toBe(BLOCK - 2);
      await store.sql.run('DROP TRIGGER no_room');
      const row = await store.write((tx) => tx.audit({ event: 'tool_call', decision: 'allowed', keyId: 'k', tool: 'whoami' }), { oneWrite: true });
      expect(row!.seq).toBe(BLOCK - 1);
      expect(await store.sql.all('SELECT block, entries FROM audit_blocks')).toEqual([{ block: 0, entries: BLOCK - 1 }]);
      expect((await store.audit.verify()).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  /** A key's 30 refusals in one minute (fake clock at 12:00:10): 20 written, 10 counted. Returns the refusal. */
  const flood = async (store: Store, minute = 0) => {
    vi.setSystemTime(Date.UTC(2030, 0, 1, 12, minute, 10));
    const refused = { event: 'tool_call' as const, decision: 'denied' as const, code: 'SCOPE_DENIED', keyId: 'flooder' };
    for (let i = 0; i < 30; i++) await store.write((tx) => tx.audit(refused), { oneWrite: true });
    return (await store.sql.get<{ n: number }>('SELECT max(seq) AS n FROM audit_log'))!.n;
  };

  it('flood counts written with an entry that fails are rolled back with it, even queued as one write, and come with the next entry', async () => {
    const store = await openStore('sqlite');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const written = await flood(store);
      expect(written).toBe(20);
      // The next minute: the next entry brings the count of the ten held back with it, and it fails.
      vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 1, 5));
      await store.sql.run(`CREATE TRIGGER boom BEFORE INSERT ON audit_log WHEN NEW.outcome = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`);
      const [failed, next] = await Promise.allSettled([
        store.write((tx) => tx.audit({ event: 'tool_call', decision: 'allowed', outcome: 'boom' }), { oneWrite: true }),
        store.write((tx) => tx.audit({ event: 'tool_call', decision: 'allowed', outcome: 'fine' }), { oneWrite: true }),
      ]);
      expect(failed.status).toBe('rejected');
      // The count was not lost with the failed entry: the next one brings it.
      expect(next).toMatchObject({ status: 'fulfilled', value: { seq: written + 2, outcome: 'fine' } });
      const count = (await store.sql.get<{ outcome: string; detail_json: string }>('SELECT outcome, detail_json FROM audit_log WHERE seq = ?', [written + 1]))!;
      expect(count.outcome).toMatch(/^10 more like this from /);
      expect(JSON.parse(count.detail_json)).toMatchObject({ aggregated: true, count: 10 });
      expect((await store.sql.get<{ n: number }>('SELECT count(*) AS n FROM audit_log'))!.n).toBe(written + 2);
      expect((await store.audit.verify()).ok).toBe(true);
    } finally {
      vi.useRealTimers();
      await store.close();
    }
  });

  it('flood counts written in a batch that then fails as a whole come with the next entry; so do those of a flush that failed', async () => {
    const store = await openStore('sqlite');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const written = await flood(store);
      // The next minute: the entry that brings the count commits its item, but the batch is lost at its commit.
      vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 1, 5));
      let fail = true;
      store.perBatch(() => {
        if (fail) {
          fail = false;
          throw new Error('the batch is lost');
        }
      });
      await expect(store.write((tx) => tx.audit({ event: 'tool_call', decision: 'allowed', outcome: 'lost' }))).rejects.toThrow('the batch is lost');
      expect(await store.write((tx) => tx.audit({ event: 'tool_call', decision: 'allowed', outcome: 'kept' }))).toMatchObject({ seq: written + 2 });
      expect((await store.sql.get<{ detail_json: string }>('SELECT detail_json FROM audit_log WHERE seq = ?', [written + 1]))!.detail_json).toContain('"count":10');
      // A flush of counts whose batch is lost: given back too, written by the next flush.
      await flood(store, 2);
      vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 3, 5));
      fail = true;
      await expect(store.audit.flushFloods()).rejects.toThrow('the batch is lost');
      expect(await store.audit.flushFloods()).toBeGreaterThan(0);
      expect((await store.sql.get<{ n: number }>(`SELECT count(*) AS n FROM audit_log WHERE detail_json LIKE '%"aggregated":true%'`))!.n).toBe(2);
      expect((await store.audit.verify()).ok).toBe(true);
    } finally {
      vi.useRealTimers();
      await store.close();
    }
  });
});

(postgresAvailable() ? describe : describe.skip)(`the summary check's own failure [PostgreSQL${postgresAvailable() ? '' : ': skipped, no cluster'}]`, () => {
  it('says on /healthz only that it could not run; the driver\'s words (they can name the host, role or database) go to the log', async () => {
    const url = await newDatabase('summary-check-fails');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const logged: string[] = [];
    try {
      // A database with no Countersign schema: the driver's error names the missing table.
      const report = await startSummaryCheck(pgSql(pool), (m, e) => void logged.push(`${m}: ${String(e)}`)).done;
      expect(report).toMatchObject({ state: 'unchecked', detail: 'the comparison of the audit summaries with the log could not run (the log says why)' });
      expect(logged.join('\n')).toContain('audit_log');
    } finally {
      await pool.end();
    }
  });
});
