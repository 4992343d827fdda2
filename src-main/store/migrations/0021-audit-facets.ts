// Block summaries of the audit log (audit/facets.ts): for each block of 1,024 consecutive entries, the keys, tenants and
// tools it holds and how many entries of each. The append that closes a block writes its rows, once, in its own
// transaction, so they cost a commit nothing on the other 1,023 (an index on the log wrote a page per key in every
// commit: 0020). The console's key, tenant and tool filters read only the blocks that hold the value, and the open one.
//
// The rows of the blocks already closed are made here from the log (one read of it, once). IF NOT EXISTS and the upsert:
// a schema version rolled back past this migration runs it again.
/** The table, as PostgreSQL also makes it (SQLite adds STRICT and WITHOUT ROWID). */
export const TABLE = `CREATE TABLE IF NOT EXISTS audit_facets (
  facet TEXT NOT NULL CHECK (facet IN ('key', 'tenant', 'tool')),
  value TEXT NOT NULL,
  block INTEGER NOT NULL CHECK (block >= 0),
  entries INTEGER NOT NULL CHECK (entries BETWEEN 1 AND 1024),
  PRIMARY KEY (facet, value, block)
)`;

/** The summaries of the blocks already closed, from the log; the same text on PostgreSQL. */
export const BACKFILL = `INSERT INTO audit_facets (facet, value, block, entries)
SELECT facet, value, block, entries FROM (
  SELECT 'key' AS facet, key_id AS value, seq / 1024 AS block, count(*) AS entries FROM audit_log
    WHERE key_id IS NOT NULL AND seq < (SELECT (coalesce(max(seq), 0) + 1) / 1024 * 1024 FROM audit_log) GROUP BY key_id, seq / 1024
  UNION ALL
  SELECT 'tenant', tenant, seq / 1024, count(*) FROM audit_log
    WHERE tenant IS NOT NULL AND seq < (SELECT (coalesce(max(seq), 0) + 1) / 1024 * 1024 FROM audit_log) GROUP BY tenant, seq / 1024
  UNION ALL
  SELECT 'tool', tool, seq / 1024, count(*) FROM audit_log
    WHERE tool IS NOT NULL AND seq < (SELECT (coalesce(max(seq), 0) + 1) / 1024 * 1024 FROM audit_log) GROUP BY tool, seq / 1024
) AS closed WHERE true
ON CONFLICT (facet, value, block) DO UPDATE SET entries = excluded.entries;`;

export const sql = `
${TABLE} STRICT, WITHOUT ROWID;
${BACKFILL}
`;
