// Anchored checkpoints: every N entries or T minutes, the chain head (entry seq, its hash, the entry count, the time) is
// signed with the install's Ed25519 key and appended as one line to a file outside the database, in the data directory
// and optionally in a second directory on another volume. Each line also names the SHA-256 of the line before it, and
// the database records each line's hash and signing key. `audit verify` holds the log, the files and the records
// against each other (see anchorVerify.ts): a rewritten and re-chained history, a cut tail, an edited or deleted file,
// or a swapped key each contradict something that was written down before.
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import type { Sql } from '../store/sql.ts';
import type { Store } from '../store/store.ts';
import { canonicalJson } from '../store/canonical.ts';
import { fingerprint } from './export.ts';
import { chainHead } from './log.ts';
import { appendLine, closeAppended, cutBack, forget, linesIfUnknown, readCheckpointFile, syncAppended, syncNow, type Appended } from './checkpointFile.ts';

export const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';
export const NO_PREV = '0'.repeat(64);

export const CheckpointLine = z.strictObject({
  v: z.literal(1),
  n: z.number().int().min(1),
  headSeq: z.number().int().min(0),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  count: z.number().int().min(0),
  at: z.string().min(1),
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  key: z.string().regex(/^[0-9a-f]{32}$/),
  sig: z.string().min(1),
});
export type CheckpointLine = z.infer<typeof CheckpointLine>;

export interface CheckpointRecord { n: number; head_seq: number; head_hash: string; entry_count: number; at: string; key_fingerprint: string; line_sha256: string }

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const signedBytes = (l: Omit<CheckpointLine, 'sig'>) => Buffer.from(canonicalJson({ v: l.v, n: l.n, headSeq: l.headSeq, headHash: l.headHash, count: l.count, at: l.at, prev: l.prev, key: l.key }));

export function signatureHolds(line: CheckpointLine, key: KeyObject): boolean {
  try {
    return verify(null, signedBytes(line), key, Buffer.from(line.sig, 'base64'));
  } catch {
    return false;
  }
}

/** What a technician copies into a ticket or password manager: the checkpoint number, its entry, and 20 hex digits of the line's hash. */
export function checkpointFingerprint(n: number, headSeq: number, lineSha256: string): string {
  return `#${n} @${headSeq} ${lineSha256.slice(0, 20).match(/.{4}/g)!.join('-')}`;
}

/** Where the copies of the checkpoint file live: the data directory, and the anchor directory when one is set. */
export function checkpointFiles(dataDir: string, verifyKey: KeyObject, anchorDir?: string): string[] {
  const files = [join(dataDir, CHECKPOINT_FILE)];
  if (anchorDir) files.push(join(anchorDir, `audit-checkpoints-${fingerprint(verifyKey).slice(0, 16)}.jsonl`));
  return files;
}

export interface AnchorOptions {
  dataDir: string;
  anchorDir?: string;
  signingKey: KeyObject;
  verifyKey: KeyObject;
  /** How an appended line is made durable: syncAppended (the thread pool) unless a test holds it. */
  sync?: (a: Appended) => Promise<void>;
}

/**
 * Signs the current head into one more checkpoint line, appends it to every checkpoint file, makes it durable, then
 * records it in the database: a line the data directory's file did not take is not recorded. Returns undefined when
 * nothing was appended to the log since the last checkpoint (unless `force`). A failed anchor-directory write (the other
 * volume is gone) is thrown after the rest was done.
 *
 * The line is appended inside a write transaction, whose lock orders the writers' appends across processes and nodes.
 * That transaction is a batch of its own (group commit's `alone`): the head it signs was committed before it, so no
 * rollback of another call's write in the same batch can take back an entry a signed line names.
 * It is synced on the thread pool, never on the event loop (an fsync held every call in flight for milliseconds).
 * - SQLite: between two transactions (its statements must settle within one turn of the event loop, as group commit
 *   needs). The second records the line unless another process took it over first, as it takes over any line a crash
 *   left unrecorded (synced before it is recorded). A line whose sync failed is left for such a takeover: outside the
 *   lock it cannot be cut back safely.
 * - PostgreSQL: other nodes append to their own files and may record a checkpoint of their own in between, so the sync
 *   is awaited inside the one transaction, and a line whose sync failed is cut back there.
 */
export async function writeCheckpoint(store: Store, o: AnchorOptions, force = false): Promise<(CheckpointRecord & { fingerprint: string }) | undefined> {
  const files = checkpointFiles(o.dataDir, o.verifyKey, o.anchorDir);
  const failures: unknown[] = [];
  const touched = new Map<string, Appended>();
  const sync = o.sync ?? syncAppended;
  try {
    const out = store.dialect === 'sqlite'
      ? await store.write((tx) => appendCheckpoint(tx.sql, o, files, force, touched, failures), { alone: true }).then(async (line) => {
        await syncAll(touched, files[0]!, failures, sync, false);
        return line && store.write((tx) => recordCheckpoint(tx.sql, line));
      })
      : await store.write(async (tx) => {
        const line = await appendCheckpoint(tx.sql, o, files, force, touched, failures);
        await syncAll(touched, files[0]!, failures, sync, true);
        return line && recordCheckpoint(tx.sql, line);
      }, { alone: true });
    if (failures.length) throw failures[0];
    return out && { ...out, fingerprint: checkpointFingerprint(out.n, out.head_seq, out.line_sha256) };
  } finally {
    for (const a of touched.values()) closeAppended(a);
  }
}

type Line = { record: CheckpointRecord; text: string };

/** In a write transaction: the lines the data directory's file lacks, then the new checkpoint line in every file. */
async function appendCheckpoint(sql: Sql, o: AnchorOptions, files: string[], force: boolean, touched: Map<string, Appended>, failures: unknown[]): Promise<Line | undefined> {
  const append = (file: string, text: string) => void touched.set(file, appendLine(file, text, touched.get(file)));
  const head = await chainHead(sql);
  let last = await lastCheckpoint(sql);
  // The data directory's file as this process last left it needs no reading; otherwise (first run, another process
  // or node wrote since) its lines are read once: any the database never recorded are taken over, and the lines
  // other nodes signed (team mode) are appended.
  const mainLines = linesIfUnknown(files[0]!, last?.n ?? 0);
  if (mainLines) {
    await adoptUnrecorded(sql, files[0]!, mainLines, o.verifyKey);
    await appendPeerLines(sql, mainLines, o.verifyKey, (text) => append(files[0]!, text));
    last = await lastCheckpoint(sql);
  }
  if (!force && last && last.head_seq === head.seq) return undefined;
  // Counted from the last checkpoint on: a full count(*) would grow with the log at every checkpoint.
  const counted = async (text: string, params: unknown[]) => Number((await sql.get<{ n: number }>(text, params))!.n);
  const count = last && last.head_seq <= head.seq
    ? Number(last.entry_count) + await counted('SELECT count(*) AS n FROM audit_log WHERE seq > ? AND seq <= ?', [last.head_seq, head.seq])
    : await counted('SELECT count(*) AS n FROM audit_log WHERE seq <= ?', [head.seq]);
  const key = fingerprint(o.verifyKey);
  const body = { v: 1 as const, n: (last?.n ?? 0) + 1, headSeq: head.seq, headHash: head.hash, count, at: new Date().toISOString(), prev: last?.line_sha256 ?? NO_PREV, key };
  const text = JSON.stringify({ ...body, sig: sign(null, signedBytes(body), o.signingKey).toString('base64') });
  append(files[0]!, text);
  for (const file of files.slice(1)) {
    try {
      // An anchor directory added later (or a volume that was away) first gets the lines it missed.
      const have = linesIfUnknown(file, body.n - 1);
      if (have) {
        const main = readCheckpointFile(files[0]!) ?? [];
        for (const missed of main.slice(have.length, -1)) append(file, missed);
      }
      append(file, text);
    } catch (e) {
      forget(file);
      failures.push(new Error(`could not append checkpoint ${body.n} to ${file}: ${(e as Error).message}`));
    }
  }
  return { record: { n: body.n, head_seq: body.headSeq, head_hash: body.headHash, entry_count: count, at: body.at, key_fingerprint: key, line_sha256: sha256(text) }, text };
}

/**
 * Every touched file synced (all of them settled before this returns). A failed anchor-directory sync is reported after;
 * the data directory's stops the checkpoint: nothing is recorded. `cut`: under the writers' lock, a failed file's lines
 * are taken back out.
 */
async function syncAll(touched: Map<string, Appended>, main: string, failures: unknown[], sync: (a: Appended) => Promise<void>, cut: boolean): Promise<void> {
  const all = [...touched.values()];
  const results = await Promise.allSettled(all.map((a) => sync(a)));
  let mainError: unknown;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    const a = all[i]!;
    if (cut) cutBack(a);
    else forget(a.file);
    if (a.file === main) mainError = r.reason;
    else failures.push(new Error(`could not sync ${a.file}: ${(r.reason as Error).message}`));
  });
  if (mainError !== undefined) throw mainError;
}

/** The synced line recorded, unless another writer recorded it first (then its record is returned). */
async function recordCheckpoint(sql: Sql, line: Line): Promise<CheckpointRecord | undefined> {
  const last = await lastCheckpoint(sql);
  if ((last?.n ?? 0) === line.record.n - 1) {
    await insertRecord(sql, line.record, line.text);
    return line.record;
  }
  return sql.get<CheckpointRecord>('SELECT * FROM audit_checkpoints WHERE n = ? AND line_sha256 = ?', [line.record.n, line.record.line_sha256]);
}

async function insertRecord(sql: Sql, r: CheckpointRecord, text: string): Promise<void> {
  await sql.run('INSERT INTO audit_checkpoints (n, head_seq, head_hash, entry_count, at, key_fingerprint, line_sha256, line_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [r.n, r.head_seq, r.head_hash, r.entry_count, r.at, r.key_fingerprint, r.line_sha256, text]);
}

/**
 * Several nodes (team mode) each keep a checkpoint file: the lines recorded past this file's end were signed by other
 * nodes. Each is appended (to `main` too) only when its text hashes to the recorded hash and its signature holds under
 * the install key; the first that does not stops the catch-up, and audit verify then names the gap.
 */
async function appendPeerLines(sql: Sql, main: string[], verifyKey: KeyObject, append: (text: string) => void): Promise<void> {
  const missing = await sql.all<{ line_sha256: string; line_text: string | null }>('SELECT line_sha256, line_text FROM audit_checkpoints WHERE n > ? ORDER BY n', [main.length]);
  for (const r of missing) {
    const parsed = r.line_text === null ? undefined : parseLine(r.line_text);
    if (!parsed?.success || sha256(r.line_text!) !== r.line_sha256 || !signatureHolds(parsed.data, verifyKey)) return;
    append(r.line_text!);
    main.push(r.line_text!);
  }
}

const parseLine = (text: string) => {
  try {
    return CheckpointLine.safeParse(JSON.parse(text));
  } catch {
    return undefined;
  }
};

/**
 * Lines of our own file that the database never recorded: a process killed between appending a line and recording it,
 * or a line whose sync failed.
 * Each is taken over only if it is exactly the next checkpoint, signed by this install, of an entry the log still has.
 */
async function adoptUnrecorded(sql: Sql, file: string, lines: string[], verifyKey: KeyObject): Promise<void> {
  const recorded = (await sql.get<{ n: number }>('SELECT count(*) AS n FROM audit_checkpoints'))!.n;
  let synced = false;
  for (const text of lines.slice(recorded)) {
    const last = await lastCheckpoint(sql);
    const parsed = parseLine(text);
    if (!parsed?.success) return;
    const l = parsed.data;
    const hash = (await sql.get<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = ?', [l.headSeq]))?.hash;
    if (l.n !== (last?.n ?? 0) + 1 || l.prev !== (last?.line_sha256 ?? NO_PREV) || !signatureHolds(l, verifyKey) || (l.headSeq > 0 && hash !== l.headHash)) return;
    // Such a line may never have reached the disk: it is synced before it is recorded (here, at once: rare).
    if (!synced) syncNow(file);
    synced = true;
    await insertRecord(sql, { n: l.n, head_seq: l.headSeq, head_hash: l.headHash, entry_count: l.count, at: l.at, key_fingerprint: l.key, line_sha256: sha256(text) }, text);
  }
}

/** The newest recorded checkpoint, if any. */
const lastCheckpoint = (sql: Sql) => sql.get<CheckpointRecord>('SELECT * FROM audit_checkpoints ORDER BY n DESC LIMIT 1');

export async function latestCheckpoint(sql: Sql): Promise<(CheckpointRecord & { fingerprint: string }) | undefined> {
  const r = await lastCheckpoint(sql);
  return r && { ...r, fingerprint: checkpointFingerprint(r.n, r.head_seq, r.line_sha256) };
}


export interface AnchorSchedule {
  everyEntries: () => number;
  everyMinutes: () => number;
  /** The timer of the time trigger (tests drive it by hand); `tick` resolves once that tick's checkpoint is written or skipped. */
  timer?: (tick: () => Promise<void>, ms: number) => { clear(): void };
}

const realTimer = (tick: () => Promise<void>, ms: number) => {
  const t = setTimeout(() => void tick(), ms).unref();
  return { clear: () => clearTimeout(t) };
};

/**
 * The writer of a long-running process: a checkpoint after every `everyEntries` appended entries (counted as they
 * commit, this process's and others'), and every `everyMinutes` if anything was appended; one more when it stops.
 */
export function startAnchoring(store: Store, o: AnchorOptions, schedule: AnchorSchedule, log: (msg: string, err?: unknown) => void): { stop(): Promise<void>; now(): Promise<void> } {
  let since = 0;
  let scheduled = false;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  // One checkpoint at a time, in order.
  const run = (): Promise<void> => {
    scheduled = false;
    if (stopped) return running;
    since = 0;
    running = running.then(() => writeCheckpoint(store, o)).then(() => {}, (e: unknown) => log('writing an audit checkpoint failed', e));
    return running;
  };
  const off = store.audit.onAppend(() => {
    if (++since >= schedule.everyEntries() && !scheduled) {
      scheduled = true;
      setImmediate(() => void run());
    }
  });
  let timer: { clear(): void };
  const arm = () => {
    timer = (schedule.timer ?? realTimer)(() => {
      const done = run();
      if (!stopped) arm();
      return done;
    }, schedule.everyMinutes() * 60_000);
  };
  arm();
  // A process that starts on a log whose file is missing its latest checkpoint (or has none yet) writes one. It is
  // queued now and written in the background (the store's writes are asynchronous), so counting a log that never had
  // one is no start-up cost; queued first, it covers the log as it was at start.
  void run();
  return {
    now: run,
    async stop() {
      if (stopped) return running;
      const last = run();
      stopped = true;
      timer.clear();
      off();
      await last;
    },
  };
}
