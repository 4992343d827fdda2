// Twin of store/migrations/0018-api-key-binding.ts.
export const sql = `
ALTER TABLE api_keys ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
`;
