// An API key's usage read from the audit log (audit/keyUsage.ts, migration 23): its calls are its allowed and pending
// tool-call entries, refusals are not; the append that closes a block folds them into key_usage, and the count read
// stays exact across the fold; the upgrade counts the log, can run again, and a writer of the version before does not
// make calls count twice. On both stores.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { BLOCK } from '../../src-main/audit/facets.ts';
import type { ApiKey } from '../../src-main/auth/keys.ts';
import { MIGRATIONS } from '../../src-main/store/migrations/index.ts';
import { PG_MIGRATIONS } from '../../src-main/store/pg/migrations/index.ts';
import { initTestDir } from '../helpers/server.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';

const CALLS = `event = 'tool_call' AND decision IN ('allowed', 'pending') AND key_id = ?`;

describeStores('API key usage read from the audit log', (kind) => {
  let app: App;
  let a: ApiKey;
  let b: ApiKey;
  const listed = async (k: ApiKey) => (await app.keys.list()).find((x) => x.id === k.id)!;
  const logged = async (k: ApiKey, throughSeq = Number.MAX_SAFE_INTEGER) => {
    const r = (await app.store.sql.get<{ n: number | string; last: string | null }>(`SELECT count(*) AS n, max(at) AS last FROM audit_log WHERE ${CALLS} AND seq <= ?`, [k.id, throughSeq]))!;
    return { n: Number(r.n), last: r.last };
  };
  const stored = async (k: ApiKey) => {
    const r = await app.store.sql.get<{ calls: number | string; last_used_at: string | null }>('SELECT calls, last_used_at FROM key_usage WHERE key_id = ?', [k.id]);
    return { n: Number(r?.calls ?? 0), last: r?.last_used_at ?? null };
  };
  const foldedThrough = async () => Number((await app.store.sql.get<{ through_seq: number | string }>('SELECT through_seq FROM key_usage_fold'))!.through_seq);
  const head = async () => Number((await app.store.sql.get<{ seq: number | string }>('SELECT max(seq) AS seq FROM audit_log'))!.seq);

  beforeAll(async () => {
    const storeUrl = await storeUrlFor(kind, 'key-usage');
    app = await openApp(await initTestDir(storeUrl), { log: () => {}, storeUrl });
    const tenants = ['acme-dental'];
    a = (await app.keys.create({ name: 'usage-a', scopes: ['ai:read'], tenants, readPerMinute: 100_000 })).key;
    b = (await app.keys.create({ name: 'usage-b', scopes: ['ai:read'], tenants, readPerMinute: 100_000 })).key;
  });
  afterAll(async () => app?.close());

  it('counts the calls the gate answered, not its refusals; last used is the latest call', async () => {
    expect(await listed(a)).toMatchObject({ callCount: 0, lastUsedAt: null });
    for (let i = 0; i < 3; i++) expect((await app.gate.call('whoami', {}, { key: a })).kind).toBe('ok');
    expect((await app.gate.call('no_such_tool', {}, { key: a })).kind).toBe('refused');
    expect((await app.gate.call('list_devices', { tenant: 'not-this-keys' }, { key: a })).kind).toBe('refused');
    expect((await app.gate.call('whoami', {}, { key: b })).kind).toBe('ok');
    const last = (await logged(a)).last;
    expect(await listed(a)).toMatchObject({ callCount: 3, lastUsedAt: last });
    expect(await app.keys.get(a.id)).toMatchObject({ callCount: 3, lastUsedAt: last });
    expect(await listed(b)).toMatchObject({ callCount: 1 });
    // Nothing was written to the key rows for it: the calls are in the log after the fold.
    expect(await stored(a)).toEqual({ n: 0, last: null });
  });

  it('the append that closes a block folds the calls into the key row; the count read stays exact across it', async () => {
    const closing = (Math.floor((await head()) / BLOCK) + 1) * BLOCK - 1;
    // Calls of both keys and entries of no key's calls, through the block's close and 40 entries past it.
    const entries = closing - (await head()) + 40;
    for (let i = 0; i < entries; i += 64) {
      await Promise.all(Array.from({ length: Math.min(64, entries - i) }, (_, j) => (i + j) % 5 === 4
        ? app.store.audit.append({ event: 'tool_call', decision: 'failed', keyId: a.id, tool: 'whoami', outcome: 'not a call' })
        : app.store.audit.append({ event: 'tool_call', decision: (i + j) % 7 === 0 ? 'pending' : 'allowed', keyId: (i + j) % 11 === 10 ? 'no-such-key' : (i + j) % 3 ? a.id : b.id, tool: 'whoami', outcome: 'ok' })));
    }
    expect(await foldedThrough()).toBe(closing);
    // An entry naming no key (as one written into the log by hand) folds into nothing, and fails nothing.
    expect(await app.store.sql.get('SELECT key_id FROM key_usage WHERE key_id = ?', ['no-such-key'])).toBeUndefined();
    for (const k of [a, b]) {
      const through = await logged(k, closing);
      expect(await stored(k)).toEqual(through);
      const all = await logged(k);
      expect(all.n).toBeGreaterThan(through.n);
      expect(await listed(k)).toMatchObject({ callCount: all.n, lastUsedAt: all.last });
    }
  });

  it('the upgrade counts the log, runs again unchanged (folded or not yet), and a writer of the version before counts nothing twice', async () => {
    const before = await listed(a);
    const m = (kind === 'postgres' ? PG_MIGRATIONS : MIGRATIONS).find((x) => x.name === 'key-usage-from-log')!;
    const migrate = () => app.store.write(async (tx) => {
      for (const statement of m.sql.split(/;\s*$/m).map((x) => x.trim()).filter(Boolean)) await tx.sql.run(statement);
    });
    // As the version before it left the database: no usage tables, and a key row whose count an older writer kept.
    await app.store.write(async (tx) => {
      await tx.sql.run('UPDATE api_keys SET call_count = 999, last_used_at = ? WHERE id = ?', [new Date(0).toISOString(), a.id]);
      for (const undo of ['DROP TABLE key_usage_fold', 'DROP TABLE key_usage']) await tx.sql.run(undo);
    });
    await migrate();
    expect(await foldedThrough()).toBe(await head());
    expect(await listed(a)).toMatchObject({ callCount: before.callCount, lastUsedAt: before.lastUsedAt });
    expect((await app.gate.call('whoami', {}, { key: a })).kind).toBe('ok');
    const after = { callCount: before.callCount + 1, lastUsedAt: (await logged(a)).last };
    expect(await listed(a)).toMatchObject(after);
    // Run again, as after a schema version rolled back: nothing changes, whether a block has been folded since or not.
    const through = await foldedThrough();
    await migrate();
    expect(await foldedThrough()).toBe(through);
    expect(await listed(a)).toMatchObject(after);
    await app.store.write(async (tx) => {
      await tx.sql.run('DELETE FROM key_usage');
      await tx.sql.run('DELETE FROM key_usage_fold');
    });
    expect(await listed(a)).toMatchObject(after);
    await migrate();
    expect(await listed(a)).toMatchObject(after);
    expect(await foldedThrough()).toBe(await head());
    // A writer of the version before, still running: its calls reach the log and its own UPDATE of the key's row.
    await app.store.write(async (tx) => {
      for (let i = 0; i < 5; i++) await tx.audit({ event: 'tool_call', decision: 'allowed', keyId: a.id, tool: 'whoami', outcome: 'ok' });
      await tx.sql.run('UPDATE api_keys SET last_used_at = ?, call_count = call_count + 5 WHERE id = ?', [new Date().toISOString(), a.id]);
    });
    expect(await listed(a)).toMatchObject({ callCount: after.callCount + 5 });
  });

  it('a usage row someone edited past its bounds skips the fold, never the entry that closes the block', async () => {
    await app.store.write((tx) => tx.sql.run('UPDATE key_usage SET calls = 9223372036854775807 WHERE key_id = ?', [a.id]));
    const through = await foldedThrough();
    const closing = (Math.floor((await head()) / BLOCK) + 1) * BLOCK - 1;
    const entries = closing - (await head()) + 5;
    for (let i = 0; i < entries; i += 64) {
      await Promise.all(Array.from({ length: Math.min(64, entries - i) }, () => app.store.audit.append({ event: 'tool_call', decision: 'allowed', keyId: a.id, tool: 'whoami', outcome: 'ok' })));
    }
    expect(await head()).toBe(closing + 5);
    expect(await foldedThrough()).toBe(through);
    expect((await app.store.audit.verify()).ok).toBe(true);
  });
});
