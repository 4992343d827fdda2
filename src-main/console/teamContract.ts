// The team-mode part of the console contract: technician accounts and four-eyes rules, managed by owners and admins.
// Pure like contract.ts (zod only), which spreads these methods into the one contract.
import { z } from 'zod';
import { TechnicianName } from '../auth/technicianName.ts';

export const TECHNICIAN_ROLE_NAMES = ['owner', 'admin', 'technician', 'viewer'] as const;
/** Mirrors MIN_PASSPHRASE_LENGTH (test/console/contract.test.ts keeps them equal). */
export const TECHNICIAN_PASSPHRASE_MIN = 10;

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'not an id');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'not a tenant slug');
const count = z.number().int().min(0);
const nstr = z.string().nullable();
const Tenant = z.object({ id: z.string(), slug: z.string(), name: z.string() });
const role = z.enum(TECHNICIAN_ROLE_NAMES);
const passphrase = z.string().min(TECHNICIAN_PASSPHRASE_MIN, `at least ${TECHNICIAN_PASSPHRASE_MIN} characters`).max(1000);
const tenants = z.union([z.literal('all'), z.array(slug).min(1, 'at least one tenant, or all').max(500)]);
const ById = z.strictObject({ id: uuid });

export const TechnicianView = z.object({
  id: z.string(), name: z.string(), role, tenants: z.union([z.literal('all'), z.array(Tenant)]),
  createdAt: z.string(), disabledAt: nstr, keys: count.describe('live API keys it owns'), passkeys: count,
  tampered: z.boolean().describe('the stored account does not match its binding: it grants nothing; remove it or re-bind it with the CLI'),
});
export const FourEyesRuleView = z.object({
  id: z.string(), tool: nstr.describe('null: any tool'), action: nstr.describe('null: any action'), tier: z.literal(3).nullable(),
  tenant: nstr.describe('tenant slug; null: any tenant'), approvers: z.number().int().min(2).max(5), createdAt: z.string(),
});

export const teamMethods = {
  listTechnicians: {
    input: z.strictObject({}).optional(),
    output: z.object({ technicians: z.array(TechnicianView), you: z.object({ id: z.string(), role }).nullable() }),
  },
  createTechnician: {
    input: z.strictObject({ name: TechnicianName, passphrase, role, tenants }),
    output: z.object({ technician: TechnicianView }),
  },
  updateTechnician: {
    input: z.strictObject({ id: uuid, role: role.optional(), tenants: tenants.optional(), disabled: z.boolean().optional() })
      .refine((c) => c.role !== undefined || c.tenants !== undefined || c.disabled !== undefined, 'nothing to change'),
    output: z.object({ technician: TechnicianView }),
  },
  resetTechnicianPassphrase: { input: z.strictObject({ id: uuid, passphrase }), output: z.object({ technician: TechnicianView }) },
  removeTechnician: { input: ById, output: z.object({ removed: z.string().describe('the removed account\'s name') }) },
  listFourEyesRules: { input: z.strictObject({}).optional(), output: z.object({ rules: z.array(FourEyesRuleView) }) },
  setFourEyesRule: {
    input: z.strictObject({
      replaces: uuid.optional().describe('editing: the rule this one replaces, in the same change'),
      tool: z.string().min(1).max(100).nullable().optional(), action: z.string().min(1).max(100).nullable().optional(),
      tenant: slug.nullable().optional(), approvers: z.number().int().min(2).max(5),
    }).refine((r) => !r.action || r.tool, { message: 'an action needs its tool', path: ['action'] }),
    output: z.object({ rule: FourEyesRuleView }),
  },
  removeFourEyesRule: { input: ById, output: z.object({ ok: z.literal(true) }) },
} as const;

export type TechnicianViewT = z.infer<typeof TechnicianView>;
export type FourEyesRuleViewT = z.infer<typeof FourEyesRuleView>;
