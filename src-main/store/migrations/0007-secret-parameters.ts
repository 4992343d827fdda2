// Script parameters declared secret: a library script names them in params_json ([{"name","secret"}]); their values are
// kept only sealed (AES-256-GCM under a key derived from the install's signing key), per approval, until its commands end.
export const sql = `
ALTER TABLE scripts ADD COLUMN params_json TEXT CHECK (params_json IS NULL OR json_valid(params_json));
CREATE TABLE sealed_secrets (
  approval_id TEXT PRIMARY KEY REFERENCES approvals(id),
  sealed TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
`;
