// Team mode: technician accounts (name, scrypt passphrase, optional passkeys, a role, the tenants each may act on), API
// keys owned by a technician, four-eyes rules (N distinct approvers per tool, action, tier or tenant) and the approvals
// given so far on a request, each bound by an HMAC under an install secret kept outside the database. The shared key
// budgets of several nodes live only in PostgreSQL (its twin of this migration); SQLite's budgets stay in memory.
export const sql = `
CREATE TABLE technicians (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  passphrase_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner','admin','technician','viewer')),
  all_tenants INTEGER NOT NULL DEFAULT 0 CHECK (all_tenants IN (0,1)),
  created_at TEXT NOT NULL,
  disabled_at TEXT
) STRICT;

CREATE TABLE technician_tenants (
  technician_id TEXT NOT NULL REFERENCES technicians(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  PRIMARY KEY (technician_id, tenant_id)
) STRICT;

CREATE TABLE technician_passkeys (
  credential_id TEXT PRIMARY KEY,
  technician_id TEXT NOT NULL REFERENCES technicians(id),
  public_key TEXT NOT NULL,
  algorithm INTEGER NOT NULL,
  sign_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
) STRICT;

ALTER TABLE api_keys ADD COLUMN owner_id TEXT REFERENCES technicians(id);
ALTER TABLE console_sessions ADD COLUMN technician_id TEXT REFERENCES technicians(id);

-- Each node keeps its own checkpoint file; the text of every line is recorded too, so a node appends the lines other
-- nodes signed (each checked against its recorded hash and the install key) before its own: every file holds them all.
ALTER TABLE audit_checkpoints ADD COLUMN line_text TEXT;

CREATE TABLE approval_rules (
  id TEXT PRIMARY KEY,
  tool TEXT,
  action TEXT,
  tier INTEGER CHECK (tier IS NULL OR tier = 3),
  tenant_id TEXT REFERENCES tenants(id),
  approvers INTEGER NOT NULL CHECK (approvers BETWEEN 2 AND 5),
  created_at TEXT NOT NULL
) STRICT;

ALTER TABLE approvals ADD COLUMN approvers_required INTEGER NOT NULL DEFAULT 1 CHECK (approvers_required BETWEEN 1 AND 5);

CREATE TABLE approval_votes (
  approval_id TEXT NOT NULL REFERENCES approvals(id),
  technician_id TEXT NOT NULL REFERENCES technicians(id),
  technician_name TEXT NOT NULL,
  at TEXT NOT NULL,
  binding TEXT NOT NULL,
  PRIMARY KEY (approval_id, technician_id)
) STRICT;
`;
