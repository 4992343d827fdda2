// Hostname search at fleet scale: a trigram index over device hostnames (FTS5, external content: the hostnames are
// not stored twice), kept by triggers in the same transaction as the device rows. A substring search of three or more
// characters reads the index instead of every device of the tenant.
export const sql = `
CREATE VIRTUAL TABLE device_search USING fts5(hostname, content='devices', content_rowid='rowid', tokenize='trigram');
INSERT INTO device_search(device_search) VALUES ('rebuild');
CREATE TRIGGER devices_search_insert AFTER INSERT ON devices BEGIN
  INSERT INTO device_search(rowid, hostname) VALUES (new.rowid, new.hostname);
END;
CREATE TRIGGER devices_search_delete AFTER DELETE ON devices BEGIN
  INSERT INTO device_search(device_search, rowid, hostname) VALUES ('delete', old.rowid, old.hostname);
END;
CREATE TRIGGER devices_search_update AFTER UPDATE OF hostname ON devices BEGIN
  INSERT INTO device_search(device_search, rowid, hostname) VALUES ('delete', old.rowid, old.hostname);
  INSERT INTO device_search(rowid, hostname) VALUES (new.rowid, new.hostname);
END;
`;
