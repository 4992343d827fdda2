// Two devices of one tenant reporting the same hostname (compared without case, as Windows and DNS do) are flagged:
// hostname_conflict is kept up to date by triggers, so the fleet tools read a column instead of searching per row.
const SAME_NAME = (t: string) => `tenant_id = ${t}.tenant_id AND hostname = ${t}.hostname COLLATE NOCASE`;
const RECOUNT = `UPDATE devices SET hostname_conflict = (SELECT count(*) > 1 FROM devices o
    WHERE o.tenant_id = devices.tenant_id AND o.hostname = devices.hostname COLLATE NOCASE)`;
export const sql = `
ALTER TABLE devices ADD COLUMN hostname_conflict INTEGER NOT NULL DEFAULT 0 CHECK (hostname_conflict IN (0, 1));
CREATE INDEX devices_by_tenant_hostname_nocase ON devices(tenant_id, hostname COLLATE NOCASE);
${RECOUNT};
CREATE TRIGGER devices_hostname_conflict_insert AFTER INSERT ON devices BEGIN
  ${RECOUNT} WHERE ${SAME_NAME('NEW')};
END;
CREATE TRIGGER devices_hostname_conflict_update AFTER UPDATE OF hostname, tenant_id ON devices BEGIN
  ${RECOUNT} WHERE (${SAME_NAME('OLD')}) OR (${SAME_NAME('NEW')});
END;
CREATE TRIGGER devices_hostname_conflict_delete AFTER DELETE ON devices BEGIN
  ${RECOUNT} WHERE ${SAME_NAME('OLD')};
END;
`;
