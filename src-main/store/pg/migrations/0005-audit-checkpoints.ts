// PostgreSQL twin of store/migrations/0005-audit-checkpoints.ts.
export const sql = `
CREATE TABLE audit_checkpoints (
  n BIGINT PRIMARY KEY CHECK (n >= 1),
  head_seq BIGINT NOT NULL CHECK (head_seq >= 0),
  head_hash TEXT NOT NULL CHECK (length(head_hash) = 64),
  entry_count BIGINT NOT NULL CHECK (entry_count >= 0),
  at TEXT NOT NULL,
  key_fingerprint TEXT NOT NULL CHECK (length(key_fingerprint) = 32),
  line_sha256 TEXT NOT NULL CHECK (length(line_sha256) = 64)
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION countersign_append_only();
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION countersign_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only();
`;
