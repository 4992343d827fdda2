// PostgreSQL twin of store/migrations/0002-work.ts.
export const sql = `
CREATE TABLE executions (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  kind TEXT NOT NULL CHECK (kind IN ('script','device_action','patch_install')),
  tool TEXT NOT NULL,
  approval_id TEXT,
  key_id TEXT,
  summary TEXT NOT NULL,
  detail_json TEXT NOT NULL CHECK (detail_json::json IS NOT NULL),
  created_at TEXT NOT NULL
);
CREATE INDEX executions_by_tenant ON executions(tenant_id, created_at);

CREATE TABLE device_commands (
  id TEXT PRIMARY KEY,
  execution_id TEXT NOT NULL REFERENCES executions(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  device_id TEXT NOT NULL REFERENCES devices(id),
  kind TEXT NOT NULL CHECK (kind IN ('script','device_action','patch_install')),
  payload_json TEXT NOT NULL CHECK (payload_json::json IS NOT NULL),
  status TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed','timed_out','cancelled')),
  not_before TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  exit_code BIGINT,
  stdout TEXT,
  stderr TEXT
);
CREATE INDEX device_commands_by_device ON device_commands(device_id, status);
CREATE INDEX device_commands_by_execution ON device_commands(execution_id);

CREATE TABLE reports (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  type TEXT NOT NULL CHECK (type IN ('compliance','security','inventory','executive')),
  format TEXT NOT NULL CHECK (format IN ('csv','html','pdf')),
  status TEXT NOT NULL CHECK (status IN ('queued','running','completed','failed')),
  progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  file_name TEXT,
  size_bytes BIGINT,
  sha256 TEXT,
  error TEXT,
  key_id TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT
);

CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  kind TEXT NOT NULL CHECK (kind IN ('runbook','incident_note','change_log')),
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  incident_id TEXT REFERENCES incidents(id),
  detail_json TEXT NOT NULL DEFAULT '{}' CHECK (detail_json::json IS NOT NULL),
  key_id TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX documents_by_tenant ON documents(tenant_id, kind, created_at);

CREATE TABLE document_links (
  document_id TEXT NOT NULL REFERENCES documents(id),
  target_kind TEXT NOT NULL CHECK (target_kind IN ('device','alert','incident')),
  target_id TEXT NOT NULL,
  PRIMARY KEY (document_id, target_kind, target_id)
);
`;
