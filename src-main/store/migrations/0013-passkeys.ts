// Passkeys of technician accounts: each has a name its owner gave it, the transports the browser reported (a hint for
// the next sign-in) and when it last signed in. A WebAuthn challenge is signed by the server and carries its own expiry;
// the challenges already answered are recorded until they expire, so each is accepted once, on whichever node.
export const sql = `
ALTER TABLE technician_passkeys ADD COLUMN name TEXT NOT NULL DEFAULT 'passkey' CHECK (length(name) BETWEEN 1 AND 100);
ALTER TABLE technician_passkeys ADD COLUMN transports TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(transports));
ALTER TABLE technician_passkeys ADD COLUMN last_used_at TEXT;
CREATE INDEX technician_passkeys_by_technician ON technician_passkeys(technician_id);

CREATE TABLE webauthn_challenges_used (
  challenge_hash TEXT PRIMARY KEY CHECK (length(challenge_hash) = 64),
  expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX webauthn_challenges_used_expiry ON webauthn_challenges_used(expires_at);
`;
