// What a technician approves is bound to the approval: a keyed binding (HMAC under an install secret kept outside
// the database) over the request and the plan the card is rendered from, the canonical effect re-checked at
// approval, and the code of a refusal the gate itself decided (POLICY_CHANGED, TAMPERED, PLAN_CHANGED).
export const sql = `
ALTER TABLE approvals ADD COLUMN binding TEXT;
ALTER TABLE approvals ADD COLUMN effect_json TEXT CHECK (effect_json IS NULL OR json_valid(effect_json));
ALTER TABLE approvals ADD COLUMN decision_code TEXT;
CREATE INDEX executions_by_key ON executions(key_id, tenant_id, created_at);
`;
