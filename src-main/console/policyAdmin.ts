// Policy for the console: effective values with env pins, and tier overrides (raise only) per tool/action/tenant.
import type { App } from '../app.ts';
import { DEFAULT_POLICY, type Policy, type PolicyName } from '../governance/policyValues.ts';
import type { Tier } from '../governance/tiers.ts';
import type { TenantScope } from './tenantScope.ts';
import { budgetOf } from '../tools/types.ts';
import { AppError, type ConsoleOutput, type PolicyViewT, type ToolInfoT } from './contract.ts';

type Override = PolicyViewT['overrides'][number];

/** The gate's own catalogue: the console lists exactly the tools the gate serves. */
export function toolCatalogue(app: App): ToolInfoT[] {
  return app.gate.catalogue().map((t) => ({
    name: t.name, title: t.title, baseTier: t.baseTier, budget: budgetOf(t),
    actions: Object.entries(t.actionTiers ?? {}).map(([name, tier]) => ({ name, tier })),
  }));
}

/**
 * `scope`: the tenants the account acts on. The policy's values and its overrides without a tenant hold for every
 * tenant, so only an account acting on every tenant changes them; an account limited to some tenants sees, sets and
 * removes overrides of its tenants only, and sees only its tenants among those that need a ticket.
 */
export function createPolicyAdmin(app: App, actor: string, scope: TenantScope) {
  const tools = toolCatalogue(app);
  const byName = new Map(tools.map((t) => [t.name, t]));

  const baseTier = (tool: string, action: string | null): number => {
    const t = byName.get(tool);
    if (!t) return 1;
    const a = action ? t.actions.find((x) => x.name === action) : undefined;
    return Math.max(t.baseTier, a?.tier ?? 0);
  };

  // The policy service caches overrides for the hot path: every change goes through it, never around it.
  const listOverrides = (): Override[] => app.policy.listOverrides().filter((o) => scope.seesRow(o.tenantId)).map((o) => ({
    id: o.id, tool: o.tool, action: o.action, tenant: o.tenant, tier: o.tier, baseTier: baseTier(o.tool, o.action), createdAt: o.createdAt,
  }));

  const view = (): ConsoleOutput<'getPolicy'> => {
    const { values, pinned, integrity, digest } = app.policy.get();
    const shownValues = scope.slugs ? { ...values, requireTicketTenants: values.requireTicketTenants.filter((t) => t === '*' || scope.seesSlug(t)) } : values;
    return { values: shownValues, defaults: DEFAULT_POLICY, pinned: pinned as Record<string, string>, overrides: listOverrides(), tools, integrity, shown: digest };
  };

  return {
    tools,
    view,
    listOverrides,
    async update(patch: Partial<Policy>) {
      scope.everyTenant('the policy');
      const { pinned } = app.policy.get();
      const blocked = (Object.keys(patch) as PolicyName[]).filter((k) => pinned[k]);
      if (blocked.length) throw new AppError('PINNED', `pinned by environment variable: ${blocked.map((k) => `${k} (${pinned[k]})`).join(', ')}`);
      const unknown = (patch.executeAllowlist ?? []).filter((t) => !byName.has(t));
      if (unknown.length) throw new AppError('BAD_INPUT', `executeAllowlist: unknown tool(s) ${unknown.join(', ')}`);
      const slugs = new Set((await app.store.sql.all<{ slug: string }>('SELECT slug FROM tenants')).map((t) => t.slug));
      const strangers = (patch.requireTicketTenants ?? []).filter((t) => t !== '*' && !slugs.has(t));
      if (strangers.length) throw new AppError('BAD_INPUT', `requireTicketTenants: unknown tenant(s) ${strangers.join(', ')}`);
      await app.policy.update(patch, actor);
      return view();
    },
    /** Keeps the policy shown (the stricter values, after a failed binding) as the trusted one; changes resume. */
    async accept(shown: string) {
      scope.everyTenant('the policy');
      await app.policy.accept(actor, shown);
      return view();
    },
    async setOverride(o: { tool: string; action?: string | null; tenant?: string | null; tier: Tier }) {
      const tool = byName.get(o.tool);
      if (!tool) throw new AppError('BAD_INPUT', `tool: unknown tool '${o.tool}'`);
      const action = o.action ?? null;
      if (action !== null && !tool.actions.some((a) => a.name === action)) {
        throw new AppError('BAD_INPUT', tool.actions.length
          ? `action: ${o.tool} has the actions ${tool.actions.map((a) => a.name).join(', ')}` : `action: ${o.tool} has no actions`);
      }
      const tenantId = await scope.ruleTenant(app.store.sql, o.tenant, 'an override without a tenant');
      const base = baseTier(o.tool, action);
      if (o.tier <= base) {
        throw new AppError('BAD_INPUT', `tier: overrides only raise; ${o.tool}${action ? ` (${action})` : ''} is already tier ${base}`);
      }
      await app.policy.setOverride({ tool: o.tool, action: action ?? undefined, tenantId: tenantId ?? undefined, tier: o.tier }, actor);
      return view();
    },
    async removeOverride(id: string) {
      const notFound = () => new AppError('NOT_FOUND', `no tier override ${id}`);
      scope.mayChangeRule(app.policy.listOverrides().find((x) => x.id === id), notFound, 'an override without a tenant');
      if (!(await app.policy.removeOverride(id, actor))) throw notFound();
      return view();
    },
  };
}
