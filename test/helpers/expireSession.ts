// Expires the newest console session in the store, as time would: its expiry moved into the past and the session row
// re-bound under the install key (an expiry edited without the key would make it a tampered session instead).
import { sessionBinding, type SessionBoundRow } from '../../src-main/auth/credentialBinding.ts';
import { bindingKey } from '../../src-main/governance/binding.ts';
import type { Sql } from '../../src-main/store/sql.ts';

export async function expireNewestSession(sql: Sql, hmacKey: Buffer): Promise<void> {
  const r = await sql.get<SessionBoundRow>('SELECT token_hash, technician_id, created_at, expires_at FROM console_sessions ORDER BY created_at DESC, expires_at DESC LIMIT 1');
  if (!r) throw new Error('no console session to expire');
  const expired = { ...r, expires_at: new Date(Date.now() - 1000).toISOString() };
  await sql.run('UPDATE console_sessions SET expires_at = ?, binding = ? WHERE token_hash = ?', [expired.expires_at, sessionBinding(bindingKey(hmacKey), expired), r.token_hash]);
}
