// Tenant isolation at the data layer: a Scope is bound to the calling key's tenants when the call starts, and every
// query the readers and writers run is restricted by it. Tools never name a tenant id themselves.
import type { Tenant } from '../../auth/keys.ts';
import { AppError } from '../../errors.ts';
import { placeholders, type Sql } from '../sql.ts';

export type ScopedKind = 'device' | 'alert' | 'script' | 'execution' | 'report' | 'incident' | 'approval' | 'document' | 'patch';

export interface ScopedRow<K extends ScopedKind = ScopedKind> {
  kind: K;
  id: string;
  /** null only for MSP-wide library scripts and global patch catalogue entries. */
  tenant: Tenant | null;
  row: Record<string, unknown>;
}

// The table behind each id kind; every lookup is by primary key, then checked against the key's tenants.
const TABLE: Record<ScopedKind, string> = {
  device: 'devices', alert: 'alerts', script: 'scripts', execution: 'executions', report: 'reports',
  incident: 'incidents', approval: 'approvals', document: 'documents', patch: 'patches',
};
// Rows without a tenant are shared by every tenant (the MSP-wide script library, the patch catalogue).
const SHARED_ALLOWED: ReadonlySet<ScopedKind> = new Set(['script', 'patch']);

export class Scope {
  readonly tenants: readonly Tenant[];
  // Built on first use: a scope is made for every call, and most (whoami, a refusal) never look a tenant up.
  private slugs: Map<string, Tenant> | undefined;
  private ids: Map<string, Tenant> | undefined;

  constructor(tenants: readonly Tenant[]) {
    this.tenants = tenants;
  }

  private get bySlug(): Map<string, Tenant> {
    return (this.slugs ??= new Map(this.tenants.map((t) => [t.slug, t])));
  }

  private get byId(): Map<string, Tenant> {
    return (this.ids ??= new Map(this.tenants.map((t) => [t.id, t])));
  }

  /** The tenants a call may read: all of the key's, or the one named by a `tenant` slug argument. */
  select(slug?: string): Tenant[] {
    if (slug === undefined) return [...this.tenants];
    const t = this.bySlug.get(slug);
    if (!t) throw new AppError('TENANT_DENIED', `This key is not bound to tenant '${slug}'. Its tenants: ${this.tenants.map((x) => x.slug).join(', ')}.`, 'tenant_isolation');
    return [t];
  }

  tenantById(id: string): Tenant {
    const t = this.byId.get(id);
    if (!t) throw new AppError('TENANT_DENIED', 'That tenant is outside this key.', 'tenant_isolation');
    return t;
  }

  has(tenantId: string | null): boolean {
    return tenantId !== null && this.byId.has(tenantId);
  }

  slugOf(tenantId: string): string {
    return this.byId.get(tenantId)?.slug ?? tenantId;
  }

  /** `column IN (?, …)` over the selected tenants, with its parameters: the only tenant filter list queries use. */
  filter(column: string, slug?: string): { sql: string; params: string[] } {
    const ts = this.select(slug);
    return { sql: `${column} IN (${placeholders(ts.length)})`, params: ts.map((t) => t.id) };
  }

  /** Looks a row up by id; unknown and foreign ids give the same NOT_FOUND answer (no existence leak). */
  async require<K extends ScopedKind>(sql: Sql, kind: K, id: string): Promise<ScopedRow<K>> {
    const row = await sql.get<Record<string, unknown> & { tenant_id?: string | null }>(`SELECT * FROM ${TABLE[kind]} WHERE id = ?`, [id]);
    const notFound = (auditReason: string) =>
      new AppError('NOT_FOUND', `No ${kind} with id '${id}' in the tenants this key can reach (${this.tenants.map((t) => t.slug).join(', ')}).`,
        'tenant_isolation', { kind, id }, auditReason);
    if (!row) throw notFound(`${kind} ${id} does not exist`);
    const tenantId = row.tenant_id ?? null;
    if (tenantId === null) {
      if (!SHARED_ALLOWED.has(kind)) throw notFound(`${kind} ${id} has no tenant`);
      return { kind, id, tenant: null, row };
    }
    const tenant = this.byId.get(tenantId);
    if (!tenant) throw notFound(`${kind} ${id} belongs to another tenant (${tenantId})`);
    return { kind, id, tenant, row };
  }
}

/** All targets of one change must sit in one tenant: approvals and audit entries are per tenant. */
export function singleTenant(rows: ScopedRow[], what: string): Tenant {
  const tenants = new Map(rows.filter((r) => r.tenant).map((r) => [r.tenant!.id, r.tenant!]));
  if (tenants.size !== 1) {
    throw new AppError('INVALID_ARGUMENTS', `The ${what} span ${tenants.size} tenants (${[...tenants.values()].map((t) => t.slug).join(', ')}); make one call per tenant.`, 'single_tenant');
  }
  return [...tenants.values()][0]!;
}

/** What every reader or writer of one domain holds: the statements' handle and the call's scope. */
export abstract class ScopedData {
  protected readonly sql: Sql;
  protected readonly scope: Scope;
  constructor(sql: Sql, scope: Scope) {
    this.sql = sql;
    this.scope = scope;
  }
}
