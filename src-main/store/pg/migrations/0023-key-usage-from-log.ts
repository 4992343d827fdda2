// As SQLite's 0023: the keys' folded usage, starting from their stored sums, and where the fold stands in the audit log.
import { START, TABLES } from '../../migrations/0023-key-usage-from-log.ts';

export const sql = `
${TABLES.replaceAll('%STRICT%', '')}
${START}
`;
