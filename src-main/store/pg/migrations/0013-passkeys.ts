// Twin of store/migrations/0013-passkeys.ts.
export const sql = `
ALTER TABLE technician_passkeys ADD COLUMN name TEXT NOT NULL DEFAULT 'passkey' CHECK (length(name) BETWEEN 1 AND 100);
ALTER TABLE technician_passkeys ADD COLUMN transports TEXT NOT NULL DEFAULT '[]' CHECK (transports::jsonb IS NOT NULL);
ALTER TABLE technician_passkeys ADD COLUMN last_used_at TEXT;
CREATE INDEX technician_passkeys_by_technician ON technician_passkeys(technician_id);

CREATE TABLE webauthn_challenges_used (
  challenge_hash TEXT PRIMARY KEY CHECK (length(challenge_hash) = 64),
  expires_at TEXT NOT NULL
);
CREATE INDEX webauthn_challenges_used_expiry ON webauthn_challenges_used(expires_at);
`;
