// As SQLite's 0023: where the API keys' stored usage ends in the audit log (the log's head at this upgrade).
import { START, TABLE } from '../../migrations/0023-key-usage-from-log.ts';

export const sql = `
${TABLE};
${START}
`;
