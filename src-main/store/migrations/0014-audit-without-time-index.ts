// The audit log loses its index on `at`: every batch's commit wrote one more page of it to the log (about a fifth of a
// governed call's durable append). Time filters read entries in seq order instead, newest first (see console/auditQuery.ts).
export const sql = `
DROP INDEX audit_by_time;
`;
