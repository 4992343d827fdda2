// Keys, policy, approvals, console sessions and the append-only, hash-chained audit log.
export const sql = `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix TEXT NOT NULL,
  hmac TEXT NOT NULL UNIQUE,
  scopes_json TEXT NOT NULL CHECK (json_valid(scopes_json)),
  role TEXT NOT NULL CHECK (role IN ('admin','standard')),
  read_per_minute INTEGER CHECK (read_per_minute > 0),
  write_per_minute INTEGER CHECK (write_per_minute > 0),
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT,
  call_count INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE api_key_tenants (
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  PRIMARY KEY (key_id, tenant_id)
) STRICT;

CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value_json TEXT NOT NULL CHECK (json_valid(value_json)),
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE tier_overrides (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  action TEXT,
  tenant_id TEXT REFERENCES tenants(id),
  tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 4),
  created_at TEXT NOT NULL,
  UNIQUE (tool, action, tenant_id)
) STRICT;

CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  tool TEXT NOT NULL,
  action TEXT,
  tier INTEGER NOT NULL CHECK (tier = 3),
  args_json TEXT NOT NULL CHECK (json_valid(args_json)),
  summary TEXT NOT NULL,
  detail_json TEXT NOT NULL CHECK (json_valid(detail_json)),
  status TEXT NOT NULL CHECK (status IN ('pending','approved','running','completed','failed','denied','expired','cancelled')),
  reason TEXT,
  client_name TEXT,
  client_version TEXT,
  session_id TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  decided_at TEXT,
  decided_by TEXT,
  finished_at TEXT,
  result_json TEXT CHECK (result_json IS NULL OR json_valid(result_json))
) STRICT;
-- one pending request per identical call: a repeat returns the same approval
CREATE UNIQUE INDEX approvals_pending_digest ON approvals(digest) WHERE status = 'pending';
CREATE INDEX approvals_by_status ON approvals(status, expires_at);

CREATE TABLE console_sessions (
  token_hash TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  event TEXT NOT NULL,
  decision TEXT NOT NULL,
  code TEXT,
  rule TEXT,
  key_id TEXT,
  key_name TEXT,
  tenant TEXT,
  client TEXT,
  session_id TEXT,
  tool TEXT,
  action TEXT,
  tier INTEGER,
  args_json TEXT CHECK (args_json IS NULL OR json_valid(args_json)),
  outcome TEXT,
  detail_json TEXT CHECK (detail_json IS NULL OR json_valid(detail_json)),
  duration_ms REAL,
  approval_id TEXT,
  remote TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_time ON audit_log(at);
CREATE INDEX audit_by_key ON audit_log(key_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`;
