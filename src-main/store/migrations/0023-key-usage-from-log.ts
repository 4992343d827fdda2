// An API key's usage is derived from the audit log instead of written with every group commit: that UPDATE of
// api_keys, a statement per key and a page of the write-ahead log in every commit, was about 4% of a governed call's
// CPU. folded_calls and folded_last_used_at hold what the log held through key_usage_fold.through_seq, folded in by the
// append that closes a block (audit/keyUsage.ts); readers add what the log holds after it. They start as the sums the
// key rows held, which every commit so far kept exact through the log's head.
//
// New columns, not call_count and last_used_at: a writer of the version before (a node not yet upgraded, a desktop app
// still open while a newer CLI migrated the file) goes on adding its calls to those, and its calls are in the log too;
// counted there and in the fold, they would count twice. Those two columns now only hold what such writers add.
// The same text on PostgreSQL, where the counts and seq are BIGINTs (SQLite: INTEGER, and the table STRICT).

export const TABLE = `CREATE TABLE IF NOT EXISTS key_usage_fold (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  through_seq BIGINT NOT NULL CHECK (through_seq >= 0)
)`;

export const COLUMNS = `ALTER TABLE api_keys ADD COLUMN folded_calls BIGINT NOT NULL DEFAULT 0 CHECK (folded_calls >= 0);
ALTER TABLE api_keys ADD COLUMN folded_last_used_at TEXT;
UPDATE api_keys SET folded_calls = call_count, folded_last_used_at = last_used_at;`;

// A log with entries: the sums are exact through its head. An empty one needs no row (none means nothing folded yet), so
// a new PostgreSQL database stays empty for the copy of an embedded install (store/pg/copy.ts).
export const START = `INSERT INTO key_usage_fold (one, through_seq) SELECT 1, seq FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)
ON CONFLICT (one) DO NOTHING;`;

export const sql = `
${TABLE.replace('BIGINT', 'INTEGER')} STRICT;
${COLUMNS.replace('BIGINT', 'INTEGER')}
${START}
`;
