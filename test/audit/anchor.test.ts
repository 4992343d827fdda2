// Anchored checkpoints: signed lines outside the database catch what the hash chain alone cannot (a history rewritten
// and re-chained, a cut tail), and the files and the database's records of them catch each other's tampering
// (a deleted or edited checkpoint file, a swapped signing key). Each case fails with a message naming it.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE, initDataDir, openApp } from '../../src-main/app.ts';
import { openDatabase } from '../../src-main/store/db.ts';
import { createSecrets, loadSecrets, secretsPath } from '../../src-main/store/secrets.ts';
import { hashRow, verifyRows, type AuditRow } from '../../src-main/audit/log.ts';
import { sqliteSql } from '../../src-main/store/sql.ts';
import { openStore } from '../helpers/store.ts';
import { CHECKPOINT_FILE, checkpointFiles, latestCheckpoint, NO_PREV, sha256, startAnchoring, writeCheckpoint } from '../../src-main/audit/anchor.ts';
import { verifyAnchored } from '../../src-main/audit/anchorVerify.ts';
import { fingerprint } from '../../src-main/audit/export.ts';
import { canonicalJson } from '../../src-main/store/canonical.ts';
import { until } from '../helpers/wait.ts';

let base: string;
const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

/** 3 checkpoints: after entries 11, 21 and 31 (the first, from init, after entry 1). */
beforeAll(async () => {
  base = tmp('cs-anchor-');
  const { store, secrets } = await initDataDir(base);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) await store.audit.append({ event: 'tool_call', decision: 'allowed', tool: 'list_devices', keyId: 'k', args: { round, i } });
    await writeCheckpoint(store, { dataDir: base, ...secrets });
  }
  await store.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the install; `edit` gets the raw database with the append-only triggers dropped (an attacker with file access). */
function tampered(edit?: (db: Database.Database, dir: string) => void): string {
  const dir = tmp('cs-anchor-copy-');
  cpSync(base, dir, { recursive: true });
  if (edit) {
    const raw = new Database(join(dir, DB_FILE));
    raw.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_checkpoints_no_delete;');
    edit(raw, dir);
    raw.close();
  }
  return dir;
}
async function verifyDir(dir: string, anchorDir?: string) {
  const db = openDatabase(join(dir, DB_FILE), { readonly: true });
  try {
    const { verifyKey } = loadSecrets(dir);
    return await verifyAnchored(sqliteSql(db), verifyKey, checkpointFiles(dir, verifyKey, anchorDir));
  } finally {
    db.close();
  }
}
const chainOnly = (dir: string) => {
  const db = new Database(join(dir, DB_FILE), { readonly: true });
  try {
    return verifyRows(db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as AuditRow[]);
  } finally {
    db.close();
  }
};
const cli = (...args: string[]) => spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'src-main/cli/main.ts', ...args], { encoding: 'utf8' });

/** Re-links every entry from `from` on, so the chain is self-consistent again after an edit. */
function rechain(db: Database.Database, from: number): void {
  const rows = db.prepare('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq').all(from) as AuditRow[];
  let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(from - 1) as { hash: string }).hash;
  const update = db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?');
  for (const r of rows) {
    const hash = hashRow({ ...r, prev_hash: prev });
    update.run(prev, hash, r.seq);
    prev = hash;
  }
}

describe('anchored audit checkpoints', () => {
  it('an intact install verifies: the chain, every checkpoint line, and the records of them agree', async () => {
    const r = await verifyDir(base);
    expect(r).toMatchObject({ ok: true, count: 31, checkpoints: 4 });
    const lines = readFileSync(join(base, CHECKPOINT_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.n, l.headSeq, l.count])).toEqual([[1, 1, 1], [2, 11, 11], [3, 21, 21], [4, 31, 31]]);
    expect(lines[0].prev).toBe(NO_PREV);
    const out = cli('audit', 'verify', '--data-dir', base);
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/audit chain OK: 31 entries, .*4 signed checkpoint\(s\) agree in 1 file\(s\); latest checkpoint #4 @31 [0-9a-f]{4}-/);
  });

  it('rewrite and re-chain: the chain alone verifies, the checkpoints do not', async () => {
    const dir = tampered((db) => {
      db.prepare(`UPDATE audit_log SET decision = 'denied', outcome = 'nothing happened here' WHERE seq = 5`).run();
      rechain(db, 5);
    });
    expect(chainOnly(dir)).toMatchObject({ ok: true, count: 31 });
    const r = await verifyDir(dir);
    expect(r).toMatchObject({ ok: false, case: 'rewritten', badSeq: 11 });
    const out = cli('audit', 'verify', '--data-dir', dir);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/BROKEN at entry 11 \(rewritten\): entry 11 is not the one checkpoint 2 signed: the history up to it was rewritten and re-chained/);
  });

  it('truncated tail: entries a checkpoint covered are gone (checkpoint records removed with them)', async () => {
    const dir = tampered((db) => {
      db.prepare('DELETE FROM audit_log WHERE seq > 15').run();
      db.prepare('DELETE FROM audit_checkpoints WHERE n > 2').run();
    });
    expect(chainOnly(dir)).toMatchObject({ ok: true, count: 15 });
    const r = await verifyDir(dir);
    expect(r).toMatchObject({ ok: false, case: 'truncated' });
    expect(r.ok || r.reason).toMatch(/checkpoint 3 covers entries up to 21, but the log ends at entry 15: its tail was cut off/);
  });

  it('deleted checkpoint file', async () => {
    const dir = tampered();
    unlinkSync(join(dir, CHECKPOINT_FILE));
    const r = await verifyDir(dir);
    expect(r).toMatchObject({ ok: false, case: 'file_missing' });
    expect(r.ok || r.reason).toMatch(/audit-checkpoints\.jsonl is missing \(deleted\?\), but the log records 4 checkpoint/);
  });

  it('edited checkpoint file: a changed line, a removed line, a removed tail', async () => {
    const file = (dir: string) => join(dir, CHECKPOINT_FILE);
    const lines = readFileSync(file(base), 'utf8').trim().split('\n');
    const edited = tampered();
    const l2 = JSON.parse(lines[1]!);
    writeFileSync(file(edited), [lines[0], JSON.stringify({ ...l2, headSeq: 10, count: 10 }), ...lines.slice(2)].join('\n') + '\n');
    expect(await verifyDir(edited)).toMatchObject({ ok: false, case: 'file_edited', reason: expect.stringMatching(/line 2 of .* \(checkpoint 2\) was edited: its signature does not verify/) });

    const removed = tampered();
    writeFileSync(file(removed), [lines[0], ...lines.slice(2)].join('\n') + '\n');
    expect(await verifyDir(removed)).toMatchObject({ ok: false, case: 'file_edited', reason: expect.stringMatching(/line 2 of .* is checkpoint 3 and does not follow the line before it/) });

    const cut = tampered();
    writeFileSync(file(cut), lines.slice(0, 2).join('\n') + '\n');
    expect(await verifyDir(cut)).toMatchObject({ ok: false, case: 'file_truncated', reason: expect.stringMatching(/ends at checkpoint 2, but the log records 4: lines were removed/) });
  });

  it('swapped signing key: new secrets, checkpoint file re-signed with the new key', async () => {
    const dir = tampered();
    const other = tmp('cs-anchor-other-');
    const forged = createSecrets(other);
    cpSync(secretsPath(other), secretsPath(dir));
    const fp = fingerprint(forged.verifyKey);
    let prev = NO_PREV;
    const resigned = readFileSync(join(dir, CHECKPOINT_FILE), 'utf8').trim().split('\n').map((text) => {
      const { sig: _sig, ...l } = JSON.parse(text);
      const body = { ...l, key: fp, prev };
      const line = JSON.stringify({ ...body, sig: sign(null, Buffer.from(canonicalJson(body)), forged.signingKey).toString('base64') });
      prev = sha256(line);
      return line;
    });
    writeFileSync(join(dir, CHECKPOINT_FILE), `${resigned.join('\n')}\n`);
    const r = await verifyDir(dir);
    expect(r).toMatchObject({ ok: false, case: 'key_swapped', reason: expect.stringMatching(/the log recorded checkpoint 1 as signed by key [0-9a-f]{32}, but the trusted key is [0-9a-f]{32}: the signing key was swapped/) });
    // With the fingerprint the technician copied earlier, the CLI says the same before reading anything else.
    const original = fingerprint(loadSecrets(base).verifyKey);
    const out = cli('audit', 'verify', '--data-dir', dir, '--pubkey', original);
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/NOT VERIFIED \(key_swapped\).*the signing key was swapped/);
  });

  it('swapped signing key, file left as it was: the lines are signed by a key that is no longer the install\'s', async () => {
    const dir = tampered((db) => db.prepare('DELETE FROM audit_checkpoints').run());
    const other = tmp('cs-anchor-other2-');
    createSecrets(other);
    cpSync(secretsPath(other), secretsPath(dir));
    expect(await verifyDir(dir)).toMatchObject({ ok: false, case: 'key_swapped', reason: expect.stringMatching(/line 1 of .* is signed by key [0-9a-f]{32}, not by the trusted key/) });
  });

  it('a line written just before a crash (not yet recorded) is fine, and the next checkpoint takes it over', async () => {
    const dir = tampered();
    const secrets = loadSecrets(dir);
    const { store } = openStore(join(dir, DB_FILE));
    await store.audit.append({ event: 'system', decision: 'info', outcome: 'x' });
    const written = (await writeCheckpoint(store, { dataDir: dir, ...secrets }))!;
    await store.close();
    // Undo the record of checkpoint 5 only: the file has a line the database never committed.
    const raw = new Database(join(dir, DB_FILE));
    raw.exec('DROP TRIGGER audit_checkpoints_no_delete');
    raw.prepare('DELETE FROM audit_checkpoints WHERE n = ?').run(written.n);
    raw.close();
    expect(await verifyDir(dir)).toMatchObject({ ok: true, checkpoints: 4 });
    const again = openStore(join(dir, DB_FILE)).store;
    await again.audit.append({ event: 'system', decision: 'info', outcome: 'y' });
    expect(await writeCheckpoint(again, { dataDir: dir, ...secrets })).toMatchObject({ n: 6 });
    await again.close();
    expect(await verifyDir(dir)).toMatchObject({ ok: true, checkpoints: 6 });
  });
});

describe('the checkpoint writer of a long-running process', () => {
  it('writes every N entries (a setting), to the data directory and the anchor directory; the latest has a fingerprint to copy', async () => {
    const dir = tampered();
    const anchor = tmp('cs-anchor-dir-');
    const app = await openApp(dir, { longRunning: true, anchorDir: anchor, env: { COUNTERSIGN_CHECKPOINT_EVERY_ENTRIES: '5' }, log: () => {} });
    const log = app.store.audit;
    const latestN = async () => (await latestCheckpoint(app.store.sql))?.n;
    // Started on a log with 3 checkpoints: it writes one of its own once it is serving (not on the start-up path).
    await until('the checkpoint written after start', async () => (await latestN()) === 4);
    for (let i = 0; i < 4; i++) await log.append({ event: 'system', decision: 'info', outcome: `e${i}` });
    expect(await latestN()).toBe(4);
    await log.append({ event: 'system', decision: 'info', outcome: 'e4' });
    await until('a checkpoint after 5 entries', async () => (await latestN()) === 5);
    for (let i = 5; i < 10; i++) await log.append({ event: 'system', decision: 'info', outcome: `e${i}` });
    await until('one more after 5 more', async () => (await latestN()) === 6);
    const latest = (await latestCheckpoint(app.store.sql))!;
    expect(latest.fingerprint).toMatch(/^#\d+ @\d+ [0-9a-f]{4}(-[0-9a-f]{4}){4}$/);
    await app.close();
    const [, anchorFile] = checkpointFiles(dir, loadSecrets(dir).verifyKey, anchor);
    // The anchor directory got the lines written before it was given, too: its file is a full copy.
    expect(readFileSync(anchorFile!, 'utf8')).toBe(readFileSync(join(dir, CHECKPOINT_FILE), 'utf8'));
    expect(await verifyDir(dir, anchor)).toMatchObject({ ok: true });
    unlinkSync(anchorFile!);
    expect(existsSync(anchorFile!)).toBe(false);
    expect(await verifyDir(dir, anchor)).toMatchObject({ ok: false, case: 'file_missing' });
  });

  it('writes every T minutes when entries arrived, and nothing when the log did not change (the timer driven by hand)', async () => {
    const dir = tmp('cs-anchor-timer-');
    const { store, secrets } = await initDataDir(dir);
    const lines = () => readFileSync(join(dir, CHECKPOINT_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { n: number; headSeq: number });
    const armed: { tick: () => Promise<void>; ms: number; cleared: boolean }[] = [];
    const anchors = startAnchoring(store, { dataDir: dir, ...secrets }, {
      everyEntries: () => 1_000_000, // only the time trigger writes here
      everyMinutes: () => 7,
      timer: (tick, ms) => {
        const t = { tick, ms, cleared: false };
        armed.push(t);
        return { clear: () => void (t.cleared = true) };
      },
    }, (msg, err) => {
      throw new Error(`${msg}: ${String(err)}`);
    });
    const fire = () => armed.at(-1)!.tick();
    expect(armed).toHaveLength(1);
    expect(armed[0]!.ms).toBe(7 * 60_000);
    // The first tick also waits for the checkpoint queued at start; from here on the file only changes by ticks.
    await fire();
    const start = lines();
    expect(armed).toHaveLength(2); // each tick arms the next
    await fire();
    await fire();
    expect(lines(), 'no new entries: no checkpoint').toEqual(start);
    for (let i = 0; i < 3; i++) await store.audit.append({ event: 'system', decision: 'info', outcome: `t${i}` });
    expect(lines(), 'entries alone (under N) write nothing before the timer').toEqual(start);
    await fire();
    const after = lines();
    expect(after).toHaveLength(start.length + 1);
    const head = (await store.sql.get<{ seq: number }>('SELECT max(seq) AS seq FROM audit_log'))!.seq;
    expect(after.at(-1)).toMatchObject({ n: start.at(-1)!.n + 1, headSeq: head });
    await fire();
    expect(lines(), 'nothing since the last tick').toEqual(after);
    await anchors.stop();
    expect(armed.at(-1)!.cleared, 'stop clears the timer').toBe(true);
    await store.close();
    expect(await verifyDir(dir)).toMatchObject({ ok: true });
  });

  it('the real timer at a short interval writes a checkpoint once entries arrived', async () => {
    const dir = tmp('cs-anchor-timer-');
    const { store, secrets } = await initDataDir(dir);
    const count = () => readFileSync(join(dir, CHECKPOINT_FILE), 'utf8').trim().split('\n').length;
    const anchors = startAnchoring(store, { dataDir: dir, ...secrets }, { everyEntries: () => 1_000_000, everyMinutes: () => 0.002 }, () => {});
    await anchors.now();
    const before = count();
    await store.audit.append({ event: 'system', decision: 'info', outcome: 'timed' });
    await until('a checkpoint from the timer', () => count() === before + 1);
    await anchors.stop();
    await store.close();
  });
});
