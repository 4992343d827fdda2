// The decision, computed one way for a new call, for tools/list and again when an approved request is about to run.
// Pure: a tool, its action, the key and the policy in force in, a tier or a refusal out.
import type { ApiKey } from '../auth/keys.ts';
import { AppError } from '../errors.ts';
import type { ToolSpec } from '../tools/types.ts';
import type { PolicyService } from './policy.ts';
import { canReach, highestTier, maxTier, SCOPE_FOR_TIER, type Tier } from './tiers.ts';

/** Effective tier = max(base, action, escalation from the arguments, overrides for the tool/action/tenant). Raise only. */
export function effectiveTier(tool: ToolSpec, action: string | undefined, tenantId: string | undefined, argTier: Tier | undefined, policy: PolicyService): Tier {
  return maxTier(tool.baseTier, action ? tool.actionTiers?.[action] : undefined, argTier, policy.overrideTier(tool.name, action, tenantId));
}

/** The action of a multiplexed tool's call, or undefined. */
export function actionOf(tool: ToolSpec, args: Record<string, unknown>): string | undefined {
  return tool.actionField ? String(args[tool.actionField]) : undefined;
}

/** Why this key may not run this tool at this tier under the policy in force; undefined when it may. */
export function refusalFor(tool: ToolSpec, tier: Tier, key: ApiKey, action: string | undefined, policy: PolicyService): AppError | undefined {
  const what = action ? `${tool.name} (${action})` : tool.name;
  if (tier === 4) return new AppError('TIER4_BLOCKED', `${what} is tier 4: Countersign never runs it, at any scope. Ask the technician to do it by hand.`, 'tier4');
  if (!canReach(key.scopes, tier)) {
    const need = SCOPE_FOR_TIER[tier as 1 | 2 | 3];
    return new AppError('SCOPE_DENIED', `${what} is tier ${tier} and needs scope ${need}; this key has ${key.scopes.join(', ')} (up to tier ${highestTier(key.scopes)}).`, 'scope', { requiredScope: need, tier });
  }
  if (tier === 3) {
    const p = policy.values;
    if (p.requireExecuteAdmin && key.role !== 'admin') {
      return new AppError('EXECUTE_ADMIN_REQUIRED', `${what} is tier 3 and this installation requires an admin-role key for tier 3; this key is '${key.role}'.`, 'require_execute_admin');
    }
    if (p.executeAllowlist && !p.executeAllowlist.includes(tool.name)) {
      return new AppError('NOT_ALLOWLISTED', `${tool.name} is not on the execute allowlist of this installation (${p.executeAllowlist.join(', ') || 'empty'}).`, 'execute_allowlist');
    }
  }
  return undefined;
}
