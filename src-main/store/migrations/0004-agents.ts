// The endpoint agent: enrollment tokens, enrolled agents (one per device) and the console's signature on each device command.
export const sql = `
CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  hmac TEXT NOT NULL UNIQUE,                        -- HMAC-SHA256 of the token secret under the install key; never the token
  prefix TEXT NOT NULL,
  max_uses INTEGER NOT NULL CHECK (max_uses BETWEEN 1 AND 10000),
  uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT
) STRICT;
CREATE INDEX enrollment_tokens_by_tenant ON enrollment_tokens(tenant_id, created_at);

CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL UNIQUE REFERENCES devices(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  token_id TEXT NOT NULL REFERENCES enrollment_tokens(id),
  secret_hmac TEXT NOT NULL UNIQUE,                 -- HMAC-SHA256 of the agent secret under the install key
  agent_version TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  last_connected_at TEXT,
  last_heartbeat_at TEXT,
  remote TEXT
) STRICT;

-- Made when the command is queued (inside the approval's transaction), never at dispatch: an edit of the queued row breaks it.
CREATE TABLE command_signatures (
  command_id TEXT PRIMARY KEY REFERENCES device_commands(id),
  device_id TEXT NOT NULL,
  approval_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('script','device_action','patch_install')),
  issued_at TEXT NOT NULL,
  nonce TEXT NOT NULL UNIQUE,
  signature TEXT NOT NULL
) STRICT;

-- Delivery of a command to its agent: a running command whose lease ran out without a result ends 'failed'.
CREATE TABLE command_dispatch (
  command_id TEXT PRIMARY KEY REFERENCES device_commands(id),
  agent_id TEXT NOT NULL REFERENCES agents(id),
  dispatched_at TEXT NOT NULL,
  lease_expires_at TEXT NOT NULL,
  dispatch_count INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX command_dispatch_by_lease ON command_dispatch(lease_expires_at);
`;
