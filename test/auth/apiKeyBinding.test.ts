// API keys under the threat model's database writer (writes the SQLite file or is a PostgreSQL admin, cannot read
// secrets.json), on both stores, against a real server: a key's scopes widened, a tenant added to it, its revocation
// cleared. Each such key opens no session on either transport (401, as an unknown key), resolves to nothing where the
// console lists it or an approval re-checks it, and is audited as TAMPERED. Undone, the key works again. Keys the
// product changes (creation, revocation) stay bound.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { initializeRequest, mcpHeaders, rawRequest } from '../helpers/raw.ts';
import { structured } from '../helpers/console.ts';
import { budget } from '../helpers/wait.ts';
import { withInstallSql } from '../helpers/installSql.ts';
import { NOTIFY_CHANNEL } from '../../src-main/store/pg/store.ts';

describeStores('API keys bound against a database writer', (store) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ store });
  });
  afterAll(async () => {
    await t.close();
  });

  // The attacker's writes: plain SQL on the database from a connection of their own, no service, no key. A node keeps
  // the keys it resolved (as they were, bound) until another commit tells it the rows may have changed: on SQLite the
  // file's change counter moves with the write itself; on PostgreSQL the next commit of any node notifies, as here.
  const write = (sql: string, params: unknown[] = []) => withInstallSql(t.dir, t.storeUrl, async ({ sql: db }) => {
    await db.run(sql, params);
    if (t.storeUrl) await db.run('SELECT pg_notify(?, ?)', [NOTIFY_CHANNEL, 'another-node']);
  });
  const idOf = async (name: string) => (await t.app.keys.list()).find((k) => k.name === name)!.id;
  const opens = async (key: string) => (await rawRequest({ port: Number(new URL(t.url).port), method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) })).status;
  const sseOpens = async (key: string) => {
    const r = await fetch(new URL('/api/v1/mcp/sse', t.url), { headers: { 'X-API-Key': key, Accept: 'text/event-stream' } });
    await r.body?.cancel();
    return r.status;
  };
  const tamperAudits = async () => (await t.app.store.sql.all<{ outcome: string }>(
    `SELECT outcome FROM audit_log WHERE code = 'TAMPERED' AND rule = 'credential_binding'`)).map((a) => a.outcome);
  /** Refused (401) and audited once the server has re-read the row (on PostgreSQL, when notified; until then it keeps the key as bound). */
  const refusedAsTampered = async (key: string, name: string) => {
    await expect.poll(async () => {
      expect(await opens(key)).toBe(401);
      return tamperAudits();
    }, { timeout: budget(10_000) }).toContain(`tampered API key ${name}`);
  };
  /** Undone, the key opens sessions again once the server has re-read the row. */
  const worksAgain = (key: string) => expect.poll(() => opens(key), { timeout: budget(10_000) }).toBe(200);

  it('a read-only key widened to ai:execute in the database opens no session on either transport; restored, it works again', async () => {
    const key = await t.key({ name: 'reader', scopes: ['ai:read'], role: 'standard' });
    const c = await t.connect('http', key);
    expect(structured<{ name: string }>(await c.callTool({ name: 'whoami', arguments: {} })).name).toBe('reader');
    const id = await idOf('reader');
    const row = (await t.app.store.sql.get<{ scopes_json: string; binding: string }>('SELECT scopes_json, binding FROM api_keys WHERE id = ?', [id]))!;
    expect(row.binding).toMatch(/^[0-9a-f]{64}$/);
    await write('UPDATE api_keys SET scopes_json = ?, role = ? WHERE id = ?', ['["ai:read","ai:write","ai:execute"]', 'admin', id]);
    await refusedAsTampered(key, 'reader');
    expect(await sseOpens(key)).toBe(401);
    // Where the console lists it, it holds nothing.
    expect((await t.app.keys.list()).find((k) => k.id === id)).toMatchObject({ scopes: [], tenants: [] });
    await write('UPDATE api_keys SET scopes_json = ?, role = ? WHERE id = ?', [row.scopes_json, 'standard', id]);
    await worksAgain(key);
    expect(await sseOpens(key)).toBe(200);
  });

  it('a tenant added to a key in the database: no session; the binding also covers the key\'s tenants', async () => {
    const key = await t.key({ name: 'one-tenant', tenants: ['acme-dental'] });
    expect(await opens(key)).toBe(200);
    const id = await idOf('one-tenant');
    await write(`INSERT INTO api_key_tenants (key_id, tenant_id) SELECT ?, id FROM tenants WHERE slug = 'globex-logistics'`, [id]);
    await refusedAsTampered(key, 'one-tenant');
    await write(`DELETE FROM api_key_tenants WHERE key_id = ? AND tenant_id = (SELECT id FROM tenants WHERE slug = 'globex-logistics')`, [id]);
    await worksAgain(key);
  });

  it('a revoked key whose revocation is cleared in the database stays refused', async () => {
    const key = await t.key({ name: 'revoked-one' });
    const id = await idOf('revoked-one');
    await t.app.keys.revoke(id);
    expect(await opens(key)).toBe(401);
    await write('UPDATE api_keys SET revoked_at = NULL WHERE id = ?', [id]);
    await refusedAsTampered(key, 'revoked-one');
    // The console's re-check of the key (an approval's) finds nothing it may do either.
    expect(await t.app.keys.current(id)).toMatchObject({ scopes: [], tenants: [], revokedAt: null });
  });

  it('a key\'s binding copied onto another key does not hold there', async () => {
    const key = await t.key({ name: 'copy-target', scopes: ['ai:read'], role: 'standard' });
    await t.key({ name: 'copy-source', scopes: ['ai:read', 'ai:write', 'ai:execute'] });
    const [target, source] = [await idOf('copy-target'), await idOf('copy-source')];
    await write(`UPDATE api_keys SET scopes_json = (SELECT scopes_json FROM api_keys WHERE id = ?), role = 'admin', binding = (SELECT binding FROM api_keys WHERE id = ?) WHERE id = ?`, [source, source, target]);
    await refusedAsTampered(key, 'copy-target');
  });
});
