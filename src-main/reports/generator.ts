// Background report jobs: queued → running → completed | failed, with progress in the reports table.
// The file name is generated here (type, UTC time, short id); no part of it comes from a caller.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Store } from '../store/store.ts';
import type { Tenant } from '../auth/keys.ts';
import { collectReport, type ReportFormat, type ReportType } from './data.ts';
import { renderCsv } from './csv.ts';
import { renderHtml } from './html.ts';

export type ReportStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface ReportOutcome {
  id: string;
  status: ReportStatus;
  progress: number;
  fileName: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  error: string | null;
}

interface ReportRow {
  id: string; tenant_id: string; type: ReportType; format: ReportFormat; status: ReportStatus; progress: number;
  file_name: string | null; size_bytes: number | null; sha256: string | null; error: string | null;
}

const SLUG = /^[a-z0-9][a-z0-9-]{1,39}$/;
const FILE = /^[a-z]+-\d{8}-\d{6}-[0-9a-f]{8}\.(csv|html|pdf)$/;

/** Where a report's file lives: `<dataDir>/reports/<tenant-slug>/<fileName>`; refuses names this module would not generate. */
export function reportPath(dataDir: string, tenantSlug: string, fileName: string): string {
  if (!SLUG.test(tenantSlug) || !FILE.test(fileName)) throw new Error('invalid report file location');
  return resolve(dataDir, 'reports', tenantSlug, fileName);
}

function fileNameFor(type: ReportType, format: ReportFormat, reportId: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15); // yyyymmdd-hhmmss
  const hex = reportId.replace(/[^0-9a-f]/gi, '').toLowerCase();
  const short = hex.length >= 8 ? hex.slice(0, 8) : randomBytes(4).toString('hex');
  return `${type}-${stamp}-${short}.${format}`;
}

const tick = () => new Promise<void>((done) => setImmediate(done));

export class ReportJobs {
  private readonly store: Store;
  private readonly dataDir: string;
  private readonly jobs = new Map<string, Promise<ReportOutcome>>();
  private closed = false;

  constructor(store: Store, dataDir: string) {
    this.store = store;
    this.dataDir = dataDir;
  }

  /** Starts a queued report in the background; returns at once. Starting a report that already runs is a no-op. */
  start(reportId: string): void {
    if (this.jobs.has(reportId)) return;
    const job = this.run(reportId)
      .catch((e: unknown): ReportOutcome => ({ id: reportId, status: 'failed', progress: 0, fileName: null, sizeBytes: null, sha256: null, error: String(e) }))
      .finally(() => this.jobs.delete(reportId));
    this.jobs.set(reportId, job);
  }

  /** Resolves with the report's final state (at once when no job of it runs). */
  async wait(reportId: string): Promise<ReportOutcome | undefined> {
    const job = this.jobs.get(reportId);
    if (job) return job;
    const row = await this.row(reportId);
    return row && outcome(row);
  }

  /** Resolves when every running job has finished. */
  async whenIdle(): Promise<void> {
    while (this.jobs.size) await Promise.all([...this.jobs.values()]);
  }

  /** Before the store closes: no job starts any more (a running one fails, and is resumed at the next start). */
  stop(): void {
    this.closed = true;
  }

  /**
   * After a crash: restarts every report left queued or running. Returns their ids. With several nodes on one database a
   * report another node is building is claimed by one of them only (the conditional move to running).
   */
  async resumePending(): Promise<string[]> {
    const ids = (await this.store.sql.all<{ id: string }>(`SELECT id FROM reports WHERE status IN ('queued','running') ORDER BY created_at, id`)).map((r) => r.id);
    for (const id of ids) {
      if (this.jobs.has(id)) continue;
      await this.update(`UPDATE reports SET status = 'queued', progress = 0 WHERE id = ? AND status = 'running'`, [id]);
      this.start(id);
    }
    return ids;
  }

  private row(reportId: string): Promise<ReportRow | undefined> {
    return this.store.sql.get<ReportRow>('SELECT * FROM reports WHERE id = ?', [reportId]);
  }

  private update(text: string, params: unknown[]): Promise<number> {
    return this.store.write(async (tx) => (await tx.sql.run(text, params)).changes, { oneWrite: true });
  }

  private progress(reportId: string, progress: number): Promise<number> {
    return this.update(`UPDATE reports SET progress = ? WHERE id = ? AND status = 'running'`, [progress, reportId]);
  }

  private async run(reportId: string): Promise<ReportOutcome> {
    // Let the caller's transaction commit before the job reads the row.
    await tick();
    const row = await this.row(reportId);
    if (!row || this.closed) return { id: reportId, status: 'failed', progress: 0, fileName: null, sizeBytes: null, sha256: null, error: 'no such report' };
    if (row.status === 'completed' || row.status === 'failed') return outcome(row);
    let tmp: string | null = null;
    try {
      const claimed = await this.update(`UPDATE reports SET status = 'running', progress = 5, error = NULL WHERE id = ? AND status IN ('queued','running')`, [reportId]);
      if (claimed !== 1) return outcome((await this.row(reportId))!);
      const tenant = (await this.store.sql.get<Tenant>('SELECT id, slug, name FROM tenants WHERE id = ?', [row.tenant_id]))!;
      const now = new Date();
      await tick();
      const report = await collectReport(this.store.readOnly, tenant, row.type, now);
      await this.progress(reportId, 50);
      await tick();
      // pdfkit (fonts, brotli) is loaded on the first PDF, not at start-up: it was a tenth of the server's start.
      const content = row.format === 'csv' ? renderCsv(report) : row.format === 'html' ? renderHtml(report) : await (await import('./pdf.ts')).renderPdf(report);
      await this.progress(reportId, 80);
      const fileName = fileNameFor(row.type, row.format, reportId, now);
      const path = reportPath(this.dataDir, tenant.slug, fileName);
      await mkdir(resolve(this.dataDir, 'reports', tenant.slug), { recursive: true });
      tmp = join(resolve(this.dataDir, 'reports', tenant.slug), `.${fileName}.${randomBytes(4).toString('hex')}.tmp`);
      await writeFile(tmp, content, { mode: 0o640, flag: 'wx' });
      await rename(tmp, path);
      tmp = null;
      await this.progress(reportId, 95);
      const sha256 = createHash('sha256').update(content).digest('hex');
      await this.update(`UPDATE reports SET status = 'completed', progress = 100, file_name = ?, size_bytes = ?, sha256 = ?, error = NULL, finished_at = ?
        WHERE id = ?`, [fileName, content.length, sha256, new Date().toISOString(), reportId]);
    } catch (e) {
      if (tmp) await rm(tmp, { force: true }).catch(() => {});
      try {
        await this.update(`UPDATE reports SET status = 'failed', error = ?, finished_at = ? WHERE id = ?`,
          [String((e as Error)?.message ?? e).slice(0, 500), new Date().toISOString(), reportId]);
      } catch {
        // the store is gone (shutdown): resumePending picks the report up on the next start
      }
    }
    const final = await this.row(reportId).catch(() => undefined);
    return final ? outcome(final) : { id: reportId, status: 'failed', progress: 0, fileName: null, sizeBytes: null, sha256: null, error: 'store closed' };
  }
}

function outcome(r: ReportRow): ReportOutcome {
  return { id: r.id, status: r.status, progress: r.progress, fileName: r.file_name, sizeBytes: r.size_bytes, sha256: r.sha256, error: r.error };
}
