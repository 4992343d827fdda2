// The checkpoint files on disk (audit/anchor.ts writes them): appending a line, cutting a failed append back, making
// appended lines durable, and knowing when a file needs reading again.
import { chmodSync, closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** One line appended and not yet synced: where it starts, and how long it is (a failed sync cuts it back). */
export interface Appended {
  file: string;
  size: number;
  written: number;
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
 * Appends one line, not yet synced (syncAppended makes it durable, off the event loop). A write that fails part-way
 * (disk full) is cut back, so the file never ends in half a line.
 */
export function appendLine(file: string, line: string): Appended {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a', 0o600);
  const size = fstatSync(fd).size;
  const before = known.get(file);
  forget(file);
  try {
    const written = writeSync(fd, `${line}\n`);
    chmodSync(file, 0o600);
    if (before && before.size === size) known.set(file, { size: size + written, lines: before.lines + 1 });
    return { file, size, written };
  } catch (e) {
    try {
      ftruncateSync(fd, size);
    } catch { /* the original error says more */ }
    throw e;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes what was appended to `a.file` durable, on the thread pool: an fsync takes milliseconds (more on Windows and
 * network volumes), and on the main thread it held every call in flight.
 */
export async function syncAppended(a: Appended): Promise<void> {
  // Read-write: Windows flushes only a handle that may write.
  const handle = await open(a.file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A line whose sync failed is taken back out, unless something was appended after it. */
export function cutBack(a: Appended): void {
  forget(a.file);
  try {
    if (statSync(a.file).size === a.size + a.written) truncateSync(a.file, a.size);
  } catch { /* the sync's error says more */ }
}

/** The same, at once: only for lines taken over after a crash (rare), inside the transaction that records them. */
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
