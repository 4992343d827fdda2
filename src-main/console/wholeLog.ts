// The console's work over the whole audit log: verifying the chain with its signed checkpoints, and exporting it. One
// of each at a time per app, whichever console service asks (the install's, each technician's): a second verify while
// one runs shares its answer rather than starting the worker threads again, and a second export is refused (each
// holds the whole log in memory while it is made and sent).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../app.ts';
import { exportAudit, fingerprint } from '../audit/export.ts';
import { checkpointFiles, latestCheckpoint } from '../audit/anchor.ts';
import { verifyAnchored } from '../audit/anchorVerify.ts';
import { verifyChain as verifyChainOnCores } from '../audit/chainVerify.ts';
import { SERVER_INFO } from '../mcp/sessionServer.ts';
import { AppError, type ConsoleInput, type ConsoleOutput } from './contract.ts';

type ExportFormat = NonNullable<NonNullable<ConsoleInput<'exportAudit'>>['format']>;

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

  async function exportNow(format: ExportFormat): Promise<ConsoleOutput<'exportAudit'>> {
    const dir = mkdtempSync(join(tmpdir(), 'cs-audit-export-'));
    try {
      const file = join(dir, 'audit.export');
      const cp = await exportAudit(app.store.sql, file, app.secrets.signingKey, app.secrets.verifyKey, { format, productVersion: SERVER_INFO.version });
      const stamp = cp.exportedAt.replace(/[:.]/g, '-');
      return {
        fileName: `countersign-audit-${stamp}${format === 'jsonl' ? '' : `-${format}`}.${format === 'syslog' ? 'log' : 'jsonl'}`,
        mediaType: format === 'syslog' ? 'text/plain' : 'application/x-ndjson', content: readFileSync(file, 'utf8'),
        checkpoint: { count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash, exportedAt: cp.exportedAt, keyFingerprint: fingerprint(app.secrets.verifyKey) },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  return {
    checkpoint,
    verify: (): Promise<ConsoleOutput<'verifyAudit'>> => (state.verifying ??= verifyNow().finally(() => (state.verifying = undefined))),
    async export(format: ExportFormat): Promise<ConsoleOutput<'exportAudit'>> {
      if (state.exporting) throw new AppError('CONFLICT', 'an audit export is already being made; try again when it is done', 'export_running');
      state.exporting = true;
      try {
        return await exportNow(format);
      } finally {
        state.exporting = false;
      }
    },
  };
}
