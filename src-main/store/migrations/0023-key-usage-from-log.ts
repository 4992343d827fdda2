// An API key's usage is derived from the audit log instead of written with every group commit: that UPDATE of
// api_keys, a statement per key and a page of the write-ahead log in every commit, was about 4% of a governed call's
// CPU. key_usage holds what the log held through key_usage_fold.through_seq, folded in by the append that closes a
// block (audit/keyUsage.ts); readers add what the log holds after it. It starts as the sums the key rows held, which
// every commit so far kept exact through the log's head.
//
// A table of its own, not new columns of api_keys: a writer of the version before (a node not yet upgraded, a desktop
// app still open while a newer CLI migrated the file) goes on adding its calls to api_keys.call_count, and its calls
// are in the log too; counted there and in the fold, they would count twice. And every statement here can run again
// (IF NOT EXISTS, upserts that keep what is there), as the migrations after a schema version someone rolled back do.
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

// The sums the key rows held; a log with entries: they are exact through its head. An empty log needs no fold row
// (none means nothing folded yet), so a new PostgreSQL database stays empty for the copy of an embedded install
// (store/pg/copy.ts). WHERE clauses: SQLite reads an ON right after a SELECT's FROM as a join's.
export const START = `INSERT INTO key_usage (key_id, calls, last_used_at) SELECT id, call_count, last_used_at FROM api_keys
WHERE call_count > 0 OR last_used_at IS NOT NULL ON CONFLICT (key_id) DO NOTHING;
INSERT INTO key_usage_fold (one, through_seq) SELECT 1, seq FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)
ON CONFLICT (one) DO NOTHING;`;

export const sql = `
${TABLES.replaceAll('BIGINT', 'INTEGER').replaceAll('%STRICT%', ' STRICT')}
${START}
`;
