// PostgreSQL twin of store/migrations/0001-fleet.ts: the same tables, columns and checks. Times stay ISO text and
// flags stay 0/1 integers, so rows read back exactly as they do from SQLite.
export const sql = `
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$' AND length(slug) BETWEEN 2 AND 40),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at TEXT NOT NULL
);

CREATE TABLE device_groups (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  UNIQUE (tenant_id, name)
);

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  group_id TEXT REFERENCES device_groups(id),
  hostname TEXT NOT NULL,
  os TEXT NOT NULL CHECK (os IN ('windows','macos','linux')),
  os_version TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('online','offline')),
  isolated INTEGER NOT NULL DEFAULT 0 CHECK (isolated IN (0,1)),
  compliance TEXT NOT NULL CHECK (compliance IN ('compliant','non_compliant','unknown')),
  last_seen_at TEXT NOT NULL,
  ip_address TEXT,
  hardware_json TEXT NOT NULL DEFAULT '{}' CHECK (hardware_json::json IS NOT NULL),
  enrolled_at TEXT NOT NULL
);
CREATE INDEX devices_by_tenant ON devices(tenant_id, hostname);
CREATE INDEX devices_by_status ON devices(tenant_id, status);

CREATE TABLE device_software (
  device_id TEXT NOT NULL REFERENCES devices(id),
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  publisher TEXT,
  PRIMARY KEY (device_id, name)
);

CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  device_id TEXT NOT NULL REFERENCES devices(id),
  severity TEXT NOT NULL CHECK (severity IN ('critical','high','medium','low','info')),
  status TEXT NOT NULL CHECK (status IN ('active','acknowledged','resolved')),
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  triggered_at TEXT NOT NULL,
  acknowledged_at TEXT,
  acknowledged_by TEXT,
  resolved_at TEXT,
  resolved_by TEXT,
  resolution_note TEXT
);
CREATE INDEX alerts_by_tenant ON alerts(tenant_id, status, triggered_at);

CREATE TABLE patches (
  id TEXT PRIMARY KEY,
  external_id TEXT NOT NULL,
  title TEXT NOT NULL,
  os TEXT NOT NULL CHECK (os IN ('windows','macos','linux')),
  severity TEXT NOT NULL CHECK (severity IN ('critical','important','moderate','low')),
  requires_reboot INTEGER NOT NULL CHECK (requires_reboot IN (0,1)),
  released_at TEXT NOT NULL
);

CREATE TABLE device_patches (
  device_id TEXT NOT NULL REFERENCES devices(id),
  patch_id TEXT NOT NULL REFERENCES patches(id),
  state TEXT NOT NULL CHECK (state IN ('missing','scheduled','installing','installed','failed')),
  detected_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (device_id, patch_id)
);

CREATE TABLE scripts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT REFERENCES tenants(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  language TEXT NOT NULL CHECK (language IN ('powershell','bash','python')),
  body TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE maintenance_windows (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  days TEXT NOT NULL CHECK (days::json IS NOT NULL),
  start_minute INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
  duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 15 AND 1440)
);

CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  title TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('p1','p2','p3','p4')),
  status TEXT NOT NULL CHECK (status IN ('open','monitoring','closed')),
  opened_at TEXT NOT NULL
);
`;
