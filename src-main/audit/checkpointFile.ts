// The checkpoint files on disk (audit/anchor.ts writes them): appending a line, cutting a failed append back, making
// appended lines durable, and knowing when a file needs reading again.
import { chmodSync, closeSync, existsSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Lines appended to one file through one descriptor, not yet synced: the descriptor stays open until they are (Linux
 * reports a failed write-back to the descriptors open when it happened, so the sync must use this one).
 */
export interface Appended {
  file: string;
  fd: number;
  /** The file's size when it was opened, and the bytes appended since: a failed sync may cut them back. */
  size: number;
  written: number;
  closed?: boolean;
}

/**
 * What this process knows of each checkpoint file it appended to: its size then, and how many lines it held. A file of
 * another size was changed by someone else (another process, a restore) and is read again; so is one whose line count
 * is not the recorded count (another node recorded checkpoints since).
 */
const known = new Map<string, { size: number; lines: number }>();
export const forget = (file: string) => void known.delete(file);

/** undefined when the file is as this process left it with `lines` lines; else its lines as they are now. */
export function linesIfUnknown(file: string, lines: number): string[] | undefined {
  const k = known.get(file);
  if (k && k.lines === lines) {
    try {
      if (statSync(file).size === k.size) return undefined;
    } catch { /* gone: read (as missing) below */ }
  }
  // One read gives both the lines and the size they came from.
  const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
  const read = splitLines(bytes.toString('utf8'));
  known.set(file, { size: bytes.length, lines: read.length });
  return read;
}

/**
 * Appends one line (through `to` when it is open on the same file), not yet synced: syncAppended makes it durable, off
 * the event loop, and closeAppended releases the descriptor either way. A write that fails part-way (disk full) is cut
 * back, so the file never ends in half a line.
 */
export function appendLine(file: string, line: string, to?: Appended): Appended {
  let a = to && !to.closed && to.file === file ? to : undefined;
  if (!a) {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    const fd = openSync(file, 'a', 0o600);
    try {
      // The mode given to openSync applies only to a new file: one made by hand keeps its own until this.
      chmodSync(file, 0o600);
      a = { file, fd, size: fstatSync(fd).size, written: 0 };
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }
  const at = a.size + a.written;
  const before = known.get(file);
  forget(file);
  try {
    const written = writeSync(a.fd, `${line}\n`);
    a.written += written;
    if (before && before.size === at) known.set(file, { size: at + written, lines: before.lines + 1 });
    return a;
  } catch (e) {
    try {
      ftruncateSync(a.fd, at);
    } catch { /* the original error says more */ }
    if (a !== to) closeAppended(a);
    throw e;
  }
}

/**
 * Makes what was appended through `a` durable, on the thread pool: an fsync takes milliseconds (more on Windows and
 * network volumes), and on the main thread it held every call in flight.
 */
export function syncAppended(a: Appended): Promise<void> {
  return new Promise((resolve, reject) => fsync(a.fd, (e) => (e ? reject(e) : resolve())));
}

/** Releases the descriptor (once). */
export function closeAppended(a: Appended): void {
  if (a.closed) return;
  a.closed = true;
  try {
    closeSync(a.fd);
  } catch { /* already gone: nothing to release */ }
}

/**
 * Takes back out what was appended through `a` after its sync failed, unless something was appended after it. Only
 * under the writers' lock (a write transaction): another writer may otherwise have taken the line over, or appended.
 */
export function cutBack(a: Appended): void {
  forget(a.file);
  try {
    if (fstatSync(a.fd).size === a.size + a.written) ftruncateSync(a.fd, a.size);
  } catch { /* the sync's error says more */ }
}

/** An fsync at once, on the event loop: only for lines taken over after a crash (rare), inside the transaction that records them. */
export function syncNow(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The lines of a checkpoint file, or undefined when it does not exist. */
export function readCheckpointFile(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  return splitLines(readFileSync(file, 'utf8'));
}

const splitLines = (text: string) => text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
