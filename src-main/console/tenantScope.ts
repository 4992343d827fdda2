// What a console account may see and act on among the tenants, worked out once per console service from the
// technician row resolved for it: every part of the service (queries, grants and plans, policy, agents, the audit
// log) asks this one object, so no part narrows differently from another.
import { reaches, type Technician } from '../auth/technicians.ts';
import { AppError } from '../errors.ts';
import type { Sql } from '../store/sql.ts';

export interface TenantScope {
  /** Tenant ids of an account limited to some tenants, for SQL filters; undefined: every tenant. */
  readonly ids: readonly string[] | undefined;
  /** The same by slug (audit entries, agents, tokens and policy name tenants by slug); undefined: every tenant. */
  readonly slugs: ReadonlySet<string> | undefined;
  /** Whether a tenant (by id) is one the account acts on. */
  reachesId(tenantId: string): boolean;
  /** Whether a row naming this tenant (by slug; null: no tenant, install-wide) is one the account sees. */
  seesSlug(slug: string | null): boolean;
  /** Refuses whole-install work (every tenant's entries, install-wide policy) to an account limited to some tenants. */
  everyTenant(what: string): void;
  /** Whether the account reaches every one of these tenants (ids), and there is at least one, when it is limited. */
  covers(tenantIds: readonly string[]): boolean;
  /** Whether a row of this tenant (null: a row for every tenant, seen by all) is one the account sees. */
  seesRow(tenantId: string | null): boolean;
  /**
   * The tenant a new rule is for: its id, or null for every tenant (refused to a limited account, as `what`). Another
   * tenant's slug is answered as an unknown one: a limited account learns nothing of tenants it does not act on.
   */
  ruleTenant(sql: Sql, slug: string | null | undefined, what: string): Promise<string | null>;
  /** Refuses a change to a rule outside the account's tenants (as `notFound`) or for every tenant (as `what`). */
  mayChangeRule(row: { tenantId: string | null } | undefined, notFound: () => AppError, what: string): void;
}

export function tenantScopeOf(tech: Technician | undefined): TenantScope {
  const limited = tech && tech.tenants !== 'all' ? tech.tenants : undefined;
  const slugs = limited ? new Set(limited.map((x) => x.slug)) : undefined;
  const reachesId = (tenantId: string) => !tech || reaches(tech, tenantId);
  const seesSlug = (slug: string | null) => !slugs || (slug !== null && slugs.has(slug));
  const everyTenant = (what: string) => {
    if (slugs) throw new AppError('FORBIDDEN', `${tech!.name} acts on some tenants only; ${what} covers every tenant`, 'technician_tenants');
  };
  const seesRow = (tenantId: string | null) => tenantId === null || reachesId(tenantId);
  return {
    ids: limited?.map((x) => x.id),
    slugs,
    reachesId,
    seesSlug,
    everyTenant,
    covers: (tenantIds) => !limited || (tenantIds.length > 0 && tenantIds.every(reachesId)),
    seesRow,
    async ruleTenant(sql, slug, what) {
      if (!slug) {
        everyTenant(what);
        return null;
      }
      const t = seesSlug(slug) ? await sql.get<{ id: string }>('SELECT id FROM tenants WHERE slug = ?', [slug]) : undefined;
      if (!t) throw new AppError('BAD_INPUT', `tenant: unknown tenant '${slug}'`);
      return t.id;
    },
    mayChangeRule(row, notFound, what) {
      if (!row || !seesRow(row.tenantId)) throw notFound();
      if (row.tenantId === null) everyTenant(what);
    },
  };
}
