import type { Db } from '../store/db.ts';
import type { Tenant } from '../auth/keys.ts';
import { ToolDenial, type ScopedKind, type ScopedRow, type TenantScope } from '../tools/types.ts';

// The table behind each id kind; every lookup is by primary key, then checked against the key's tenants.
const TABLE: Record<ScopedKind, string> = {
  device: 'devices', alert: 'alerts', script: 'scripts', execution: 'executions', report: 'reports',
  incident: 'incidents', approval: 'approvals', document: 'documents', patch: 'patches',
};
// Rows without a tenant are shared by every tenant (the MSP-wide script library, the patch catalogue).
const SHARED_ALLOWED: ReadonlySet<ScopedKind> = new Set(['script', 'patch']);

export function createTenantScope(db: Db, tenants: Tenant[]): TenantScope {
  const bySlug = new Map(tenants.map((t) => [t.slug, t]));
  const byId = new Map(tenants.map((t) => [t.id, t]));
  const stmts = new Map<ScopedKind, ReturnType<Db['prepare']>>();
  return {
    tenants,
    select(slug) {
      if (slug === undefined) return tenants;
      const t = bySlug.get(slug);
      if (!t) {
        throw new ToolDenial('TENANT_DENIED', `This key is not bound to tenant '${slug}'. Its tenants: ${tenants.map((x) => x.slug).join(', ')}.`, 'tenant_isolation');
      }
      return [t];
    },
    tenantById(id) {
      const t = byId.get(id);
      if (!t) throw new ToolDenial('TENANT_DENIED', 'That tenant is outside this key.', 'tenant_isolation');
      return t;
    },
    require<K extends ScopedKind>(kind: K, id: string): ScopedRow<K> {
      let stmt = stmts.get(kind);
      if (!stmt) stmts.set(kind, (stmt = db.prepare(`SELECT * FROM ${TABLE[kind]} WHERE id = ?`)));
      const row = stmt.get(id) as (Record<string, unknown> & { tenant_id?: string | null }) | undefined;
      const notFound = (auditReason: string) =>
        new ToolDenial('NOT_FOUND', `No ${kind} with id '${id}' in the tenants this key can reach (${tenants.map((t) => t.slug).join(', ')}).`,
          'tenant_isolation', { kind, id }, auditReason);
      if (!row) throw notFound(`${kind} ${id} does not exist`);
      const tenantId = row.tenant_id ?? null;
      if (tenantId === null) {
        if (!SHARED_ALLOWED.has(kind)) throw notFound(`${kind} ${id} has no tenant`);
        return { kind, id, tenant: null, row };
      }
      const tenant = byId.get(tenantId);
      if (!tenant) throw notFound(`${kind} ${id} belongs to another tenant (${tenantId})`);
      return { kind, id, tenant, row };
    },
  };
}

/** All targets of one change must sit in one tenant: approvals and audit entries are per tenant. */
export function singleTenant(rows: ScopedRow[], what: string): Tenant {
  const tenants = new Map(rows.filter((r) => r.tenant).map((r) => [r.tenant!.id, r.tenant!]));
  if (tenants.size !== 1) {
    throw new ToolDenial('INVALID_ARGUMENTS', `The ${what} span ${tenants.size} tenants (${[...tenants.values()].map((t) => t.slug).join(', ')}); make one call per tenant.`, 'single_tenant');
  }
  return [...tenants.values()][0]!;
}
