// An API key's usage, read from the audit log: its calls are its entries of an allowed or pending tool call (what the
// gate answered without refusing), and it was last used at the latest of them. api_keys.folded_calls and
// folded_last_used_at hold the sums through key_usage_fold.through_seq (migration 23); the append that closes a block folds the entries up
// to it in, in its own transaction, so the part read live is at most about a block. A refusal is not a call here, as
// before: it has its own entry, and a flood of them is counted, not written (flood.ts).
import type { Sql } from '../store/sql.ts';

/** The entries that are a key's calls. */
const CALLS = `event = 'tool_call' AND decision IN ('allowed', 'pending') AND key_id IS NOT NULL`;

// Where the stored sums end: no row, nothing folded yet (a new install's first block is still open).
const FOLDED = `coalesce((SELECT through_seq FROM key_usage_fold WHERE one = 1), 0)`;

/**
 * The keys' calls after the fold, for a SELECT over api_keys aliased `k`: LEFT JOIN it and read `u.calls` and
 * `u.last_at`. One statement with the stored sums, so one snapshot: a fold committing in between cannot count twice.
 */
export const USAGE_SINCE_FOLD = `LEFT JOIN (
  SELECT key_id, count(*) AS calls, max(at) AS last_at FROM audit_log WHERE seq > ${FOLDED} AND ${CALLS} GROUP BY key_id
) AS u ON u.key_id = k.id`;

const FOLD = `UPDATE api_keys SET folded_calls = folded_calls + u.calls,
  folded_last_used_at = CASE WHEN api_keys.folded_last_used_at IS NULL OR u.last_at > api_keys.folded_last_used_at THEN u.last_at ELSE api_keys.folded_last_used_at END
FROM (SELECT key_id, count(*) AS calls, max(at) AS last_at FROM audit_log WHERE seq > ? AND seq <= ? AND ${CALLS} GROUP BY key_id) AS u
WHERE api_keys.id = u.key_id`;

/** Folds the calls through `seq` into api_keys, in the caller's transaction (the append that closes a block). */
export async function foldKeyUsage(sql: Sql, seq: number): Promise<void> {
  const at = await sql.get<{ through_seq: number | string }>('SELECT through_seq FROM key_usage_fold WHERE one = 1');
  const from = at === undefined ? 0 : Number(at.through_seq);
  if (from >= seq) return;
  await sql.run(FOLD, [from, seq]);
  await sql.run('INSERT INTO key_usage_fold (one, through_seq) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET through_seq = excluded.through_seq', [seq]);
}
