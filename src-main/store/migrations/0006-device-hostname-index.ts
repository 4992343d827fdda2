// Two devices of one tenant reporting the same hostname are flagged (hostnameConflict): hostnames compare without case,
// as Windows and DNS do, and this index keeps that lookup cheap at fleet size.
export const sql = `
CREATE INDEX devices_by_tenant_hostname_nocase ON devices(tenant_id, hostname COLLATE NOCASE);
`;
