// PostgreSQL twin of store/migrations/0009-standing-approvals.ts: grants, approved plans and decision times.
export const sql = `
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  tool TEXT NOT NULL CHECK (length(tool) BETWEEN 1 AND 100),
  action TEXT CHECK (action IS NULL OR length(action) BETWEEN 1 AND 100),
  envelope_json TEXT NOT NULL CHECK (envelope_json::json IS NOT NULL),
  source_approval_id TEXT REFERENCES approvals(id),
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  expires_at TEXT NOT NULL CHECK (expires_at > created_at),
  max_uses INTEGER CHECK (max_uses IS NULL OR max_uses BETWEEN 1 AND 100000),
  uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
  revoked_at TEXT,
  revoked_by TEXT,
  binding TEXT NOT NULL
);
CREATE INDEX grants_by_key ON grants(key_id, tenant_id, tool, expires_at);
CREATE INDEX grants_by_time ON grants(created_at);

CREATE TABLE plans (
  id TEXT PRIMARY KEY,
  approval_id TEXT NOT NULL UNIQUE REFERENCES approvals(id),
  key_id TEXT NOT NULL REFERENCES api_keys(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  step_count INTEGER NOT NULL CHECK (step_count BETWEEN 1 AND 20),
  next_step INTEGER NOT NULL DEFAULT 0 CHECK (next_step BETWEEN 0 AND step_count),
  status TEXT NOT NULL CHECK (status IN ('active','completed','stopped')),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL CHECK (expires_at > created_at),
  ended_at TEXT,
  end_reason TEXT,
  binding TEXT NOT NULL,
  CHECK ((status = 'completed') = (next_step = step_count))
);
CREATE INDEX plans_active ON plans(key_id, tenant_id) WHERE status = 'active';

CREATE TABLE decision_times (
  approval_id TEXT PRIMARY KEY REFERENCES approvals(id),
  decision TEXT NOT NULL CHECK (decision IN ('approved','denied')),
  decided_at TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  viewed_ms INTEGER CHECK (viewed_ms IS NULL OR viewed_ms BETWEEN 0 AND 86400000)
);
CREATE INDEX decision_times_by_time ON decision_times(decided_at);
`;
