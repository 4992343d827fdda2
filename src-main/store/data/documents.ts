// Documentation of the call's tenants: runbooks, incident notes and change log entries, with their links.
import { randomUUID } from 'node:crypto';
import { ScopedData } from './scope.ts';

export type DocKind = 'runbook' | 'incident_note' | 'change_log';
export type LinkKind = 'device' | 'alert' | 'incident';

export interface DocRow { id: string; tenant_id: string; kind: DocKind; title: string; body: string; incident_id: string | null; detail_json: string; key_id: string | null; created_at: string }

export interface DocFilter {
  tenant?: string;
  kind?: DocKind;
  incidentId?: string;
  deviceId?: string;
  alertId?: string;
}

export class Documents extends ScopedData {

  /** Inserts a document and its links (ids already checked against the scope by the caller's plan). */
  async create(d: { tenantId: string; kind: DocKind; title: string; body: string; incidentId: string | null; detail: Record<string, unknown>; keyId: string; at: string; links: { kind: LinkKind; id: string }[] }) {
    this.scope.tenantById(d.tenantId);
    const id = randomUUID();
    await this.sql.run(`INSERT INTO documents (id, tenant_id, kind, title, body, incident_id, detail_json, key_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, d.tenantId, d.kind, d.title, d.body, d.incidentId, JSON.stringify(d.detail), d.keyId, d.at]);
    for (const x of d.links) await this.sql.run('INSERT INTO document_links (document_id, target_kind, target_id) VALUES (?, ?, ?)', [id, x.kind, x.id]);
    return id;
  }

  async list(f: DocFilter, offset: number, limit: number): Promise<{ total: number; rows: (DocRow & { links: { kind: LinkKind; id: string }[] })[] }> {
    const tf = this.scope.filter('doc.tenant_id', f.tenant);
    const where = [tf.sql];
    const params: unknown[] = [...tf.params];
    if (f.kind) where.push('doc.kind = ?'), params.push(f.kind);
    if (f.incidentId) where.push('doc.incident_id = ?'), params.push(f.incidentId);
    for (const [kind, v] of [['device', f.deviceId], ['alert', f.alertId]] as const) {
      if (v !== undefined) {
        where.push('EXISTS (SELECT 1 FROM document_links l WHERE l.document_id = doc.id AND l.target_kind = ? AND l.target_id = ?)');
        params.push(kind, v);
      }
    }
    const from = `FROM documents doc WHERE ${where.join(' AND ')}`;
    const total = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n ${from}`, params))!.n;
    const rows = await this.sql.all<DocRow>(`SELECT doc.* ${from} ORDER BY doc.created_at DESC, doc.id DESC LIMIT ? OFFSET ?`, [...params, limit, offset]);
    const out = [];
    for (const r of rows) {
      const links = await this.sql.all<{ kind: LinkKind; id: string }>('SELECT target_kind AS kind, target_id AS id FROM document_links WHERE document_id = ? ORDER BY target_kind, target_id', [r.id]);
      out.push({ ...r, links });
    }
    return { total, rows: out };
  }
}
