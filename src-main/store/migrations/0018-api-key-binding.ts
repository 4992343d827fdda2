// What an API key may do is bound like a console credential: a keyed binding (HMAC under the install secret, never in
// the database) over its scopes, role, limits, owner, expiry, revocation and tenants. Keys that exist now are bound
// once by the first start after this migration (the key is not here).
export const sql = `
ALTER TABLE api_keys ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
`;
