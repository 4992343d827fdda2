// The audit log loses its index on (key_id, seq), as 0014 took its index on `at`: each key's entries sit in their own
// index leaf, so a batch of calls from k keys wrote k more pages at its commit (8 keys: 14.6 WAL frames a commit with
// it, 3.5 without; about 12 µs of a governed call). The console's key filter now reads the log as its other filters
// (tenant, tool, text) already did. IF EXISTS: a schema version rolled back past this migration runs it again.
export const sql = `
DROP INDEX IF EXISTS audit_by_key;
`;
