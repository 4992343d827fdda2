// An API key's usage (call_count, last_used_at) is derived from the audit log instead of written with every group
// commit: that UPDATE of api_keys, a statement per key and a page of the write-ahead log in every commit, was about 4%
// of a governed call's CPU. The columns now hold what the log held through key_usage_fold.through_seq, folded in by the
// append that closes a block (audit/keyUsage.ts); readers add what the log holds after it. Every count so far was
// written with its call, so the columns are exact through the log's head now. The same text on PostgreSQL (SQLite makes
// the table STRICT, where through_seq is an INTEGER; a BIGINT on PostgreSQL, as the log's seq is).

export const TABLE = `CREATE TABLE IF NOT EXISTS key_usage_fold (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  through_seq BIGINT NOT NULL CHECK (through_seq >= 0)
)`;

// A log with entries: the sums are exact through its head. An empty one needs no row (none means nothing folded yet), so
// a new PostgreSQL database stays empty for the copy of an embedded install (store/pg/copy.ts).
export const START = `INSERT INTO key_usage_fold (one, through_seq) SELECT 1, seq FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)
ON CONFLICT (one) DO NOTHING;`;

export const sql = `
${TABLE.replace('BIGINT', 'INTEGER')} STRICT;
${START}
`;
