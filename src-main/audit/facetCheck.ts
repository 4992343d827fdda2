// The block summaries compared with the log on PostgreSQL, after start: what the SQLite integrity worker does after its
// quick_check (store/integrity.ts), as statements the database server runs, CHUNK blocks each (one snapshot each, so
// an append closing a block meanwhile is seen in both or in neither; and a stop waits for one chunk at most, not the
// whole log). PostgreSQL checks its own pages; this is the only check of ours there.
import { checkReport, type IntegrityCheck } from '../store/integrity.ts';
import type { Sql } from '../store/sql.ts';
import { BLOCK, nextOccupiedBlock, SUMMARIES_WRONG } from './facets.ts';

/** Blocks compared by one statement: about 64,000 entries. */
const CHUNK = 64;

// Parameters, in order: the chunk's first seq and the seq after it for each facet's read of the log, its first block and
// the block after it for the stored facets, the seqs again for the times, the blocks again for the stored times, and
// the most lines wanted.
const inChunk = 'seq >= CAST(? AS BIGINT) AND seq < CAST(? AS BIGINT)';
const blocksInChunk = 'block >= CAST(? AS INTEGER) AND block < CAST(? AS INTEGER)';
const facet = (name: string, column: string) =>
  `SELECT '${name}' AS facet, ${column} AS value, seq / ${BLOCK} AS block, count(*) AS entries FROM audit_log WHERE ${column} IS NOT NULL AND ${inChunk} GROUP BY ${column}, seq / ${BLOCK}`;

/** Mismatches of one chunk of closed blocks by kind and block, never by value (the report reaches /healthz). */
export const SUMMARY_MISMATCHES = `WITH derived AS (${facet('key', 'key_id')} UNION ALL ${facet('tenant', 'tenant')} UNION ALL ${facet('tool', 'tool')}),
stored AS (SELECT facet, value, block, entries FROM audit_facets WHERE ${blocksInChunk}),
times AS (SELECT seq / ${BLOCK} AS block, count(*) AS entries, min(at) AS first_at, max(at) AS last_at FROM audit_log WHERE ${inChunk} GROUP BY seq / ${BLOCK}),
stored_times AS (SELECT block, entries, first_at, last_at FROM audit_blocks WHERE ${blocksInChunk})
SELECT DISTINCT problem, facet, block FROM (
  SELECT 'missing or wrong' AS problem, facet, block FROM (SELECT * FROM derived EXCEPT SELECT * FROM stored) AS a
  UNION ALL SELECT 'not in the log', facet, block FROM (SELECT * FROM stored EXCEPT SELECT * FROM derived) AS b
  UNION ALL SELECT 'missing or wrong', 'times', block FROM (SELECT * FROM times EXCEPT SELECT * FROM stored_times) AS c
  UNION ALL SELECT 'not in the log', 'times', block FROM (SELECT * FROM stored_times EXCEPT SELECT * FROM times) AS d
) AS problems ORDER BY block, facet, problem LIMIT ?`;

/**
 * Lines as the SQLite worker writes them (`missing or wrong: key in block 3`), for the blocks closed when it starts
 * (summaries of blocks closed later are left to the next check). `stopped` is asked between chunks.
 */
export async function summaryMismatches(sql: Sql, opts: { max?: number; stopped?: () => boolean; chunk?: number } = {}): Promise<string[]> {
  const { max = 20, stopped = () => false, chunk = CHUNK } = opts;
  const head = (await sql.get<{ seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM audit_log'))!.seq;
  const closed = Math.floor((head + 1) / BLOCK);
  const wrong: string[] = [];
  for (let lo = 0; lo < closed && wrong.length < max && !stopped(); lo += chunk) {
    // A run of blocks with neither entries nor summaries (seqs edited into the database) is stepped over.
    const next = await nextOccupiedBlock(sql, lo);
    if (next === undefined) break;
    if (next >= lo + chunk) lo = next;
    if (lo >= closed) break;
    const hi = Math.min(closed, lo + chunk);
    const seqs = [lo * BLOCK, hi * BLOCK];
    const rows = await sql.all<{ problem: string; facet: string; block: number }>(SUMMARY_MISMATCHES,
      [...seqs, ...seqs, ...seqs, lo, hi, ...seqs, lo, hi, max - wrong.length]);
    wrong.push(...rows.map((r) => `${r.problem}: ${r.facet} in block ${r.block}`));
  }
  return wrong;
}

/** Runs the comparison once, in the background; its report is shown as the SQLite check's is (banner, /healthz). */
export function startSummaryCheck(sql: Sql, log: (msg: string, err?: unknown) => void = () => {}): IntegrityCheck {
  const { report, finish } = checkReport(log);
  let stopped = false;
  const done = summaryMismatches(sql, { stopped: () => stopped }).then(
    (wrong) => finish(stopped ? 'unchecked' : wrong.length ? 'damaged' : 'ok', stopped ? 'the server stopped first' : wrong.length ? `${SUMMARIES_WRONG}${wrong.join(', ')}` : null),
    (e: unknown) => {
      // The driver's words can name the database's host, role or name: the log has them, /healthz only that it failed.
      if (!stopped) log('comparing the audit summaries with the log failed', e);
      finish('unchecked', stopped ? 'the server stopped first' : 'the comparison of the audit summaries with the log could not run (the log says why)');
    },
  ).then(() => report);
  return {
    report,
    done,
    async stop() {
      // The chunk under way finishes (the pool it uses is closed next); no chunk starts after it.
      stopped = true;
      finish('unchecked', 'the server stopped first');
      await done;
    },
  };
}
