// The script library as the call's tenants see it: MSP-wide scripts plus their own.
import { ScopedData } from './scope.ts';
import { likeContains, likePattern } from './predicates.ts';

export interface ScriptListRow {
  id: string; tenant_id: string | null; name: string; description: string; language: 'powershell' | 'bash' | 'python'; sha256: string;
  body: string | null; body_length: number;
}

export interface ScriptFilter {
  tenant?: string;
  language?: string;
  search?: string;
}

export class Scripts extends ScopedData {

  /** The parameter declarations (params_json) of a library script or one of the scope's own scripts; null outside it. */
  async paramsJson(scriptId: string): Promise<string | null> {
    const tf = this.scope.filter('tenant_id');
    return (await this.sql.get<{ params_json: string | null }>(`SELECT params_json FROM scripts WHERE id = ? AND (tenant_id IS NULL OR ${tf.sql})`, [scriptId, ...tf.params]))?.params_json ?? null;
  }

  /** Library scripts first, then the tenants' own; bodies cut at bodyCap characters when asked for. */
  async list(f: ScriptFilter, offset: number, limit: number, bodyCap: number | null): Promise<{ total: number; rows: ScriptListRow[] }> {
    const tf = this.scope.filter('s.tenant_id', f.tenant);
    const where = [`(s.tenant_id IS NULL OR ${tf.sql})`];
    const params: unknown[] = [...tf.params];
    if (f.language) where.push('s.language = ?'), params.push(f.language);
    if (f.search) {
      where.push(`(${likeContains('s.name', this.sql.dialect)} OR ${likeContains('s.description', this.sql.dialect)})`);
      params.push(likePattern(f.search), likePattern(f.search));
    }
    const from = `FROM scripts s WHERE ${where.join(' AND ')}`;
    const total = (await this.sql.get<{ n: number }>(`SELECT count(*) AS n ${from}`, params))!.n;
    const body = bodyCap === null ? 'NULL AS body, 0 AS body_length' : `substr(s.body, 1, ${Math.trunc(bodyCap)}) AS body, length(s.body) AS body_length`;
    const rows = await this.sql.all<ScriptListRow>(`SELECT s.id, s.tenant_id, s.name, s.description, s.language, s.sha256, ${body}
      ${from} ORDER BY s.tenant_id IS NOT NULL, s.name, s.id LIMIT ? OFFSET ?`, [...params, limit, offset]);
    return { total, rows };
  }
}
