// An API key's usage is derived from the audit log instead of written with every group commit: that UPDATE of
// api_keys, a statement per key and a page of the write-ahead log in every commit, was about 4% of a governed call's
// CPU. key_usage holds what the log held through key_usage_fold.through_seq, folded in by the append that closes a
// block (audit/keyUsage.ts); readers add what the log holds after it.
//
// Counted from the log here too, not copied from api_keys.call_count: a writer of the version before (a node not yet
// upgraded, a desktop app still open while a newer CLI migrated the file) goes on adding its calls there, and they are
// in the log as well. And every statement can run again and change nothing, as the migrations after a schema version
// someone rolled back do: the fold runs only while no fold row exists, and writes it.
// The same text on PostgreSQL, where the counts and seq are BIGINTs (SQLite: INTEGER, and the tables STRICT).

export const TABLES = `CREATE TABLE IF NOT EXISTS key_usage_fold (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  through_seq BIGINT NOT NULL CHECK (through_seq >= 0)
)%STRICT%;
CREATE TABLE IF NOT EXISTS key_usage (
  key_id TEXT PRIMARY KEY,
  calls BIGINT NOT NULL CHECK (calls >= 0),
  last_used_at TEXT
)%STRICT%;`;

// Every call the log holds, folded, and the head it was folded through; nothing while a fold row exists. A log with no
// entry yet gets no row (none means nothing folded), so a new PostgreSQL database stays empty for the copy of an
// embedded install (store/pg/copy.ts). WHERE clauses before ON CONFLICT: SQLite reads an ON after a FROM as a join's.
export const START = `INSERT INTO key_usage (key_id, calls, last_used_at)
SELECT key_id, count(*), max(at) FROM audit_log
WHERE event = 'tool_call' AND decision IN ('allowed', 'pending') AND key_id IN (SELECT id FROM api_keys) AND NOT EXISTS (SELECT 1 FROM key_usage_fold)
GROUP BY key_id
ON CONFLICT (key_id) DO UPDATE SET calls = key_usage.calls + excluded.calls,
  last_used_at = CASE WHEN key_usage.last_used_at IS NULL OR excluded.last_used_at > key_usage.last_used_at THEN excluded.last_used_at ELSE key_usage.last_used_at END;
INSERT INTO key_usage_fold (one, through_seq) SELECT 1, seq FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)
ON CONFLICT (one) DO NOTHING;`;

export const sql = `
${TABLES.replaceAll('BIGINT', 'INTEGER').replaceAll('%STRICT%', ' STRICT')}
${START}
`;
