// PostgreSQL twin of store/migrations/0007-secret-parameters.ts.
export const sql = `
ALTER TABLE scripts ADD COLUMN params_json TEXT CHECK (params_json IS NULL OR params_json::json IS NOT NULL);
CREATE TABLE sealed_secrets (
  approval_id TEXT PRIMARY KEY REFERENCES approvals(id),
  sealed TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`;
