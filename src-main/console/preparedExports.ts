// Audit exports made on the server and fetched once, so neither the log nor the export is ever one string in memory:
// exportAudit writes the file (line by line, its checkpoint last) under the data directory and answers with a
// one-time handle; the web console streams it as a download, the desktop app copies it where the technician saves it.
// A handle is 256 random bits, bound to the account that made it, and lapses after TTL_MS (its file with it).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
export { EXPORT_ID } from './contract.ts';

export const EXPORTS_DIR = 'exports';
export const TTL_MS = 10 * 60_000;
/** At most this many prepared exports wait at once per app (each holds a copy of the log on disk). */
export const MAX_WAITING = 4;

export interface PreparedExport {
  id: string;
  file: string;
  fileName: string;
  mediaType: string;
  bytes: number;
}

interface Waiting extends PreparedExport {
  owner: string;
  timer: NodeJS.Timeout;
}

export class PreparedExports {
  private readonly dir: string;
  private readonly ttlMs: number;
  private readonly waiting = new Map<string, Waiting>();

  /** Files left by a process that ended before they were fetched are removed here: nobody holds their handles. */
  constructor(dataDir: string, opts: { ttlMs?: number } = {}) {
    this.ttlMs = opts.ttlMs ?? TTL_MS;
    this.dir = join(dataDir, EXPORTS_DIR);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { force: true, recursive: true });
  }

  /** A new file's path, and the handle it will be fetched by; refused while MAX_WAITING wait. */
  reserve(): { id: string; file: string } | undefined {
    if (this.waiting.size >= MAX_WAITING) return undefined;
    const id = randomBytes(32).toString('base64url');
    return { id, file: join(this.dir, `${id}.export`) };
  }

  /** The written file, waiting for its owner (the technician's name; '' for the install's own console). */
  hold(p: Omit<PreparedExport, 'bytes'>, owner: string): PreparedExport {
    const bytes = statSync(p.file).size;
    const timer = setTimeout(() => this.discard(p.id), this.ttlMs).unref();
    this.waiting.set(p.id, { ...p, bytes, owner, timer });
    return { ...p, bytes };
  }

  /** Hands the export over once: its owner only, while it has not lapsed. The caller discards it when done. */
  take(id: string, owner: string): PreparedExport | undefined {
    const w = this.waiting.get(id);
    if (!w || w.owner !== owner) return undefined;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    return { id: w.id, file: w.file, fileName: w.fileName, mediaType: w.mediaType, bytes: w.bytes };
  }

  /** Removes a file (taken and sent, lapsed, or never finished). */
  discard(id: string): void {
    const w = this.waiting.get(id);
    if (w) {
      clearTimeout(w.timer);
      this.waiting.delete(id);
    }
    rmSync(join(this.dir, `${id}.export`), { force: true });
  }

  /** Every waiting export, removed (the app closing). */
  clear(): void {
    for (const id of [...this.waiting.keys()]) this.discard(id);
  }
}
