// The decision, computed one way for a new call, for tools/list and again when an approved request is about to run.
// Pure: a tool, its action, the key and the policy in force in, a tier or a refusal out.
import type { ApiKey } from '../auth/keys.ts';
import { AppError } from '../errors.ts';
import type { ToolSpec } from '../tools/types.ts';
import type { Policy } from './policyValues.ts';
import { canReach, highestTier, maxTier, SCOPE_FOR_TIER, type Tier } from './tiers.ts';

/** What a decision reads of the policy: the policy in force (PolicyService) or a draft being simulated. */
export interface PolicyLike {
  readonly values: Policy;
  /** The stored policy failed its binding (policyBinding.ts): changes that would run without a card pause. */
  readonly unverified?: boolean;
  overrideTier(tool: string, action: string | undefined, tenantId: string | undefined): Tier | undefined;
}

/** Effective tier = max(base, action, escalation from the arguments, overrides for the tool/action/tenant). Raise only. */
export function effectiveTier(tool: ToolSpec, action: string | undefined, tenantId: string | undefined, argTier: Tier | undefined, policy: PolicyLike): Tier {
  return maxTier(tool.baseTier, action ? tool.actionTiers?.[action] : undefined, argTier, policy.overrideTier(tool.name, action, tenantId));
}

/** The action of a multiplexed tool's call, or undefined. */
export function actionOf(tool: ToolSpec, args: Record<string, unknown>): string | undefined {
  return tool.actionField ? String(args[tool.actionField]) : undefined;
}

/** Why this key may not run this tool at this tier under the policy in force; undefined when it may. */
export function refusalFor(tool: ToolSpec, tier: Tier, key: ApiKey, action: string | undefined, policy: PolicyLike): AppError | undefined {
  const what = action ? `${tool.name} (${action})` : tool.name;
  if (tier === 4) return new AppError('TIER4_BLOCKED', `${what} is tier 4: Countersign never runs it, at any scope. Ask the technician to do it by hand.`, 'tier4');
  if (!canReach(key.scopes, tier)) {
    const need = SCOPE_FOR_TIER[tier as 1 | 2 | 3];
    return new AppError('SCOPE_DENIED', `${what} is tier ${tier} and needs scope ${need}; this key has ${key.scopes.join(', ')} (up to tier ${highestTier(key.scopes)}).`, 'scope', { requiredScope: need, tier });
  }
  if (tier === 2 && policy.unverified) {
    return new AppError('POLICY_UNVERIFIED', `${what} is a change, and changes that run without approval are paused: the governance policy stored in the `
      + 'database does not match its binding (it was edited without the install secret). Reads still run, and tier-3 requests still go to a technician. '
      + 'Ask the technician to review the policy on the console\'s Policy page.', 'policy_binding');
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

/** The per-minute limit of one of a key's budgets: its own, or the policy's default. */
export function limitFor(key: Pick<ApiKey, 'readPerMinute' | 'writePerMinute'>, budget: 'read' | 'write', values: Policy): number {
  return budget === 'read' ? key.readPerMinute ?? values.defaultReadPerMinute : key.writePerMinute ?? values.defaultWritePerMinute;
}

/**
 * Bulk escalation: the devices a call changes plus those the same key changed without approval in the same tenant over
 * the window (`touched`); more than the threshold makes the call tier 3. `touched` gains the call's devices.
 */
export function bulkEscalation(touched: Set<string>, callDevices: readonly string[], threshold: number): { escalated: boolean; devices: number } {
  for (const id of callDevices) touched.add(id);
  return { escalated: touched.size > threshold, devices: touched.size };
}

/** Whether the policy requires a PSA ticket on this tenant's tier-3 calls. */
export function ticketRequired(values: Policy, tenantSlug: string | undefined): boolean {
  const t = values.requireTicketTenants;
  return t.includes('*') || (tenantSlug !== undefined && t.includes(tenantSlug));
}

/** A tier-3 call without a ticket in a tenant whose policy requires one. */
export function ticketRefusal(tool: string, tenantSlug: string | undefined, hasTicket: boolean, values: Policy): AppError | undefined {
  if (hasTicket || !ticketRequired(values, tenantSlug)) return undefined;
  return new AppError('TICKET_REQUIRED', `${tool} needs a technician's approval, and tenant ${tenantSlug ?? '(any)'} requires a PSA ticket reference on such calls: `
    + 'call again with ticket {system: "connectwise" | "halopsa" | "autotask" | "other", id}.', 'require_ticket', { tenant: tenantSlug ?? null });
}
