// PostgreSQL twin of store/migrations/0008-approval-binding.ts.
export const sql = `
ALTER TABLE approvals ADD COLUMN binding TEXT;
ALTER TABLE approvals ADD COLUMN effect_json TEXT CHECK (effect_json IS NULL OR effect_json::json IS NOT NULL);
ALTER TABLE approvals ADD COLUMN decision_code TEXT;
CREATE INDEX executions_by_key ON executions(key_id, tenant_id, created_at);
`;
