// Who may sign in and with which rights is bound like an approval: a keyed binding (HMAC under the install secret,
// never in the database) over every column of a technician, a passkey, the admin passphrase setting and a console
// session that grants access. Rows that exist now are bound once by the first start after this migration (the key
// is not here); console sessions are stored under a keyed hash from now on, so the open ones end: sign in again.
export const sql = `
ALTER TABLE technicians ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
ALTER TABLE technician_passkeys ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
ALTER TABLE settings ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
ALTER TABLE console_sessions ADD COLUMN binding TEXT CHECK (binding IS NULL OR length(binding) = 64);
DELETE FROM console_sessions;
`;
