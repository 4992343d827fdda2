// PostgreSQL twin of store/migrations/0011-team.ts, and the key budgets several nodes share: a token bucket per key and
// budget, taken in one statement under a row lock, on the database's clock.
export const sql = `
CREATE TABLE technicians (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  passphrase_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner','admin','technician','viewer')),
  all_tenants INTEGER NOT NULL DEFAULT 0 CHECK (all_tenants IN (0,1)),
  created_at TEXT NOT NULL,
  disabled_at TEXT
);

CREATE TABLE technician_tenants (
  technician_id TEXT NOT NULL REFERENCES technicians(id),
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  PRIMARY KEY (technician_id, tenant_id)
);

CREATE TABLE technician_passkeys (
  credential_id TEXT PRIMARY KEY,
  technician_id TEXT NOT NULL REFERENCES technicians(id),
  public_key TEXT NOT NULL,
  algorithm INTEGER NOT NULL,
  sign_count BIGINT NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

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
);

ALTER TABLE approvals ADD COLUMN approvers_required INTEGER NOT NULL DEFAULT 1 CHECK (approvers_required BETWEEN 1 AND 5);

CREATE TABLE approval_votes (
  approval_id TEXT NOT NULL REFERENCES approvals(id),
  technician_id TEXT NOT NULL REFERENCES technicians(id),
  technician_name TEXT NOT NULL,
  at TEXT NOT NULL,
  binding TEXT NOT NULL,
  PRIMARY KEY (approval_id, technician_id)
);

CREATE TABLE rate_buckets (
  id TEXT PRIMARY KEY,
  tokens DOUBLE PRECISION NOT NULL,
  at_ms BIGINT NOT NULL,
  lim INTEGER NOT NULL
);
CREATE FUNCTION countersign_take(p_id TEXT, p_limit INTEGER, p_cost DOUBLE PRECISION) RETURNS TABLE (ok BOOLEAN, tokens DOUBLE PRECISION)
LANGUAGE plpgsql AS $$
DECLARE
  now_ms BIGINT := floor(extract(epoch FROM clock_timestamp()) * 1000);
  b rate_buckets%ROWTYPE;
  t DOUBLE PRECISION;
BEGIN
  INSERT INTO rate_buckets (id, tokens, at_ms, lim) VALUES (p_id, p_limit, now_ms, p_limit) ON CONFLICT (id) DO NOTHING;
  SELECT * INTO b FROM rate_buckets WHERE id = p_id FOR UPDATE;
  IF b.lim <> p_limit THEN t := p_limit;
  ELSE t := least(p_limit::double precision, b.tokens + greatest(0, now_ms - b.at_ms) / 60000.0 * p_limit);
  END IF;
  ok := t >= p_cost;
  IF ok THEN t := t - p_cost; END IF;
  UPDATE rate_buckets SET tokens = t, at_ms = now_ms, lim = p_limit WHERE id = p_id;
  tokens := t;
  RETURN NEXT;
END $$;
`;
