// As SQLite's 0014: the audit log's index on `at` goes (one index page less written per commit).
export const sql = `
DROP INDEX audit_by_time;
`;
