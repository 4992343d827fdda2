import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db.ts';
import { GroupCommit } from '../../src-main/store/groupCommit.ts';
import { auditLogFor } from '../../src-main/audit/log.ts';

const fresh = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'cs-gc-')), 'countersign.db');
  return { file, db: openDatabase(file, { create: true }) };
};

describe('group commit', () => {
  it('commits writes queued in one turn together, and answers each only after the commit', async () => {
    const { db } = fresh();
    const gc = new GroupCommit(db);
    const log = auditLogFor(db);
    const seen: number[] = [];
    log.onAppend((r) => seen.push(r.seq));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gc.run(() => log.append({ event: 'system', decision: 'info', outcome: `e${i}` }).seq)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(gc.batches).toBe(1);
    expect(seen).toHaveLength(20);
    expect(log.verify()).toMatchObject({ ok: true, count: 20 });
  });

  it('rolls back only the failing item of a batch', async () => {
    const { db } = fresh();
    const gc = new GroupCommit(db);
    const log = auditLogFor(db);
    const [a, b, c] = await Promise.allSettled([
      gc.run(() => log.append({ event: 'system', decision: 'info', outcome: 'a' })),
      gc.run(() => {
        log.append({ event: 'system', decision: 'info', outcome: 'b (rolled back)' });
        throw new Error('tool failed');
      }),
      gc.run(() => log.append({ event: 'system', decision: 'info', outcome: 'c' })),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(b).toMatchObject({ status: 'rejected', reason: new Error('tool failed') });
    expect(c.status).toBe('fulfilled');
    expect((db.prepare('SELECT outcome FROM audit_log ORDER BY seq').all() as { outcome: string }[]).map((r) => r.outcome)).toEqual(['a', 'c']);
    expect(log.verify()).toMatchObject({ ok: true, count: 2 });
  });

  it('rejects every caller when the commit itself fails, and writes nothing', async () => {
    const { file, db } = fresh();
    db.close();
    const ro = openDatabase(file, { readonly: true });
    const gc = new GroupCommit(ro);
    const r = await Promise.allSettled([1, 2].map((i) => gc.run(() => auditLogFor(ro).append({ event: 'system', decision: 'info', outcome: String(i) }))));
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(auditLogFor(ro).count()).toBe(0);
  });
});
