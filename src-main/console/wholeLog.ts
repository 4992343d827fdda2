// The console's work over the whole audit log: verifying the chain with its signed checkpoints, and exporting it. One
// of each at a time per app, whichever console service asks (the install's, each technician's): a second verify while
// one runs shares its answer rather than starting the worker threads again, and a second export is refused while one
// is being written (each reads the whole log). An export is written to a file and fetched once (preparedExports.ts).
import { copyFile } from 'node:fs/promises';
import type { App } from '../app.ts';
import { exportAudit, fingerprint } from '../audit/export.ts';
import { checkpointFiles, latestCheckpoint } from '../audit/anchor.ts';
import { verifyAnchored } from '../audit/anchorVerify.ts';
import { verifyChain as verifyChainOnCores } from '../audit/chainVerify.ts';
import { SERVER_INFO } from '../mcp/sessionServer.ts';
import { AppError, type ConsoleInput, type ConsoleOutput } from './contract.ts';
import { MAX_WAITING, PreparedExports, TTL_MS } from './preparedExports.ts';

type ExportFormat = NonNullable<NonNullable<ConsoleInput<'exportAudit'>>['format']>;

const running = new WeakMap<App, { verifying?: Promise<ConsoleOutput<'verifyAudit'>>; exporting: boolean; prepared: PreparedExports }>();

export function createWholeLogJobs(app: App) {
  let jobs = running.get(app);
  if (!jobs) running.set(app, (jobs = { exporting: false, prepared: new PreparedExports(app.dataDir) }));
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

  /** Writes the export under the data directory and holds it for `owner` to fetch once (see preparedExports.ts). */
  async function exportNow(format: ExportFormat, owner: string): Promise<ConsoleOutput<'exportAudit'>> {
    const slot = state.prepared.reserve();
    if (!slot) throw new AppError('CONFLICT', `${MAX_WAITING} audit exports are waiting to be fetched; fetch one, or wait ${TTL_MS / 60_000} minutes for them to lapse`, 'exports_waiting');
    try {
      const cp = await exportAudit(app.store.sql, slot.file, app.secrets.signingKey, app.secrets.verifyKey, { format, productVersion: SERVER_INFO.version });
      const stamp = cp.exportedAt.replace(/[:.]/g, '-');
      const fileName = `countersign-audit-${stamp}${format === 'jsonl' ? '' : `-${format}`}.${format === 'syslog' ? 'log' : 'jsonl'}`;
      const mediaType = format === 'syslog' ? 'text/plain' : 'application/x-ndjson';
      const held = state.prepared.hold({ id: slot.id, file: slot.file, fileName, mediaType }, owner);
      return {
        fileName, mediaType, bytes: held.bytes, exportId: held.id, expiresInSeconds: TTL_MS / 1000,
        checkpoint: { count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash, exportedAt: cp.exportedAt, keyFingerprint: fingerprint(app.secrets.verifyKey) },
      };
    } catch (e) {
      state.prepared.discard(slot.id);
      throw e;
    }
  }

  return {
    checkpoint,
    verify: (): Promise<ConsoleOutput<'verifyAudit'>> => (state.verifying ??= verifyNow().finally(() => (state.verifying = undefined))),
    async export(format: ExportFormat, owner: string): Promise<ConsoleOutput<'exportAudit'>> {
      if (state.exporting) throw new AppError('CONFLICT', 'an audit export is already being made; try again when it is done', 'export_running');
      state.exporting = true;
      try {
        return await exportNow(format, owner);
      } finally {
        state.exporting = false;
      }
    },
    /** A prepared export handed over once to its owner; discard it when it has been sent or saved. */
    take: (id: string, owner: string) => state.prepared.take(id, owner),
    discard: (id: string) => state.prepared.discard(id),
    /** Desktop: copies the owner's prepared export where `saveAs` says (null: the technician cancelled), then drops it. */
    async save(id: string, owner: string, saveAs: (fileName: string) => Promise<string | null>): Promise<ConsoleOutput<'saveAuditExport'>> {
      const p = state.prepared.take(id, owner);
      if (!p) throw new AppError('NOT_FOUND', `no such audit export waiting: each is fetched once, within ${TTL_MS / 60_000} minutes of being made`);
      try {
        const to = await saveAs(p.fileName);
        if (to === null) return { savedTo: null };
        await copyFile(p.file, to);
        return { savedTo: to };
      } finally {
        state.prepared.discard(p.id);
      }
    },
  };
}
