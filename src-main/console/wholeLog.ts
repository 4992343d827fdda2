// The console's work over the whole audit log: verifying the chain with its signed checkpoints, and exporting it. One
// of each at a time per app, whichever console service asks (the install's, each technician's): a second verify while
// one runs shares its answer rather than starting the worker threads again, and a second export is refused while one
// is being written (each reads the whole log). An export goes straight where it is wanted, a chunk at a time: into the
// web console's download (http/exportDownload.ts), or into the file the desktop's save dialog names.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { App } from '../app.ts';
import { exportAudit, exportFileName, fingerprint, writeExport, type Checkpoint, type ExportSink } from '../audit/export.ts';
import { checkpointFiles, latestCheckpoint } from '../audit/anchor.ts';
import { verifyAnchored } from '../audit/anchorVerify.ts';
import { verifyChain as verifyChainOnCores } from '../audit/chainVerify.ts';
import { SERVER_INFO } from '../mcp/sessionServer.ts';
import type { ExportFormat } from '../audit/siem.ts';
import { AppError, EXPORT_RUNNING, type ConsoleOutput } from './contract.ts';


const running = new WeakMap<App, { verifying?: Promise<ConsoleOutput<'verifyAudit'>>; exporting: boolean }>();

export function createWholeLogJobs(app: App) {
  let jobs = running.get(app);
  if (!jobs) running.set(app, (jobs = { exporting: false }));
  const state = jobs;

  const checkpoint = async () => {
    const c = await latestCheckpoint(app.store.sql);
    return c ? { n: c.n, headSeq: c.head_seq, at: c.at, fingerprint: c.fingerprint, keyFingerprint: c.key_fingerprint } : null;
  };

  async function verifyNow(): Promise<ConsoleOutput<'verifyAudit'>> {
    const started = performance.now();
    const key = app.secrets.verifyKey;
    // On SQLite the chain is hashed on every core (its own read-only connections); on PostgreSQL page by page.
    const r = await verifyAnchored(app.store.sql, key, checkpointFiles(app.dataDir, key), app.store.dialect === 'sqlite' ? () => verifyChainOnCores(app.db) : undefined);
    const ms = performance.now() - started;
    const checkedAt = new Date().toISOString();
    return r.ok
      ? { ok: true, count: r.count, headSeq: r.headSeq, headHash: r.headHash, badSeq: null, reason: null, checkedAt, ms, case: null, checkpoints: r.checkpoints, latestCheckpoint: await checkpoint() }
      : { ok: false, count: 0, headSeq: null, headHash: null, badSeq: r.badSeq ?? null, reason: r.reason, checkedAt, ms, case: r.case, checkpoints: 0, latestCheckpoint: await checkpoint() };
  }

  const options = (format: ExportFormat) => ({ format, productVersion: SERVER_INFO.version });
  const checkpointOf = (cp: Checkpoint) => ({ count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash, exportedAt: cp.exportedAt, keyFingerprint: fingerprint(app.secrets.verifyKey) });

  const refusal = (): AppError | undefined => (state.exporting ? new AppError('CONFLICT', EXPORT_RUNNING, 'export_running') : undefined);

  /** A finished export in the log: who took it, in which form, and how far it reaches (its entry comes after its head). */
  async function recorded(cp: Checkpoint, format: ExportFormat, by: string, via: 'download' | 'file'): Promise<Checkpoint> {
    await app.store.audit.append({ event: 'console', decision: 'info', rule: by, outcome: 'audit exported', detail: { format, via, count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash } });
    return cp;
  }

  /** One export at a time per app: a second, asked while one is written, is refused. */
  async function oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    const busy = refusal();
    if (busy) throw busy;
    state.exporting = true;
    try {
      return await fn();
    } finally {
      state.exporting = false;
    }
  }

  return {
    checkpoint,
    verify: (): Promise<ConsoleOutput<'verifyAudit'>> => (state.verifying ??= verifyNow().finally(() => (state.verifying = undefined))),
    /** Why an export could not start now (another is being made), or undefined: the web console asks before its download. */
    refusal,
    /** The export written to `sink` as it is read (the web console's download); `by` is named in its audit entry. */
    stream: (format: ExportFormat, sink: ExportSink, by: string): Promise<Checkpoint> =>
      oneAtATime(async () => recorded(await writeExport(app.store.sql, sink, app.secrets.signingKey, app.secrets.verifyKey, options(format)), format, by, 'download')),
    /**
     * Desktop: the export written where `saveAs` says (null: the technician cancelled). It is written beside the chosen
     * file and renamed over it once complete and fsynced, so a failure (a full disk) leaves no partial export there.
     */
    async save(format: ExportFormat, saveAs: (fileName: string) => Promise<string | null>, by: string): Promise<ConsoleOutput<'exportAudit'>> {
      // Refused before the dialog, not after the technician has chosen where (the slot is taken again below).
      const busy = refusal();
      if (busy) throw busy;
      const fileName = exportFileName(format, new Date());
      const to = await saveAs(fileName);
      if (to === null) return { fileName, savedTo: null, checkpoint: null };
      const partial = join(dirname(to), `.${fileName}.${randomBytes(6).toString('hex')}.partial`);
      return oneAtATime(async () => {
        try {
          const cp = await exportAudit(app.store.sql, partial, app.secrets.signingKey, app.secrets.verifyKey, options(format));
          await rename(partial, to);
          syncDirectory(dirname(to));
          await recorded(cp, format, by, 'file');
          return { fileName, savedTo: to, checkpoint: checkpointOf(cp) };
        } catch (e) {
          await rm(partial, { force: true });
          throw e;
        }
      });
    },
  };
}

/** The rename made durable: its directory fsynced (POSIX; Windows cannot open a directory for it, nor needs to). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform or file system syncs a directory; the file itself was fsynced before the rename.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
