// As SQLite's 0020: the audit log's index on (key_id, seq) goes (one index page less written per key in each commit).
export const sql = `
DROP INDEX IF EXISTS audit_by_key;
`;
