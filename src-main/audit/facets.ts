// The audit log's block summaries (migration 21): for each block of BLOCK consecutive entries, which keys, tenants and
// tools it holds, and how many entries of each. They are how the console filters a large log by key, tenant or tool
// without an index on the log, which wrote a page per distinct value in every commit (migrations 14 and 20).
//
// The append that closes a block (its last seq) writes the block's rows in its own transaction: once per BLOCK entries,
// from the entries themselves, so the summaries are exactly what the log holds for every closed block; the open block
// (at most BLOCK - 1 entries) is read directly. They are derived, not chained: `audit verify` never reads them, and the
// background integrity check compares them with the log (store/integrity.ts).
import type { Sql } from '../store/sql.ts';

export const BLOCK = 1024;

export type Facet = 'key' | 'tenant' | 'tool';

export const closesBlock = (seq: number): boolean => seq % BLOCK === BLOCK - 1;

// One statement, one round trip: the block's three groupings, upserted (a block written twice, as when an attacker's
// edit of the log made a seq be appended again, takes the later counts instead of failing every append after it).
const SUMMARIZE = `INSERT INTO audit_facets (facet, value, block, entries)
SELECT facet, value, CAST(? AS INTEGER), entries FROM (
  SELECT 'key' AS facet, key_id AS value, count(*) AS entries FROM audit_log WHERE seq >= ? AND seq <= ? AND key_id IS NOT NULL GROUP BY key_id
  UNION ALL SELECT 'tenant', tenant, count(*) FROM audit_log WHERE seq >= ? AND seq <= ? AND tenant IS NOT NULL GROUP BY tenant
  UNION ALL SELECT 'tool', tool, count(*) FROM audit_log WHERE seq >= ? AND seq <= ? AND tool IS NOT NULL GROUP BY tool
) AS block_entries WHERE true
ON CONFLICT (facet, value, block) DO UPDATE SET entries = excluded.entries`;

/** Writes the summary of the block `seq` closes, in the caller's transaction (which has just appended `seq`). */
export async function summarizeBlock(sql: Sql, seq: number): Promise<void> {
  const block = Math.floor(seq / BLOCK);
  const lo = block * BLOCK;
  const hi = lo + BLOCK - 1;
  await sql.run(SUMMARIZE, [block, lo, hi, lo, hi, lo, hi]);
}

/** Inclusive seq ranges, oldest first. */
export type SeqRange = readonly [lo: number, hi: number];

export interface FacetPlan {
  /** The only ranges that can hold an entry with every value asked for: their blocks, and the open block. */
  ranges: SeqRange[];
  /** With one value asked for: how many entries of the closed blocks hold it (the open block is counted apart). */
  closedEntries: number | undefined;
  /** The first seq of the open block: entries from here on are in no summary yet. */
  openFrom: number;
}

const BLOCKS = 'SELECT block, entries FROM audit_facets WHERE facet = ? AND value = ? AND block < ? ORDER BY block';

/** Where entries with every one of `values` can be (at least one value). */
export async function planFacets(sql: Sql, values: ReadonlyArray<readonly [Facet, string]>): Promise<FacetPlan> {
  const head = (await sql.get<{ seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM audit_log'))!.seq;
  const closed = Math.floor((head + 1) / BLOCK);
  const openFrom = closed * BLOCK;
  let blocks: number[] | undefined;
  let closedEntries: number | undefined;
  for (const [facet, value] of values) {
    const rows = await sql.all<{ block: number; entries: number }>(BLOCKS, [facet, value, closed]);
    if (values.length === 1) closedEntries = rows.reduce((n, r) => n + r.entries, 0);
    const these = rows.map((r) => r.block);
    if (blocks === undefined) blocks = these;
    else {
      const keep = new Set(these);
      blocks = blocks.filter((b) => keep.has(b));
    }
  }
  const ranges: [number, number][] = [];
  for (const b of blocks ?? []) {
    const last = ranges.at(-1);
    if (last && last[1] === b * BLOCK - 1) last[1] = b * BLOCK + BLOCK - 1;
    else ranges.push([b * BLOCK, b * BLOCK + BLOCK - 1]);
  }
  if (openFrom <= head) {
    const last = ranges.at(-1);
    if (last && last[1] === openFrom - 1) last[1] = head;
    else ranges.push([openFrom, head]);
  }
  return { ranges, closedEntries, openFrom };
}

