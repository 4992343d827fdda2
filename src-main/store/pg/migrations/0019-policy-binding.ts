// Twin of store/migrations/0019-policy-binding.ts.
export const sql = `
CREATE TABLE policy_binding (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  binding TEXT NOT NULL CHECK (length(binding) = 64),
  bound_at TEXT NOT NULL
);
`;
