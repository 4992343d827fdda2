// What a policy simulation replays under: a draft (settings, tier overrides, grants) and the policy it makes.
import { z } from 'zod';
import type { PolicyLike } from './decide.ts';
import { Envelope } from './envelope.ts';
import { MAX_GRANT_USES } from './grants.ts';
import { overrideTierOf, type TierOverride } from './policy.ts';
import { PolicySchema, type Policy } from './policyValues.ts';
import type { Tier } from './tiers.ts';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'not a tenant slug');
/** A grant to try in the simulation: live from the start of the simulated window, for `minutes` (default: all of it) and `uses`. */
export const DraftGrant = z.strictObject({
  key: z.string().min(1).max(100).describe('key id or name'),
  tenant: slug,
  tool: z.string().min(1).max(100),
  action: z.string().min(1).max(100).nullable().default(null),
  envelope: Envelope,
  minutes: z.number().int().min(1).max(90 * 24 * 60).optional(),
  uses: z.number().int().min(1).max(MAX_GRANT_USES).optional(),
});
export const SimulationDraft = z.strictObject({
  values: PolicySchema.partial().strict().optional(),
  overrides: z.array(z.strictObject({
    tool: z.string().min(1).max(100), action: z.string().min(1).max(100).nullable().optional(), tenant: slug.nullable().optional(),
    tier: z.union([z.literal(2), z.literal(3), z.literal(4)]),
  })).max(500).optional(),
  /** 'recorded': every grant made, each over its own lifetime; 'none'; or grants to try. */
  grants: z.union([z.enum(['recorded', 'none']), z.array(DraftGrant).max(200)]).default('recorded'),
});
export type SimulationDraft = z.input<typeof SimulationDraft>;

/** A draft's settings and overrides, read by the same decision functions as the policy in force. */
export class DraftPolicy implements PolicyLike {
  readonly values: Policy;
  private readonly overrides: Pick<TierOverride, 'tool' | 'action' | 'tenantId' | 'tier'>[];
  constructor(values: Policy, overrides: Pick<TierOverride, 'tool' | 'action' | 'tenantId' | 'tier'>[]) {
    this.values = values;
    this.overrides = overrides;
  }
  overrideTier(tool: string, action: string | undefined, tenantId: string | undefined): Tier | undefined {
    return overrideTierOf(this.overrides, tool, action, tenantId);
  }
}
