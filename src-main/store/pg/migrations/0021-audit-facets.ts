// As SQLite's 0021: the audit log's block summaries, and those of the blocks already closed, made from the log.
import { BACKFILL, TABLE } from '../../migrations/0021-audit-facets.ts';

export const sql = `
${TABLE};
${BACKFILL}
`;
