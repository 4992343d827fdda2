// The governance policy (the settings the gate reads and the tier overrides) is bound as one record: a keyed binding
// (HMAC under the install secret, never in the database) over every policy setting and every override. One binding,
// not one per row, so that a deleted override or setting shows too. The policy as it stands is bound once by the first
// start after this migration; a new install binds its empty policy at init.
export const sql = `
CREATE TABLE policy_binding (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  binding TEXT NOT NULL CHECK (length(binding) = 64),
  bound_at TEXT NOT NULL
) STRICT;
`;
