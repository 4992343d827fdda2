// The "holds none" memory behind whoami's grants and plans: it never hides a row that exists. A row another connection
// commits moves the store's change counter (seen from the next turn of the event loop on); one this process inserts is
// announced; a read that overlapped such an insert is not remembered.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/store/db.ts';
import { KeysWithout } from '../../src-main/governance/keysWithout.ts';
import { storeOver } from '../helpers/store.ts';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function setup() {
  const file = join(mkdtempSync(join(tmpdir(), 'cs-kw-')), 'countersign.db');
  const store = storeOver(openDatabase(file, { create: true }));
  const other = storeOver(openDatabase(file));
  const without = new KeysWithout(() => store.changes());
  let reads = 0;
  let rows: string[] = [];
  const read = async () => (reads++, rows);
  return { store, other, without, read, reads: () => reads, set: (r: string[]) => (rows = r) };
}

describe('KeysWithout', () => {
  it('answers "none" from memory until another connection commits', async () => {
    const s = setup();
    expect(await s.without.rows('k', s.read)).toEqual([]);
    await nextTurn();
    expect(await s.without.rows('k', s.read)).toEqual([]);
    expect(s.reads()).toBe(1);
    s.set(['g1']);
    await s.other.write((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'elsewhere' }));
    await nextTurn();
    expect(await s.without.rows('k', s.read)).toEqual(['g1']);
    expect(s.reads()).toBe(2);
    // A key that holds rows is read every time.
    expect(await s.without.rows('k', s.read)).toEqual(['g1']);
    expect(s.reads()).toBe(3);
    await Promise.all([s.store.close(), s.other.close()]);
  });

  it('forgets a key this process inserts for, and does not remember a read that overlapped the insert', async () => {
    const s = setup();
    expect(await s.without.rows('k', s.read)).toEqual([]);
    s.set(['g1']);
    s.without.added('k');
    expect(await s.without.rows('k', s.read)).toEqual(['g1']);
    s.set([]);
    // The insert is announced while the read is under way (an asynchronous store's uncommitted insert): not remembered.
    const overlapping = s.without.rows('j', async () => {
      s.without.added('j');
      return s.read();
    });
    expect(await overlapping).toEqual([]);
    const before = s.reads();
    await s.without.rows('j', s.read);
    expect(s.reads()).toBe(before + 1);
    await Promise.all([s.store.close(), s.other.close()]);
  });
});
