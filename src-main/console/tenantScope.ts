// What a console account may see and act on among the tenants, worked out once per console service from the
// technician row resolved for it: every part of the service (queries, grants and plans, policy, agents, the audit
// log) asks this one object, so no part narrows differently from another.
import { reaches, type Technician } from '../auth/technicians.ts';
import { AppError } from '../errors.ts';

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
}

export function tenantScopeOf(tech: Technician | undefined): TenantScope {
  const limited = tech && tech.tenants !== 'all' ? tech.tenants : undefined;
  const slugs = limited ? new Set(limited.map((x) => x.slug)) : undefined;
  return {
    ids: limited?.map((x) => x.id),
    slugs,
    reachesId: (tenantId) => !tech || reaches(tech, tenantId),
    seesSlug: (slug) => !slugs || (slug !== null && slugs.has(slug)),
    everyTenant(what) {
      if (slugs) throw new AppError('FORBIDDEN', `${tech!.name} acts on some tenants only; ${what} covers every tenant`, 'technician_tenants');
    },
  };
}
