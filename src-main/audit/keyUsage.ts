// An API key's usage, read from the audit log: its calls are its entries of an allowed or pending tool call (what the
// gate answered without refusing), and it was last used at the latest of them. key_usage holds the sums through
// key_usage_fold.through_seq (migration 23); the append that closes a block folds the entries up to it in, in its own
// transaction, so the part read live is at most about a block. A refusal is not a call here, as before: it has its own
// entry, and a flood of them is counted, not written (flood.ts).
import type { Sql } from '../store/sql.ts';

/** The entries that are a key's calls. */
const CALLS = `event = 'tool_call' AND decision IN ('allowed', 'pending') AND key_id IS NOT NULL`;

/** CALLS, for an entry in hand (blockCounts.ts). */
export const isCall = (r: { event: string; decision: string; key_id: string | null }): boolean =>
  r.event === 'tool_call' && (r.decision === 'allowed' || r.decision === 'pending') && r.key_id !== null;

// Where the stored sums end: no row, nothing folded yet (a new install's first block is still open).
const FOLDED = `coalesce((SELECT through_seq FROM key_usage_fold WHERE one = 1), 0)`;

/**
 * A key's usage, for a SELECT over api_keys aliased `k`: select KEY_USAGE_COLUMNS (folded_calls, folded_last_used_at:
 * the sums through the fold; calls, last_at: the log's after it) and add KEY_USAGE_JOINS. One statement with the stored
 * sums, so one snapshot: a fold committing in between cannot count twice.
 */
export const KEY_USAGE_COLUMNS = 'coalesce(f.calls, 0) AS folded_calls, f.last_used_at AS folded_last_used_at, u.calls, u.last_at';
export const KEY_USAGE_JOINS = `LEFT JOIN key_usage f ON f.key_id = k.id LEFT JOIN (
  SELECT key_id, count(*) AS calls, max(at) AS last_at FROM audit_log WHERE seq > ${FOLDED} AND ${CALLS} GROUP BY key_id
) AS u ON u.key_id = k.id`;

// Only keys that exist: an entry naming no key (written into the log by hand) folds into nothing.
const FOLD = `INSERT INTO key_usage (key_id, calls, last_used_at)
SELECT key_id, count(*), max(at) FROM audit_log WHERE seq > ? AND seq <= ? AND ${CALLS} AND key_id IN (SELECT id FROM api_keys) GROUP BY key_id
ON CONFLICT (key_id) DO UPDATE SET calls = key_usage.calls + excluded.calls,
  last_used_at = CASE WHEN key_usage.last_used_at IS NULL OR excluded.last_used_at > key_usage.last_used_at THEN excluded.last_used_at ELSE key_usage.last_used_at END`;

// FOLD for one key's calls counted in memory (blockCounts.ts): the same sums, the same "only keys that exist".
const FOLD_COUNTED = `INSERT INTO key_usage (key_id, calls, last_used_at)
SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ?)
ON CONFLICT (key_id) DO UPDATE SET calls = key_usage.calls + excluded.calls,
  last_used_at = CASE WHEN key_usage.last_used_at IS NULL OR excluded.last_used_at > key_usage.last_used_at THEN excluded.last_used_at ELSE key_usage.last_used_at END`;

/**
 * Folds the calls through `seq` into key_usage, in the caller's transaction (the append that closes a block). `counted`,
 * the closing block's calls per key counted as they were appended, is used when the fold so far ends where the block
 * begins; otherwise (a fold skipped or behind) the log is read from where it ends.
 */
export async function foldKeyUsage(sql: Sql, seq: number, counted?: { from: number; calls: ReadonlyMap<string, { calls: number; lastAt: string }> }): Promise<void> {
  const at = await sql.get<{ through_seq: number | string }>('SELECT through_seq FROM key_usage_fold WHERE one = 1');
  const from = at === undefined ? 0 : Number(at.through_seq);
  if (from >= seq) return;
  if (counted && counted.from === from) {
    for (const [key, c] of counted.calls) await sql.run(FOLD_COUNTED, [key, c.calls, c.lastAt, key]);
  } else {
    await sql.run(FOLD, [from, seq]);
  }
  await sql.run('INSERT INTO key_usage_fold (one, through_seq) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET through_seq = excluded.through_seq', [seq]);
}
