// The block summaries compared with the log on PostgreSQL, after start: what the SQLite integrity worker does after its
// quick_check (store/integrity.ts), as one statement the database server runs (one snapshot, so an append closing a
// block meanwhile is seen in both or in neither). PostgreSQL checks its own pages; this is the only check of ours there.
import type { IntegrityCheck, IntegrityReport } from '../store/integrity.ts';
import type { Sql } from '../store/sql.ts';
import { BLOCK, SUMMARIES_WRONG } from './facets.ts';

const closed = `seq < (SELECT (coalesce(max(seq), 0) + 1) / ${BLOCK} * ${BLOCK} FROM audit_log)`;
const facet = (name: string, column: string) =>
  `SELECT '${name}' AS facet, ${column} AS value, seq / ${BLOCK} AS block, count(*) AS entries FROM audit_log WHERE ${column} IS NOT NULL AND ${closed} GROUP BY ${column}, seq / ${BLOCK}`;

/** Mismatches by kind and block, never by value (the report reaches /healthz), at most `?` of them. */
export const SUMMARY_MISMATCHES = `WITH derived AS (${facet('key', 'key_id')} UNION ALL ${facet('tenant', 'tenant')} UNION ALL ${facet('tool', 'tool')}),
stored AS (SELECT facet, value, block, entries FROM audit_facets),
times AS (SELECT seq / ${BLOCK} AS block, count(*) AS entries, min(at) AS first_at, max(at) AS last_at FROM audit_log WHERE ${closed} GROUP BY seq / ${BLOCK}),
stored_times AS (SELECT block, entries, first_at, last_at FROM audit_blocks)
SELECT DISTINCT problem, facet, block FROM (
  SELECT 'missing or wrong' AS problem, facet, block FROM (SELECT * FROM derived EXCEPT SELECT * FROM stored) AS a
  UNION ALL SELECT 'not in the log', facet, block FROM (SELECT * FROM stored EXCEPT SELECT * FROM derived) AS b
  UNION ALL SELECT 'missing or wrong', 'times', block FROM (SELECT * FROM times EXCEPT SELECT * FROM stored_times) AS c
  UNION ALL SELECT 'not in the log', 'times', block FROM (SELECT * FROM stored_times EXCEPT SELECT * FROM times) AS d
) AS problems ORDER BY block, facet, problem LIMIT ?`;

/** Lines as the SQLite worker writes them: `missing or wrong: key in block 3`. */
export async function summaryMismatches(sql: Sql, max = 20): Promise<string[]> {
  const rows = await sql.all<{ problem: string; facet: string; block: number }>(SUMMARY_MISMATCHES, [max]);
  return rows.map((r) => `${r.problem}: ${r.facet} in block ${r.block}`);
}

/** Runs the comparison once, in the background; its report is shown as the SQLite check's is (banner, /healthz). */
export function startSummaryCheck(sql: Sql, log: (msg: string, err?: unknown) => void = () => {}): IntegrityCheck {
  const report: IntegrityReport = { state: 'checking', detail: null, checkedAt: null, ms: null };
  const started = performance.now();
  let stopped = false;
  const finish = (state: IntegrityReport['state'], detail: string | null) => {
    if (report.state !== 'checking') return;
    Object.assign(report, { state, detail, checkedAt: new Date().toISOString(), ms: Math.round(performance.now() - started) });
    if (state === 'damaged') log(`the database failed its integrity check: ${detail}`);
    else if (state === 'unchecked') log(`the database integrity check could not run: ${detail}`);
  };
  const done = summaryMismatches(sql).then(
    (wrong) => finish(wrong.length ? 'damaged' : 'ok', wrong.length ? `${SUMMARIES_WRONG}${wrong.join(', ')}` : null),
    (e: unknown) => finish('unchecked', stopped ? 'the server stopped first' : (e as Error).message),
  ).then(() => report);
  return {
    report,
    done,
    async stop() {
      stopped = true;
      finish('unchecked', 'the server stopped first');
    },
  };
}
