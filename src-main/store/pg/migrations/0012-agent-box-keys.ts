// PostgreSQL twin of store/migrations/0012-agent-box-keys.ts.
export const sql = `
ALTER TABLE agents ADD COLUMN box_public_key TEXT CHECK (box_public_key IS NULL OR length(box_public_key) = 43);
`;
