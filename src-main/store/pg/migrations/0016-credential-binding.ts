// Twin of store/migrations/0016-credential-binding.ts.
export const sql = `
ALTER TABLE technicians ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
ALTER TABLE technician_passkeys ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
ALTER TABLE settings ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
ALTER TABLE console_sessions ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
DELETE FROM console_sessions;
`;
