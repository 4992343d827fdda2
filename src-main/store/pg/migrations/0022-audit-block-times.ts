// As SQLite's 0022: each closed block's entry count and time bounds, and those of the blocks already closed.
import { BACKFILL, TABLE } from '../../migrations/0022-audit-block-times.ts';

export const sql = `
${TABLE};
${BACKFILL}
`;
