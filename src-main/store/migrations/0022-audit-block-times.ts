// Each closed block of the audit log (audit/facets.ts) with its entry count and the earliest and latest time of its
// entries, written with its facets by the append that closes it: the console's time-window filter reads only the
// blocks whose times meet the window (the log has no index on `at`: 0014), and a block inside the window counts whole.
// The rows of the blocks already closed are made here from the log; IF NOT EXISTS and the upsert, as 0021. The table and
// the backfill are the same text on PostgreSQL (SQLite adds STRICT).

export const TABLE = `CREATE TABLE IF NOT EXISTS audit_blocks (
  block INTEGER PRIMARY KEY CHECK (block >= 0),
  entries INTEGER NOT NULL CHECK (entries BETWEEN 1 AND 1024),
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  CHECK (first_at <= last_at)
)`;

export const BACKFILL = `INSERT INTO audit_blocks (block, entries, first_at, last_at)
SELECT block, entries, first_at, last_at FROM (
  SELECT seq / 1024 AS block, count(*) AS entries, min(at) AS first_at, max(at) AS last_at FROM audit_log
    WHERE seq < (SELECT (coalesce(max(seq), 0) + 1) / 1024 * 1024 FROM audit_log) GROUP BY seq / 1024
) AS closed WHERE true
ON CONFLICT (block) DO UPDATE SET entries = excluded.entries, first_at = excluded.first_at, last_at = excluded.last_at;`;

export const sql = `
${TABLE} STRICT;
${BACKFILL}
`;
