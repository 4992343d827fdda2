// A closed block's summary from counts kept in memory (audit/blockCounts.ts): exactly what reading the block gives, used
// only when this process committed every entry of the block in increasing seq, and the log read otherwise (block 0,
// another writer in the block, a seq seen twice). On a real SQLite file, with a second app on it as the CLI would be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { BlockCounter } from '../../src-main/audit/blockCounts.ts';
import { summaryMismatches } from '../../src-main/audit/facetCheck.ts';
import { BLOCK } from '../../src-main/audit/facets.ts';
import type { ApiKey } from '../../src-main/auth/keys.ts';
import { initTestDir } from '../helpers/server.ts';
import { createRng } from '../helpers/prng.ts';

type Row = Parameters<BlockCounter['add']>[0];
const row = (seq: number, over: Partial<Row> = {}): Row => ({
  seq, at: new Date(Date.UTC(2026, 5, 1) + seq * 1000).toISOString(), event: 'tool_call', decision: 'allowed', key_id: 'k1', tenant: 'acme', tool: 'whoami', ...over,
});

describe('BlockCounter', () => {
  it('counts a block every entry of which it saw, with the entries of the open transaction and the closing one', () => {
    const c = new BlockCounter();
    const lo = BLOCK;
    const hi = 2 * BLOCK - 1;
    // The clock stood an hour back for a while: the bounds are min and max, not first and last.
    const stepped = new Date(Date.UTC(2026, 5, 1) - 3_600_000).toISOString();
    for (let seq = lo; seq < hi - 3; seq++) {
      c.add(row(seq, {
        key_id: seq % 3 ? 'k1' : seq % 5 ? 'k2' : null, tenant: seq % 4 ? 'acme' : null, tool: seq % 2 ? 'whoami' : 'list_devices',
        decision: seq % 7 === 0 ? 'failed' : seq % 11 === 0 ? 'pending' : 'allowed', event: seq % 13 === 0 ? 'http' : 'tool_call',
        ...(seq === lo + 500 ? { at: stepped } : {}),
      }));
    }
    const pending = [row(hi - 3), row(hi - 2, { key_id: null }), row(hi - 1, { tool: 'run_script' })];
    const counts = c.complete(pending, row(hi, { tenant: 'globex' }))!;
    expect(counts).toBeDefined();
    // The same figures counted the slow way, from the rows themselves.
    const rows = [...Array.from({ length: hi - 3 - lo }, (_, i) => lo + i).map((seq) => ({ seq })), ...pending, { seq: hi }];
    expect(rows).toHaveLength(BLOCK);
    expect(counts.entries).toBe(BLOCK);
    expect(counts.firstAt).toBe(stepped);
    expect(counts.lastAt).toBe(row(hi).at);
    let k1 = 0, k2 = 0, noTenant = 0, calls1 = 0, calls2 = 0;
    for (let seq = lo; seq < hi - 3; seq++) {
      const key = seq % 3 ? 'k1' : seq % 5 ? 'k2' : null;
      if (key === 'k1') k1++;
      if (key === 'k2') k2++;
      if (!(seq % 4)) noTenant++;
      const call = seq % 13 !== 0 && seq % 7 !== 0;
      if (call && key === 'k1') calls1++;
      if (call && key === 'k2') calls2++;
    }
    expect(counts.facets.get('key')).toEqual(new Map([['k1', k1 + 3], ['k2', k2]]));
    expect(counts.facets.get('tenant')).toEqual(new Map([['acme', BLOCK - 1 - noTenant], ['globex', 1]]));
    expect(counts.facets.get('tool')!.get('run_script')).toBe(1);
    expect(counts.calls).toEqual(new Map([['k1', { calls: calls1 + 3, lastAt: row(hi).at }], ['k2', { calls: calls2, lastAt: expect.any(String) }]]));
    expect(c.used).toBe(1);
  });

  it('gives nothing when an entry of the block is missing, seen twice, or the block is the first', () => {
    const fill = (c: BlockCounter, from: number, to: number, skip?: number) => {
      for (let seq = from; seq <= to; seq++) if (seq !== skip) c.add(row(seq));
    };
    const missing = new BlockCounter();
    fill(missing, BLOCK, 2 * BLOCK - 2, BLOCK + 7);
    expect(missing.complete([], row(2 * BLOCK - 1))).toBeUndefined();
    // A restart in the middle of a block: the counts start late.
    const late = new BlockCounter();
    fill(late, BLOCK + 1, 2 * BLOCK - 2);
    expect(late.complete([], row(2 * BLOCK - 1))).toBeUndefined();
    // Appended again after someone edited the log: a seq at or below one already counted.
    const twice = new BlockCounter();
    fill(twice, BLOCK, 2 * BLOCK - 2);
    twice.add(row(BLOCK + 5));
    expect(twice.complete([], row(2 * BLOCK - 1))).toBeUndefined();
    const twicePending = new BlockCounter();
    fill(twicePending, BLOCK, 2 * BLOCK - 3);
    expect(twicePending.complete([row(2 * BLOCK - 3)], row(2 * BLOCK - 1))).toBeUndefined();
    const first = new BlockCounter();
    fill(first, 1, BLOCK - 2);
    expect(first.complete([], row(BLOCK - 1))).toBeUndefined();
    // The control: the same with nothing wrong is complete; entries of the block before, still pending, are left out.
    const whole = new BlockCounter();
    fill(whole, BLOCK, 2 * BLOCK - 3);
    expect(whole.complete([row(BLOCK - 1), row(2 * BLOCK - 2)], row(2 * BLOCK - 1))?.entries).toBe(BLOCK);
    expect([missing, late, twice, twicePending, first].map((c) => c.used)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('block summaries and key usage written from the counts', () => {
  let dir: string;
  let app: App;
  let keys: ApiKey[];
  const head = async () => Number((await app.store.sql.get<{ seq: number }>('SELECT max(seq) AS seq FROM audit_log'))!.seq);
  const CALLS = `event = 'tool_call' AND decision IN ('allowed', 'pending')`;

  beforeAll(async () => {
    dir = await initTestDir();
    app = await openApp(dir, { log: () => {} });
    keys = [];
    for (const name of ['counted-a', 'counted-b']) keys.push((await app.keys.create({ name, scopes: ['ai:read'], tenants: ['acme-dental'] })).key);
  });
  afterAll(async () => app?.close());

  /** Entries through `through`, in concurrent groups (several to a commit), a seeded mix of keys, tenants, tools, decisions. */
  const appendThrough = async (a: App, through: number, seed: number) => {
    const rng = createRng(seed);
    while ((await head()) < through) {
      const n = Math.min(48, through - (await head()));
      await Promise.all(Array.from({ length: n }, () => a.store.audit.append({
        event: rng.pick(['tool_call', 'tool_call', 'tool_call', 'http'] as const), decision: rng.pick(['allowed', 'allowed', 'pending', 'failed'] as const),
        keyId: rng.pick([keys[0]!.id, keys[0]!.id, keys[1]!.id, 'no-such-key', null]), tenant: rng.pick(['acme-dental', 'globex', null]),
        tool: rng.pick(['whoami', 'list_devices', null]), outcome: 'ok',
      })));
    }
  };

  const usageMatchesLog = async () => {
    const through = Number((await app.store.sql.get<{ through_seq: number }>('SELECT through_seq FROM key_usage_fold'))!.through_seq);
    for (const k of keys) {
      const fromLog = (await app.store.sql.get<{ n: number; last: string | null }>(`SELECT count(*) AS n, max(at) AS last FROM audit_log WHERE ${CALLS} AND key_id = ? AND seq <= ?`, [k.id, through]))!;
      const stored = await app.store.sql.get<{ calls: number; last_used_at: string }>('SELECT calls, last_used_at FROM key_usage WHERE key_id = ?', [k.id]);
      expect({ n: stored?.calls ?? 0, last: stored?.last_used_at ?? null }).toEqual({ n: fromLog.n, last: fromLog.last });
    }
    return through;
  };

  it('the block after the first is summarized from the counts, equal to the log; the key usage fold too', async () => {
    await appendThrough(app, 2 * BLOCK + 20, 1);
    expect(app.store.audit.blocksCounted).toBe(1);
    expect(await summaryMismatches(app.store.sql)).toEqual([]);
    expect(await usageMatchesLog()).toBe(2 * BLOCK - 1);
    // An entry naming no key was counted in the block and folded into nothing.
    expect(await app.store.sql.get('SELECT 1 FROM key_usage WHERE key_id = ?', ['no-such-key'])).toBeUndefined();
  });

  it('a block another process also appended to is read from the log, and equal to it', async () => {
    const cli = await openApp(dir, { log: () => {} });
    try {
      await cli.store.audit.append({ event: 'key', decision: 'info', keyId: keys[1]!.id, tool: 'from-the-cli', outcome: 'other writer' });
    } finally {
      await cli.close();
    }
    await appendThrough(app, 3 * BLOCK + 20, 2);
    expect(app.store.audit.blocksCounted).toBe(1);
    expect(await summaryMismatches(app.store.sql)).toEqual([]);
    expect(await usageMatchesLog()).toBe(3 * BLOCK - 1);
    // The next block, this process's alone again, is counted.
    await appendThrough(app, 4 * BLOCK + 20, 3);
    expect(app.store.audit.blocksCounted).toBe(2);
    expect(await summaryMismatches(app.store.sql)).toEqual([]);
    expect(await usageMatchesLog()).toBe(4 * BLOCK - 1);
  });
});
