// The device list at fleet scale (store/data/deviceList.ts). device_counts holds how many devices each tenant has per
// status, OS, compliance and group (a device without a group under ''), kept by triggers in the device row's own
// transaction, so a filter's total is a sum over a few rows instead of a count over the fleet. devices_by_filters
// covers what a filter or a search over the filtered devices reads; devices_by_hostname gives the list's order with
// the filter columns, so a page is read in order and the walk stops at its end. devices_by_status is a prefix of
// devices_by_filters.
const CELL = (r: string) => `${r}.tenant_id, ${r}.status, ${r}.os, ${r}.compliance, coalesce(${r}.group_id, '')`;
const ADD = (r: string) => `INSERT INTO device_counts (tenant_id, status, os, compliance, group_id, n) VALUES (${CELL(r)}, 1)
    ON CONFLICT (tenant_id, status, os, compliance, group_id) DO UPDATE SET n = n + 1;`;
const REMOVE = (r: string) => `UPDATE device_counts SET n = n - 1
    WHERE (tenant_id, status, os, compliance, group_id) = (${CELL(r)});`;
export const sql = `
CREATE TABLE device_counts (
  tenant_id TEXT NOT NULL,
  status TEXT NOT NULL,
  os TEXT NOT NULL,
  compliance TEXT NOT NULL,
  group_id TEXT NOT NULL,
  n INTEGER NOT NULL CHECK (n >= 0),
  PRIMARY KEY (tenant_id, status, os, compliance, group_id)
) STRICT, WITHOUT ROWID;
INSERT INTO device_counts (tenant_id, status, os, compliance, group_id, n)
  SELECT tenant_id, status, os, compliance, coalesce(group_id, ''), count(*) FROM devices GROUP BY 1, 2, 3, 4, 5;
CREATE TRIGGER devices_count_insert AFTER INSERT ON devices BEGIN
  ${ADD('new')}
END;
CREATE TRIGGER devices_count_delete AFTER DELETE ON devices BEGIN
  ${REMOVE('old')}
END;
CREATE TRIGGER devices_count_update AFTER UPDATE OF tenant_id, status, os, compliance, group_id ON devices
  WHEN old.tenant_id IS NOT new.tenant_id OR old.status IS NOT new.status OR old.os IS NOT new.os
    OR old.compliance IS NOT new.compliance OR old.group_id IS NOT new.group_id BEGIN
  ${REMOVE('old')}
  ${ADD('new')}
END;
DROP INDEX devices_by_status;
CREATE INDEX devices_by_filters ON devices(tenant_id, status, os, compliance, group_id, hostname, id);
CREATE INDEX devices_by_hostname ON devices(hostname, id, tenant_id, status, os, compliance, group_id);
`;
