// PostgreSQL twin of store/migrations/0006-device-hostname-conflicts.ts: hostnames compared without case (lower()).
export const sql = `
ALTER TABLE devices ADD COLUMN hostname_conflict INTEGER NOT NULL DEFAULT 0 CHECK (hostname_conflict IN (0, 1));
CREATE INDEX devices_by_tenant_hostname_nocase ON devices(tenant_id, lower(hostname));
CREATE FUNCTION countersign_recount_hostname(t TEXT, h TEXT) RETURNS void LANGUAGE sql AS $$
  UPDATE devices SET hostname_conflict = CASE WHEN (SELECT count(*) FROM devices o WHERE o.tenant_id = t AND lower(o.hostname) = lower(h)) > 1 THEN 1 ELSE 0 END
    WHERE tenant_id = t AND lower(hostname) = lower(h);
$$;
UPDATE devices SET hostname_conflict = CASE WHEN (SELECT count(*) FROM devices o WHERE o.tenant_id = devices.tenant_id AND lower(o.hostname) = lower(devices.hostname)) > 1 THEN 1 ELSE 0 END;
CREATE FUNCTION countersign_hostname_conflicts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM countersign_recount_hostname(OLD.tenant_id, OLD.hostname); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM countersign_recount_hostname(NEW.tenant_id, NEW.hostname); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER devices_hostname_conflict_insert AFTER INSERT ON devices FOR EACH ROW EXECUTE FUNCTION countersign_hostname_conflicts();
CREATE TRIGGER devices_hostname_conflict_update AFTER UPDATE OF hostname, tenant_id ON devices FOR EACH ROW EXECUTE FUNCTION countersign_hostname_conflicts();
CREATE TRIGGER devices_hostname_conflict_delete AFTER DELETE ON devices FOR EACH ROW EXECUTE FUNCTION countersign_hostname_conflicts();
`;
