// Team mode in the console: technician accounts and four-eyes rules. The rules of who may change which account live
// in the technician service (auth/accountRules.ts), shared with the CLI; here only the console's own doors: a signed-in
// owner or admin, or, before any account exists, the install's single-passphrase console making the first owner.
import type { App } from '../app.ts';
import { managesAccounts, seesAccount, type AccountActor } from '../auth/accountRules.ts';
import type { TenantScope } from './tenantScope.ts';
import { CAN, type Technician, type TechnicianListing } from '../auth/technicians.ts';
import { AppError } from '../errors.ts';
import { toolCatalogue } from './policyAdmin.ts';
import type { z } from 'zod';
import type { ConsoleOutput, FourEyesRuleViewT, TechnicianViewT } from './contract.ts';
import type { teamMethods } from './teamContract.ts';

// Handlers receive the input as the contract parsed it (defaults applied).
type In<K extends keyof typeof teamMethods> = z.output<(typeof teamMethods)[K]['input']>;

const view = (t: TechnicianListing): TechnicianViewT => ({
  id: t.id, name: t.name, role: t.role, tenants: t.tenants, createdAt: t.createdAt, disabledAt: t.disabledAt, keys: t.keys, passkeys: t.passkeys, tampered: !!t.tampered,
});

/** `scope`: the tenants the signed-in account acts on; one limited to some sees and changes accounts and rules of those only. */
export function createTeamAdmin(app: App, tech: Technician | undefined, fallbackActor: string, scope: TenantScope) {
  const accounts = app.technicians;
  /** Who changes accounts: the signed-in technician (their role is checked by the service), or the install's console. */
  const accountActor = async (): Promise<AccountActor> => {
    if (tech) {
      if (!managesAccounts(tech.role)) throw new AppError('FORBIDDEN', `${tech.name} (${tech.role}) may not manage technician accounts`, 'technician_role');
      return tech;
    }
    // A console signed in with the install's passphrase holds the install, like the CLI, only until accounts exist.
    if ((await accounts.count()) > 0) throw new AppError('FORBIDDEN', 'technician accounts are managed by a signed-in owner or admin', 'technician_role');
    return fallbackActor;
  };
  const rulesActor = (): string => {
    if (tech && !CAN.administer(tech.role)) throw new AppError('FORBIDDEN', `${tech.name} (${tech.role}) may not change four-eyes rules`, 'technician_role');
    return tech?.name ?? fallbackActor;
  };
  const one = async (id: string): Promise<TechnicianViewT> => {
    const t = (await accounts.listing()).find((x) => x.id === id && (!tech || seesAccount(tech, x)));
    if (!t) throw new AppError('NOT_FOUND', `no technician ${id}`);
    return view(t);
  };
  /** The rule a change names, refused unless this account may change it (lowering a rule weakens its tenants' approvals). */
  const ownRule = async (id: string): Promise<void> =>
    scope.mayChangeRule((await app.fourEyes.listRules()).find((x) => x.id === id), () => new AppError('NOT_FOUND', `no rule ${id}`), 'a four-eyes rule without a tenant');
  const ruleView = (r: Awaited<ReturnType<typeof app.fourEyes.listRules>>[number]): FourEyesRuleViewT => ({
    id: r.id, tool: r.tool, action: r.action, tier: r.tier === 3 ? 3 : null, tenant: r.tenant, approvers: r.approvers, createdAt: r.createdAt,
  });

  return {
    listTechnicians: async (): Promise<ConsoleOutput<'listTechnicians'>> => {
      await accountActor();
      return { technicians: (await accounts.listing()).filter((t) => !tech || seesAccount(tech, t)).map(view), you: tech ? { id: tech.id, role: tech.role } : null };
    },
    createTechnician: async (q: In<'createTechnician'>) => {
      const actor = await accountActor();
      // The first account made from the install's console is its owner: anything less would lock that console out.
      if (typeof actor === 'string' && q.role !== 'owner') throw new AppError('BAD_INPUT', 'role: the first account must be an owner');
      return { technician: await one((await accounts.create(q, actor)).id) };
    },
    updateTechnician: async (q: In<'updateTechnician'>) => {
      const { id, ...change } = q;
      await accounts.update(id, change, await accountActor());
      return { technician: await one(id) };
    },
    resetTechnicianPassphrase: async (q: In<'resetTechnicianPassphrase'>) => {
      await accounts.resetPassphrase(q.id, q.passphrase, await accountActor());
      return { technician: await one(q.id) };
    },
    removeTechnician: async (q: In<'removeTechnician'>) => ({ removed: (await accounts.remove(q.id, await accountActor())).name }),
    listFourEyesRules: async () => {
      rulesActor();
      return { rules: (await app.fourEyes.listRules()).filter((r) => scope.seesRow(r.tenantId)).map(ruleView) };
    },
    setFourEyesRule: async (q: In<'setFourEyesRule'>) => {
      const actor = rulesActor();
      const tool = q.tool ? toolCatalogue(app).find((t) => t.name === q.tool) : undefined;
      if (q.tool && !tool) throw new AppError('BAD_INPUT', `tool: unknown tool '${q.tool}'`);
      if (q.action && !tool!.actions.some((a) => a.name === q.action)) throw new AppError('BAD_INPUT', `action: ${q.tool} has no action '${q.action}'`);
      const tenantId = await scope.ruleTenant(app.store.sql, q.tenant, 'a four-eyes rule without a tenant');
      if (q.replaces) await ownRule(q.replaces);
      const r = await app.fourEyes.setRule({ tool: q.tool ?? null, action: q.action ?? null, tenantId, approvers: q.approvers, replaces: q.replaces }, actor);
      return { rule: ruleView(r) };
    },
    removeFourEyesRule: async (q: In<'removeFourEyesRule'>) => {
      const actor = rulesActor();
      await ownRule(q.id);
      if (!(await app.fourEyes.removeRule(q.id, actor))) throw new AppError('NOT_FOUND', `no rule ${q.id}`);
      return { ok: true as const };
    },
  };
}
