// PostgreSQL twin of store/migrations/0015-device-list.ts. A device that moves between cells takes the two cells' row
// locks in key order, so two devices moving opposite ways at once wait for each other instead of deadlocking.
export const sql = `
CREATE TABLE device_counts (
  tenant_id TEXT NOT NULL,
  status TEXT NOT NULL,
  os TEXT NOT NULL,
  compliance TEXT NOT NULL,
  group_id TEXT NOT NULL,
  n INTEGER NOT NULL CHECK (n >= 0),
  PRIMARY KEY (tenant_id, status, os, compliance, group_id)
);
INSERT INTO device_counts (tenant_id, status, os, compliance, group_id, n)
  SELECT tenant_id, status, os, compliance, coalesce(group_id, ''), count(*) FROM devices GROUP BY 1, 2, 3, 4, 5;
CREATE FUNCTION countersign_device_count(t TEXT, s TEXT, o TEXT, c TEXT, g TEXT, d INTEGER) RETURNS void LANGUAGE sql AS $$
  INSERT INTO device_counts (tenant_id, status, os, compliance, group_id, n) VALUES (t, s, o, c, coalesce(g, ''), greatest(d, 0))
    ON CONFLICT (tenant_id, status, os, compliance, group_id) DO UPDATE SET n = device_counts.n + d;
$$;
CREATE FUNCTION countersign_device_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM countersign_device_count(NEW.tenant_id, NEW.status, NEW.os, NEW.compliance, NEW.group_id, 1);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM countersign_device_count(OLD.tenant_id, OLD.status, OLD.os, OLD.compliance, OLD.group_id, -1);
  ELSIF ROW(OLD.tenant_id, OLD.status, OLD.os, OLD.compliance, coalesce(OLD.group_id, '')) < ROW(NEW.tenant_id, NEW.status, NEW.os, NEW.compliance, coalesce(NEW.group_id, '')) THEN
    PERFORM countersign_device_count(OLD.tenant_id, OLD.status, OLD.os, OLD.compliance, OLD.group_id, -1);
    PERFORM countersign_device_count(NEW.tenant_id, NEW.status, NEW.os, NEW.compliance, NEW.group_id, 1);
  ELSE
    PERFORM countersign_device_count(NEW.tenant_id, NEW.status, NEW.os, NEW.compliance, NEW.group_id, 1);
    PERFORM countersign_device_count(OLD.tenant_id, OLD.status, OLD.os, OLD.compliance, OLD.group_id, -1);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER devices_count_insert_delete AFTER INSERT OR DELETE ON devices FOR EACH ROW EXECUTE FUNCTION countersign_device_counts();
CREATE TRIGGER devices_count_update AFTER UPDATE OF tenant_id, status, os, compliance, group_id ON devices FOR EACH ROW
  WHEN (ROW(OLD.tenant_id, OLD.status, OLD.os, OLD.compliance, OLD.group_id) IS DISTINCT FROM ROW(NEW.tenant_id, NEW.status, NEW.os, NEW.compliance, NEW.group_id))
  EXECUTE FUNCTION countersign_device_counts();
DROP INDEX devices_by_status;
CREATE INDEX devices_by_filters ON devices(tenant_id, status, os, compliance, group_id, hostname, id);
CREATE INDEX devices_by_hostname ON devices(hostname, id, tenant_id, status, os, compliance, group_id);
`;
