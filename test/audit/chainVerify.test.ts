import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { initDataDir, DB_FILE } from '../../src-main/app.ts';
import { hashRow, verifyRows, type AuditRow } from '../../src-main/audit/log.ts';
import { exactInput, fastInput, verifyChain } from '../../src-main/audit/chainVerify.ts';

// The parallel check must give exactly what the sequential one gives (first failure, its reason, the count before it)
// whatever was done to the file, including at and across the seams between ranges.
const ENTRIES = 3000;
const RANGES = 3; // seams after 1000 and 2000 (plus the init entries: the head is a little over 3000)
let base: string;
beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'cs-chainverify-'));
  const { store } = await initDataDir(base);
  await store.write(async (tx) => {
    for (let i = 0; i < ENTRIES; i++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: 'list_devices', args: { i, note: i % 7 ? 'x' : 'ünïcode ✓ "quoted"\n' }, keyId: 'k', tier: 1, durationMs: i % 5 ? i : 1.5 });
  });
  await store.close();
});

function tampered(edit: (db: Database.Database, head: number) => void): string {
  const d = mkdtempSync(join(tmpdir(), 'cs-chainverify-t-'));
  copyFileSync(join(base, DB_FILE), join(d, DB_FILE));
  const raw = new Database(join(d, DB_FILE));
  raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  edit(raw, raw.prepare('SELECT max(seq) FROM audit_log').pluck().get() as number);
  raw.close();
  return join(d, DB_FILE);
}

async function both(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const stats = { workers: -1 };
    const parallel = await verifyChain(db, { workers: RANGES, minRowsPerWorker: 500, stats });
    expect(stats.workers, 'the check ran on worker threads').toBe(RANGES);
    const sequential = verifyRows(db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<AuditRow>);
    // A log too small to split is checked on this thread, in pages with pauses: it must find the same.
    const oneThread = await verifyChain(db, { workers: 1, stats });
    expect(stats.workers).toBe(0);
    expect(oneThread).toEqual(sequential);
    return { parallel, sequential };
  } finally {
    db.close();
  }
}

const rehash = (db: Database.Database, from: number) => {
  const rows = db.prepare('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq').all(from) as AuditRow[];
  let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1').pluck().get(from) as string | undefined) ?? '0'.repeat(64);
  const set = db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const r of rows) {
    const hash = hashRow({ ...r, prev_hash: prev });
    set.run(prev, hash, r.seq);
    prev = hash;
  }
};

describe('audit chain verified in parallel ranges', () => {
  it('an intact log: every entry counted, the same head as the sequential check', async () => {
    const { parallel, sequential } = await both(join(base, DB_FILE));
    expect(parallel).toEqual(sequential);
    expect(parallel).toMatchObject({ ok: true });
    expect(parallel.count).toBeGreaterThan(ENTRIES);
  });

  const cases: [string, (db: Database.Database, head: number) => void, RegExp][] = [
    ['an entry edited mid-range', (db) => db.prepare(`UPDATE audit_log SET args_json = '{}' WHERE seq = 1500`).run(), /entry 1500 was modified/],
    ['the last entry of the first range deleted', (db, head) => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(Math.ceil(head / RANGES)), /are missing/],
    ['the first entry of the second range deleted', (db, head) => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(Math.ceil(head / RANGES) + 1), /are missing/],
    ['entries across a seam deleted', (db, head) => db.prepare('DELETE FROM audit_log WHERE seq BETWEEN ? AND ?').run(Math.ceil(head / RANGES) - 10, Math.ceil(head / RANGES) + 10), /entries \d+\.\.\d+ are missing/],
    ['a whole range deleted', (db, head) => db.prepare('DELETE FROM audit_log WHERE seq BETWEEN ? AND ?').run(Math.ceil(head / RANGES) + 1, 2 * Math.ceil(head / RANGES)), /are missing/],
    ['an entry inserted before the first (seq 0)', (db) => db.prepare(`INSERT INTO audit_log SELECT 0, at, event, decision, code, rule, key_id, key_name, tenant, client, session_id, tool, action, tier, args_json, outcome, detail_json, duration_ms, approval_id, remote, prev_hash, hash FROM audit_log WHERE seq = 1`).run(), /entry 0 is out of order/],
    ['a seam entry relinked to another', (db, head) => db.prepare(`UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE seq = 5) WHERE seq = ?`).run(2 * Math.ceil(head / RANGES) + 1), /does not link/],
    ['the genesis link changed', (db) => db.prepare(`UPDATE audit_log SET prev_hash = ? WHERE seq = 1`).run('f'.repeat(64)), /entry 1 does not link/],
    ['the hash of the last entry changed', (db, head) => db.prepare(`UPDATE audit_log SET hash = ? WHERE seq = ?`).run('e'.repeat(64), head), /was modified/],
  ];
  for (const [name, edit, reason] of cases) {
    it(`finds what the sequential check finds: ${name}`, async () => {
      const { parallel, sequential } = await both(tampered(edit));
      expect(parallel).toEqual(sequential);
      expect(parallel).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
    });
  }

  it('a tail cut off, or history rewritten and re-chained, passes both (what signed checkpoints are for)', async () => {
    const cut = await both(tampered((db) => db.prepare('DELETE FROM audit_log WHERE seq > 2500').run()));
    expect(cut.parallel).toEqual(cut.sequential);
    expect(cut.parallel).toMatchObject({ ok: true, count: 2500 });
    const rechained = await both(tampered((db) => {
      db.prepare(`UPDATE audit_log SET decision = 'denied' WHERE seq = 1200`).run();
      rehash(db, 1200);
    }));
    expect(rechained.parallel).toEqual(rechained.sequential);
    expect(rechained.parallel.ok).toBe(true);
  });

  it('a row only the exact form hashes right (text SQLite holds as bytes JavaScript cannot) is judged by the exact form', async () => {
    const file = tampered((db) => {
      db.prepare(`UPDATE audit_log SET outcome = CAST(x'41ff42' AS TEXT) WHERE seq = 1700`).run();
      rehash(db, 1700);
    });
    const { parallel, sequential } = await both(file);
    expect(parallel).toEqual(sequential);
    expect(parallel.ok).toBe(true);
  });

  it('a column SQLite cannot write as JSON (a BLOB, in a file whose table lost STRICT) is read in the exact form: same finding', async () => {
    const file = tampered((db) => {
      db.exec('CREATE TABLE loose AS SELECT * FROM audit_log; DROP TABLE audit_log; ALTER TABLE loose RENAME TO audit_log;');
    });
    const raw = new Database(file);
    raw.prepare(`UPDATE audit_log SET outcome = x'00ff' WHERE seq = 2100`).run();
    raw.close();
    const { parallel, sequential } = await both(file);
    expect(parallel).toEqual(sequential);
    expect(parallel).toMatchObject({ ok: false, badSeq: 2100, reason: expect.stringMatching(/entry 2100 was modified/) });
  });

  it("SQLite's JSON of text, integers and NULL is JSON.stringify's, byte for byte; REAL columns are written by JavaScript", () => {
    const db = new Database(':memory:');
    try {
      const texts = [...Array.from({ length: 0x800 }, (_, c) => `${String.fromCharCode(c)}x`), '\u2028\u2029', '\ufeff\uffff', '😀 ünï "q" \\ /', '{"a":[1,"b"]}', ''];
      const ints = [0, -1, 1, 4, 2 ** 31, -(2 ** 40), Number.MAX_SAFE_INTEGER];
      const tail = db.prepare('SELECT json_array(NULL)').pluck().get() as string;
      // Integers bound as BigInt: SQLite holds them as INTEGER, as the table's INTEGER columns do.
      for (const v of [...texts, ...ints, null]) {
        const bound = typeof v === 'number' ? BigInt(v) : v;
        const head = db.prepare('SELECT json_array(?, ?)').pluck().get(bound, bound) as string;
        expect(head).toBe(JSON.stringify([v, v]));
        for (const d of [null, 1, 1.5, 0.1, 1e21]) {
          expect(fastInput([7, 'p', 'h', head, d, tail])).toBe(exactInput([7, 'p', 'h', v, v, d, null]));
        }
      }
      // Why duration_ms is left to JavaScript: SQLite writes a whole REAL with a decimal point.
      expect(db.prepare('SELECT json_array(1.0)').pluck().get()).not.toBe(JSON.stringify([1]));
    } finally {
      db.close();
    }
  });

  it('random edits at random places agree with the sequential check (seeded)', async () => {
    let seed = 20261202;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let round = 0; round < 12; round++) {
      const file = tampered((db, head) => {
        const seq = 1 + rnd(head);
        const op = rnd(4);
        if (op === 0) db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
        else if (op === 1) db.prepare(`UPDATE audit_log SET tier = 4 WHERE seq = ?`).run(seq);
        else if (op === 2) db.prepare(`UPDATE audit_log SET prev_hash = hash WHERE seq = ?`).run(seq);
        else db.prepare('DELETE FROM audit_log WHERE seq BETWEEN ? AND ?').run(seq, seq + rnd(1500));
      });
      const { parallel, sequential } = await both(file);
      expect(parallel, `round ${round}`).toEqual(sequential);
    }
  });
});
