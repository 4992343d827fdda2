// The audit log's block summaries (migrations 21 and 22): for each block of BLOCK consecutive entries, which keys,
// tenants and tools it holds and how many entries of each, and its entry count and earliest and latest time. They are
// how the console filters a large log by key, tenant, tool or time window without an index on the log, which wrote a
// page per distinct value in every commit (migrations 14 and 20).
//
// The append that closes a block (its last seq) writes the block's rows in its own transaction: once per BLOCK entries,
// from the entries themselves, so the summaries are exactly what the log holds for every closed block; the open block
// (at most BLOCK - 1 entries) is read directly. They are derived, not chained: `audit verify` never reads them, and the
// background integrity check compares them with the log (store/integrity.ts).
import type { Sql } from '../store/sql.ts';
import type { BlockCounts } from './blockCounts.ts';

export const BLOCK = 1024;

export type Facet = 'key' | 'tenant' | 'tool';

/** How an integrity report begins when the summaries disagree with the log (store/integrity.ts, facetCheck.ts). */
export const SUMMARIES_WRONG = "the audit log's block summaries disagree with the log (the console's key, tenant, tool and time filters may miss "
  + 'entries; countersign audit verify checks the log itself): ';

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

// The block's entry count and time bounds (min and max, not first and last: the clock can step back within a block).
const BOUND = `INSERT INTO audit_blocks (block, entries, first_at, last_at)
SELECT block, entries, first_at, last_at FROM (
  SELECT CAST(? AS INTEGER) AS block, count(*) AS entries, min(at) AS first_at, max(at) AS last_at FROM audit_log WHERE seq >= ? AND seq <= ?
) AS block_entries WHERE entries > 0
ON CONFLICT (block) DO UPDATE SET entries = excluded.entries, first_at = excluded.first_at, last_at = excluded.last_at`;

// The same rows from counts kept in memory (blockCounts.ts), one per value, with the same upserts.
const FACET_ROW = 'INSERT INTO audit_facets (facet, value, block, entries) VALUES (?, ?, ?, ?) ON CONFLICT (facet, value, block) DO UPDATE SET entries = excluded.entries';
const BLOCK_ROW = `INSERT INTO audit_blocks (block, entries, first_at, last_at) VALUES (?, ?, ?, ?)
ON CONFLICT (block) DO UPDATE SET entries = excluded.entries, first_at = excluded.first_at, last_at = excluded.last_at`;

/**
 * Writes the summary of the block `seq` closes, in the caller's transaction (which has just appended `seq`): from
 * `counted`, the block's entries counted as they were appended, or else read from the log.
 */
export async function summarizeBlock(sql: Sql, seq: number, counted?: BlockCounts): Promise<void> {
  const block = Math.floor(seq / BLOCK);
  if (counted?.block === block) {
    for (const [facet, values] of counted.facets) for (const [value, n] of values) await sql.run(FACET_ROW, [facet, value, block, n]);
    await sql.run(BLOCK_ROW, [block, counted.entries, counted.firstAt, counted.lastAt]);
    return;
  }
  const lo = block * BLOCK;
  const hi = lo + BLOCK - 1;
  await sql.run(SUMMARIZE, [block, lo, hi, lo, hi, lo, hi]);
  await sql.run(BOUND, [block, lo, hi]);
}

/** What a filter asks of the summaries: values of facets, a time window, and whether it asks anything else. */
export interface BlockFilter {
  values: ReadonlyArray<readonly [Facet, string]>;
  from?: string;
  to?: string;
  /** Conditions the summaries cannot answer (event, decision, code, outcome, text): matches are counted by reading. */
  others: boolean;
}

/** Inclusive seq range, with how many of its entries match when the summaries say so exactly. */
export interface PlannedRange {
  lo: number;
  hi: number;
  /** Known without reading the range; undefined: count by reading it. */
  matches: number | undefined;
}

export interface BlockPlan {
  /** Oldest first: the only ranges that can hold a match (the closed blocks that may, then the open block). */
  ranges: PlannedRange[];
}

const FACET_BLOCKS = 'SELECT block, entries FROM audit_facets WHERE facet = ? AND value = ? AND block < ? ORDER BY block';

/**
 * The first block at or after `from` that holds an entry or a summary row; undefined: none. Seqs are dense unless the
 * database was written by hand: a row given a seq of 10^12 would otherwise make every walk over blocks run for hours.
 */
export async function nextOccupiedBlock(sql: Sql, from: number): Promise<number | undefined> {
  const entry = (await sql.get<{ seq: number | null }>('SELECT min(seq) AS seq FROM audit_log WHERE seq >= ?', [from * BLOCK]))!.seq;
  const summary = (await sql.get<{ block: number | null }>('SELECT min(block) AS block FROM audit_blocks WHERE block >= ?', [from]))!.block;
  const blocks = [entry === null ? null : Math.floor(Number(entry) / BLOCK), summary === null ? null : Number(summary)].filter((b): b is number => b !== null);
  return blocks.length ? Math.min(...blocks) : undefined;
}

/**
 * Closed blocks below `closed` that hold entries but have no row in audit_blocks: none in one count, the usual case.
 * Runs of blocks with no entries (seqs edited into the database) are stepped over, not walked.
 */
async function unsummarized(sql: Sql, closed: number): Promise<number[]> {
  const n = (await sql.get<{ n: number }>('SELECT count(*) AS n FROM audit_blocks WHERE block < ?', [closed]))!.n;
  if (n === closed) return [];
  const have = new Set((await sql.all<{ block: number }>('SELECT block FROM audit_blocks WHERE block < ?', [closed])).map((r) => Number(r.block)));
  const missing: number[] = [];
  for (let b = 0; b < closed; b++) {
    if (have.has(b)) continue;
    const next = await nextOccupiedBlock(sql, b);
    if (next === undefined || next >= closed) break;
    if (next > b) {
      b = next - 1;
      continue;
    }
    missing.push(b);
  }
  return missing;
}

/**
 * Where entries matching `f` can be, from the summaries: the closed blocks holding every value asked for whose time
 * bounds meet the window, and the open block (which no summary covers yet). A block's matches are known exactly when
 * the filter is at most one value and a window the block lies inside, and nothing else.
 */
export async function planBlocks(sql: Sql, f: BlockFilter): Promise<BlockPlan> {
  const head = (await sql.get<{ seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM audit_log'))!.seq;
  const closed = Math.floor((head + 1) / BLOCK);
  const window = f.from !== undefined || f.to !== undefined;
  const exact = !f.others && f.values.length <= 1;
  // Closed blocks that may match, each with its known matches (or undefined); undefined: every closed block, unknown.
  let blocks: Map<number, number | undefined> | undefined;
  for (const [facet, value] of f.values) {
    const rows = await sql.all<{ block: number; entries: number }>(FACET_BLOCKS, [facet, value, closed]);
    blocks = blocks === undefined
      ? new Map(rows.map((r) => [r.block, exact ? r.entries : undefined]))
      : new Map(rows.filter((r) => blocks!.has(r.block)).map((r) => [r.block, undefined]));
  }
  if (window || (exact && f.values.length === 0)) {
    const bounds = await sql.all<{ block: number; entries: number; first_at: string; last_at: string }>(
      `SELECT block, entries, first_at, last_at FROM audit_blocks WHERE block < ?${f.from === undefined ? '' : ' AND last_at >= ?'}${f.to === undefined ? '' : ' AND first_at <= ?'} ORDER BY block`,
      [closed, ...(f.from === undefined ? [] : [f.from]), ...(f.to === undefined ? [] : [f.to])]);
    const inside = (b: { first_at: string; last_at: string }) => (f.from === undefined || b.first_at >= f.from) && (f.to === undefined || b.last_at <= f.to);
    const next = new Map<number, number | undefined>();
    for (const b of bounds) {
      if (blocks !== undefined && !blocks.has(b.block)) continue;
      next.set(b.block, exact && inside(b) ? (blocks === undefined ? b.entries : blocks.get(b.block)) : undefined);
    }
    blocks = next;
  }
  // A closed block with no summary (written by a version before them, say a node not yet upgraded, or its row deleted)
  // may hold anything: it is read. Its facets and times are written with its row, in one transaction, or not at all.
  if (blocks !== undefined) for (const b of await unsummarized(sql, closed)) blocks.set(b, undefined);
  const ranges: PlannedRange[] = [];
  const add = (lo: number, hi: number, matches: number | undefined) => {
    const last = ranges.at(-1);
    if (last && last.hi === lo - 1 && (last.matches === undefined) === (matches === undefined)) {
      last.hi = hi;
      if (matches !== undefined) last.matches! += matches;
    } else ranges.push({ lo, hi, matches });
  };
  if (blocks === undefined) {
    if (closed > 0) add(0, closed * BLOCK - 1, undefined);
  } else for (const [b, matches] of [...blocks].sort((x, y) => x[0] - y[0])) add(b * BLOCK, b * BLOCK + BLOCK - 1, matches);
  // The open block, read whatever the filter: never merged with a known range (its matches are unknown).
  if (closed * BLOCK <= head) add(closed * BLOCK, head, undefined);
  return { ranges };
}
