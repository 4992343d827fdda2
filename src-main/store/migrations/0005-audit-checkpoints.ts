// Anchored audit checkpoints: each signed checkpoint line written to the files outside the database is also recorded here,
// so a deleted, truncated or replaced checkpoint file, or a swapped signing key, shows against the log itself.
export const sql = `
CREATE TABLE audit_checkpoints (
  n INTEGER PRIMARY KEY CHECK (n >= 1),                     -- checkpoint number: line n of the checkpoint file
  head_seq INTEGER NOT NULL CHECK (head_seq >= 0),
  head_hash TEXT NOT NULL CHECK (length(head_hash) = 64),
  entry_count INTEGER NOT NULL CHECK (entry_count >= 0),
  at TEXT NOT NULL,
  key_fingerprint TEXT NOT NULL CHECK (length(key_fingerprint) = 32),
  line_sha256 TEXT NOT NULL CHECK (length(line_sha256) = 64)   -- SHA-256 of the signed line as written to the file
) STRICT;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
`;
