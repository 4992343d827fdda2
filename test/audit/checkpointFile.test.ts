// A checkpoint line is made durable on the thread pool, never with an fsync on the event loop (which held every call in
// flight), and it is recorded only once it is durable. The sync the anchor is given is held or failed here (the
// real one runs after the hold): everything else is the real store and the real files.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DB_FILE, initDataDir } from '../../src-main/app.ts';
import { CHECKPOINT_FILE, checkpointFiles, latestCheckpoint, sha256, writeCheckpoint } from '../../src-main/audit/anchor.ts';
import { verifyAnchored } from '../../src-main/audit/anchorVerify.ts';
import { syncAppended, type Appended } from '../../src-main/audit/checkpointFile.ts';
import { openStore } from '../helpers/store.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function install() {
  const dir = mkdtempSync(join(tmpdir(), 'cs-ckpt-sync-'));
  dirs.push(dir);
  const { store, secrets } = await initDataDir(dir);
  const o = { dataDir: dir, ...secrets };
  await store.audit.append({ event: 'system', decision: 'info', outcome: 'first' });
  const lines = () => readFileSync(join(dir, CHECKPOINT_FILE), 'utf8').trim().split('\n');
  const verify = () => verifyAnchored(store.sql, secrets.verifyKey, checkpointFiles(dir, secrets.verifyKey));
  return { store, o, lines, verify };
}

/**
 * The sync the anchor is given: the real one (syncAppended), which waits for `release` first, or fails with `fail`
 * instead of syncing; `syncing` resolves once the sync is called.
 */
function heldSync() {
  let release!: () => void, fail!: (e: Error) => void, started!: () => void;
  const syncing = new Promise<void>((r) => (started = r));
  const outcome = new Promise<void>((res, rej) => ((release = res), (fail = rej)));
  outcome.catch(() => {});
  const sync = async (a: Appended) => {
    started();
    await outcome;
    await syncAppended(a);
  };
  return { sync, syncing, release, fail };
}

/** An install whose next checkpoint line is appended and now syncing, held: `line` is it, `before` the last recorded. */
async function checkpointSyncing() {
  const i = await install();
  const before = (await latestCheckpoint(i.store.sql))!;
  const held = heldSync();
  const writing = writeCheckpoint(i.store, { ...i.o, sync: held.sync });
  // Whatever the test does, the rejection of a failed sync is awaited by it: not an unhandled one meanwhile.
  writing.catch(() => {});
  await held.syncing;
  return { ...i, before, held, writing, line: i.lines().at(-1)! };
}

const EIO = () => Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });

describe('a checkpoint line is synced off the event loop, and recorded once synced', () => {
  it('while its sync is in flight the line is in the file but not recorded, and the store goes on committing', async () => {
    const { store, o, lines, verify, before, held, writing, line } = await checkpointSyncing();
    expect(JSON.parse(line)).toMatchObject({ n: before.n + 1 });
    expect((await latestCheckpoint(store.sql))!.n, 'not recorded before its sync').toBe(before.n);
    // Neither the event loop nor the store's writes wait for the disk.
    await store.audit.append({ event: 'system', decision: 'info', outcome: 'during the sync' });
    held.release();
    const written = (await writing)!;
    expect(written).toMatchObject({ n: before.n + 1, line_sha256: sha256(line) });
    expect((await latestCheckpoint(store.sql))!.n).toBe(before.n + 1);
    expect(await verify()).toMatchObject({ ok: true, checkpoints: before.n + 1 });
    await store.close();
  });

  it('a sync that fails records nothing; the line is left for the next checkpoint, which syncs it and takes it over', async () => {
    const { store, o, lines, verify, before, held, writing, line } = await checkpointSyncing();
    held.fail(EIO());
    await expect(writing).rejects.toThrow(/EIO/);
    expect((await latestCheckpoint(store.sql))!.n, 'nothing recorded').toBe(before.n);
    // Outside the writers' lock the line is not cut back (another process may have taken it over meanwhile).
    expect(lines().at(-1)).toBe(line);
    expect(await verify()).toMatchObject({ ok: true, checkpoints: before.n });
    await store.audit.append({ event: 'system', decision: 'info', outcome: 'after the failed sync' });
    expect(await writeCheckpoint(store, o)).toMatchObject({ n: before.n + 2 });
    const recorded = await store.sql.all<{ n: number; line_sha256: string }>('SELECT n, line_sha256 FROM audit_checkpoints WHERE n > ? ORDER BY n', [before.n]);
    expect(recorded.map((r) => r.n)).toEqual([before.n + 1, before.n + 2]);
    expect(recorded[0]!.line_sha256, 'the line left behind, taken over').toBe(sha256(line));
    expect(await verify()).toMatchObject({ ok: true, checkpoints: before.n + 2 });
    await store.close();
  });

  it('a line another process took over while it was syncing is not recorded twice', async () => {
    const { store, o, lines, verify, before, held, writing, line } = await checkpointSyncing();
    // What another process's checkpoint does first: take over the file's unrecorded line.
    const other = openStore(join(o.dataDir, DB_FILE));
    await other.store.audit.append({ event: 'system', decision: 'info', outcome: 'other process' });
    expect(await writeCheckpoint(other.store, o)).toMatchObject({ n: before.n + 2 });
    await other.store.close();
    held.release();
    expect(await writing).toMatchObject({ n: before.n + 1, line_sha256: sha256(line) });
    const recorded = await store.sql.all<{ n: number }>('SELECT n FROM audit_checkpoints WHERE n > ? ORDER BY n', [before.n]);
    expect(recorded.map((r) => r.n)).toEqual([before.n + 1, before.n + 2]);
    expect(await verify()).toMatchObject({ ok: true, checkpoints: before.n + 2 });
    await store.close();
  });

  it('a line another process took over while its sync was failing stays in the file, as recorded', async () => {
    const { store, o, lines, verify, before, held, writing, line } = await checkpointSyncing();
    const other = openStore(join(o.dataDir, DB_FILE));
    // The other process takes the line over and has nothing of its own to add.
    expect(await writeCheckpoint(other.store, o)).toBeUndefined();
    await other.store.close();
    held.fail(EIO());
    await expect(writing).rejects.toThrow(/EIO/);
    expect(lines().at(-1)).toBe(line);
    expect((await latestCheckpoint(store.sql))).toMatchObject({ n: before.n + 1, line_sha256: sha256(line) });
    expect(await verify()).toMatchObject({ ok: true, checkpoints: before.n + 1 });
    await store.close();
  });
});

describe('a checkpoint signs only what is committed', () => {
  it('runs in a batch of its own: a call queued with it whose batch rolls back is not in the line, and the chain verifies', async () => {
    const i = await install();
    // The first batch to commit fails as a batch (what a lost connection or a failed COMMIT does); later ones commit.
    let failNext = true;
    i.store.perBatch(() => {
      if (failNext) {
        failNext = false;
        throw new Error('the batch is lost');
      }
    });
    const head = async () => (await i.store.sql.get<{ seq: number }>('SELECT max(seq) AS seq FROM audit_log'))!.seq;
    const committed = await head();
    // Queued in one turn: a call's entry, then the checkpoint. Without a batch of its own, the checkpoint would sign
    // the call's entry, which the failed batch then takes back.
    const call = i.store.write((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'rolled back with its batch' }));
    const checkpoint = writeCheckpoint(i.store, { ...i.o }, true);
    await expect(call).rejects.toThrow('the batch is lost');
    const line = (await checkpoint)!;
    expect(await head()).toBe(committed);
    expect(line.head_seq).toBe(committed);
    // The next entries and checkpoint follow on, and the whole chain with every signed line verifies.
    await i.store.write((tx) => tx.audit({ event: 'system', decision: 'info', outcome: 'after' }));
    await writeCheckpoint(i.store, { ...i.o });
    expect(await i.verify()).toMatchObject({ ok: true });
    await i.store.close();
  });

  it('an item queued to run alone waits for the writes before it to commit, and the writes after it wait for it', async () => {
    const i = await install();
    const order: string[] = [];
    const first = i.store.write(() => void order.push('first runs')).then(() => order.push('first committed'));
    const alone = i.store.write(() => void order.push('alone runs'), { alone: true }).then(() => order.push('alone committed'));
    const after = i.store.write(() => void order.push('after runs')).then(() => order.push('after committed'));
    await Promise.all([first, alone, after]);
    expect(order).toEqual(['first runs', 'first committed', 'alone runs', 'alone committed', 'after runs', 'after committed']);
    await i.store.close();
  });
});
