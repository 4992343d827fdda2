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
