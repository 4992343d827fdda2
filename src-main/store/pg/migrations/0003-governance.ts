// PostgreSQL twin of store/migrations/0003-governance.ts. The audit log is append-only by trigger, as in SQLite.
export const sql = `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix TEXT NOT NULL,
  hmac TEXT NOT NULL UNIQUE,
  scopes_json TEXT NOT NULL CHECK (scopes_json::json IS NOT NULL),
  role TEXT NOT NULL CHECK (role IN ('admin','standard')),
  read_per_minute INTEGER CHECK (read_per_minute > 0),
  write_per_minute INTEGER CHECK (write_per_minute > 0),
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT,
  call_count BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_key_tenants (
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  PRIMARY KEY (key_id, tenant_id)
);

CREATE TABLE settings (
  name TEXT PRIMARY KEY,
  value_json TEXT NOT NULL CHECK (value_json::json IS NOT NULL),
  updated_at TEXT NOT NULL
);

CREATE TABLE tier_overrides (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  action TEXT,
  tenant_id TEXT REFERENCES tenants(id),
  tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 4),
  created_at TEXT NOT NULL,
  UNIQUE (tool, action, tenant_id)
);

CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  tool TEXT NOT NULL,
  action TEXT,
  tier INTEGER NOT NULL CHECK (tier = 3),
  args_json TEXT NOT NULL CHECK (args_json::json IS NOT NULL),
  summary TEXT NOT NULL,
  detail_json TEXT NOT NULL CHECK (detail_json::json IS NOT NULL),
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
  result_json TEXT CHECK (result_json IS NULL OR result_json::json IS NOT NULL)
);
CREATE UNIQUE INDEX approvals_pending_digest ON approvals(digest) WHERE status = 'pending';
CREATE INDEX approvals_by_status ON approvals(status, expires_at);

CREATE TABLE console_sessions (
  token_hash TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);

CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
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
  args_json TEXT CHECK (args_json IS NULL OR args_json::json IS NOT NULL),
  outcome TEXT,
  detail_json TEXT CHECK (detail_json IS NULL OR detail_json::json IS NOT NULL),
  duration_ms DOUBLE PRECISION,
  approval_id TEXT,
  remote TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_log(at);
CREATE INDEX audit_by_key ON audit_log(key_id, seq);
CREATE FUNCTION countersign_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION countersign_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION countersign_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only();
`;
