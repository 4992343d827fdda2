// As SQLite's 0021: the audit log's block summaries, and those of the blocks already closed, made from the log.
import { BACKFILL } from '../../migrations/0021-audit-facets.ts';

export const sql = `
CREATE TABLE IF NOT EXISTS audit_facets (
  facet TEXT NOT NULL CHECK (facet IN ('key', 'tenant', 'tool')),
  value TEXT NOT NULL,
  block INTEGER NOT NULL CHECK (block >= 0),
  entries INTEGER NOT NULL CHECK (entries BETWEEN 1 AND 1024),
  PRIMARY KEY (facet, value, block)
);
${BACKFILL}
`;
