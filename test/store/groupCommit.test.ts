import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db.ts';
import { storeOver } from '../helpers/store.ts';

const fresh = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cs-gc-')), 'countersign.db');
  return { file, db: openDatabase(file, { create: true }) };
};

describe('group commit', () => {
  it('commits writes queued in one turn together, and answers each only after the commit', async () => {
    const { db } = fresh();
    const store = storeOver(db);
    const gc = { run: store.write, perBatch: store.perBatch, get batches() { return store.commits.batches; } };
    const log = store.audit;
    const seen: number[] = [];
    log.onAppend((r) => seen.push(r.seq));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gc.run(async (tx) => (await tx.audit({ event: 'system', decision: 'info', outcome: `e${i}` })).seq)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(gc.batches).toBe(1);
    expect(seen).toHaveLength(20);
    expect(await log.verify()).toMatchObject({ ok: true, count: 20 });
  });

  it('rolls back only the failing item of a batch', async () => {
    const { db } = fresh();
    const store = storeOver(db);
    const gc = { run: store.write, perBatch: store.perBatch, get batches() { return store.commits.batches; } };
    const log = store.audit;
    const [a, b, c] = await Promise.allSettled([
      gc.run((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'a' })),
      gc.run(async (tx) => {
        await tx.audit({ event: 'system', decision: 'info', outcome: 'b (rolled back)' });
        throw new Error('tool failed');
      }),
      gc.run((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'c' })),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: new Error('tool failed') });
    expect(c.status).toBe('fulfilled');
    expect((db.prepare('SELECT outcome FROM audit_log ORDER BY seq').all() as { outcome: string }[]).map((r) => r.outcome)).toEqual(['a', 'c']);
    expect(await log.verify()).toMatchObject({ ok: true, count: 2 });
  });

  it('rejects every caller when the commit itself fails, and writes nothing', async () => {
    const { file, db } = fresh();
    db.close();
    const ro = openDatabase(file, { readonly: true });
    const store = storeOver(ro);
    const gc = { run: store.write };
    const r = await Promise.allSettled([1, 2].map((i) => gc.run((tx) => tx.audit({ event: 'system', decision: 'info', outcome: String(i) }))));
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(await store.audit.count()).toBe(0);
  });

  it('a oneWrite item needs no savepoint: one that fails before or at its only write leaves nothing, the rest commit', async () => {
    const { db } = fresh();
    const store = storeOver(db);
    const gc = { run: store.write, perBatch: store.perBatch, get batches() { return store.commits.batches; } };
    const log = store.audit;
    const [a, b, c] = await Promise.allSettled([
      gc.run((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'a' }), { oneWrite: true }),
      gc.run(() => {
        throw new Error('tool failed before writing');
      }, { oneWrite: true }),
      // Its only write fails (seq 1 is taken by the first item): the statement undoes itself.
      gc.run(() => db.prepare(`INSERT INTO audit_log (seq, at, event, decision, prev_hash, hash) VALUES (1, 'x', 'system', 'info', 'x', 'x')`).run(), { oneWrite: true }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(c.status).toBe('rejected');
    const d = await gc.run((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'd' }), { oneWrite: true });
    expect((db.prepare('SELECT outcome FROM audit_log ORDER BY seq').all() as { outcome: string }[]).map((r) => r.outcome)).toEqual(['a', 'd']);
    expect(d.seq).toBe(2);
    expect(await log.verify()).toMatchObject({ ok: true, count: 2 });
  });

  it('per-batch work runs once per batch inside its transaction; a batch that does not commit runs onAbort', async () => {
    const { file, db } = fresh();
    db.exec('CREATE TABLE batch_marks (n INTEGER NOT NULL) STRICT');
    const store = storeOver(db);
    const gc = { run: store.write, perBatch: store.perBatch, get batches() { return store.commits.batches; } };
    const log = store.audit;
    const events: string[] = [];
    gc.perBatch(() => {
      events.push(`commit:${db.inTransaction}`);
      db.prepare('INSERT INTO batch_marks (n) VALUES (1)').run();
    }, () => events.push('abort'));
    await Promise.all([1, 2, 3].map((i) => gc.run((tx) => tx.audit({ event: 'system', decision: 'info', outcome: String(i) }))));
    expect(events).toEqual(['commit:true']);
    expect(db.prepare('SELECT count(*) FROM batch_marks').pluck().get()).toBe(1);

    // The hook itself failing fails the whole batch: nothing of it is written.
    const failing = storeOver(db);
    failing.perBatch(() => {
      throw new Error('hook failed');
    }, () => events.push('abort'));
    const r = await Promise.allSettled([failing.write((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'lost' }))]);
    expect(r[0]).toMatchObject({ status: 'rejected', reason: new Error('hook failed') });
    expect(events).toEqual(['commit:true', 'abort']);
    expect(await log.count()).toBe(3);
    db.close();
    expect(file).toBeTruthy();
  });
});
