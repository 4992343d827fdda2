// An install as a version before the schema record left it: its 'initialized' audit entry names no schema version (what
// bindingMoment in src-main/auth/credentialBinding.ts reads to tell an upgrade from a rolled-back schema). The entry is
// rewritten and the chain hashed again from it, as that version would have written it, and the settings flag that says
// the schema is recorded is gone (that version had none); run it with no app open.
import { GENESIS_HASH, hashRow, type AuditRow } from '../../src-main/audit/log.ts';
import type { Sql } from '../../src-main/store/sql.ts';

export async function initializedBeforeSchemaRecord(sql: Sql, pg: boolean): Promise<void> {
  await sql.run(pg ? 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update' : 'DROP TRIGGER audit_log_no_update');
  await sql.run(`UPDATE audit_log SET detail_json = NULL WHERE outcome = 'initialized'`);
  await sql.run(`DELETE FROM settings WHERE name = 'schemaRecorded'`);
  let prev = GENESIS_HASH;
  for (const row of await sql.all<AuditRow>('SELECT * FROM audit_log ORDER BY seq')) {
    const hash = hashRow({ ...row, prev_hash: prev });
    await sql.run('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?', [prev, hash, row.seq]);
    prev = hash;
  }
  await sql.run(pg ? 'ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update'
    : `CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`);
}
