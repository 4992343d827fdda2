// PostgreSQL twin of store/migrations/0004-agents.ts.
export const sql = `
CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  hmac TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  max_uses INTEGER NOT NULL CHECK (max_uses BETWEEN 1 AND 10000),
  uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX enrollment_tokens_by_tenant ON enrollment_tokens(tenant_id, created_at);

CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL UNIQUE REFERENCES devices(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  token_id TEXT NOT NULL REFERENCES enrollment_tokens(id),
  secret_hmac TEXT NOT NULL UNIQUE,
  agent_version TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  last_connected_at TEXT,
  last_heartbeat_at TEXT,
  remote TEXT
);

CREATE TABLE command_signatures (
  command_id TEXT PRIMARY KEY REFERENCES device_commands(id),
  device_id TEXT NOT NULL,
  approval_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('script','device_action','patch_install')),
  issued_at TEXT NOT NULL,
  nonce TEXT NOT NULL UNIQUE,
  signature TEXT NOT NULL
);

CREATE TABLE command_dispatch (
  command_id TEXT PRIMARY KEY REFERENCES device_commands(id),
  agent_id TEXT NOT NULL REFERENCES agents(id),
  dispatched_at TEXT NOT NULL,
  lease_expires_at TEXT NOT NULL,
  dispatch_count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX command_dispatch_by_lease ON command_dispatch(lease_expires_at);
`;
