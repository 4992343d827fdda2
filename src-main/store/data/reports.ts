// Report jobs of the call's tenants: queued by generate_report, read by get_report_status.
import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors.ts';
import { ScopedData } from './scope.ts';

export type ReportState = 'queued' | 'running' | 'completed' | 'failed';
export interface ReportRow {
  id: string; tenant_id: string; type: string; format: string; status: ReportState; progress: number; file_name: string | null; size_bytes: number | null;
  sha256: string | null; error: string | null; created_at: string; finished_at: string | null;
}

export class Reports extends ScopedData {

  async create(r: { tenantId: string; type: string; format: string; keyId: string; at: string }): Promise<string> {
    this.scope.tenantById(r.tenantId);
    const id = randomUUID();
    await this.sql.run(`INSERT INTO reports (id, tenant_id, type, format, status, progress, key_id, created_at) VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)`,
      [id, r.tenantId, r.type, r.format, r.keyId, r.at]);
    return id;
  }

  async get(id: string): Promise<ReportRow> {
    const tf = this.scope.filter('tenant_id');
    const r = await this.sql.get<ReportRow>(`SELECT * FROM reports WHERE id = ? AND ${tf.sql}`, [id, ...tf.params]);
    if (!r) throw new AppError('NOT_FOUND', `No report with id '${id}' in the tenants this key can reach.`, 'tenant_isolation', { kind: 'report', id });
    return r;
  }
}
