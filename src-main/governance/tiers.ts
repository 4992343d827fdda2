import type { Scope } from '../auth/keys.ts';
import type { Tier } from '../tools/types.ts';

export type { Tier };

/** `ai:read` reaches tier 1, `ai:write` tiers 1–2, `ai:execute` tiers 1–3 (tier 3 only through approval). */
const SCOPE_TIER: Record<Scope, 1 | 2 | 3> = { 'ai:read': 1, 'ai:write': 2, 'ai:execute': 3 };
export const SCOPE_FOR_TIER: Record<1 | 2 | 3, Scope> = { 1: 'ai:read', 2: 'ai:write', 3: 'ai:execute' };

export function highestTier(scopes: readonly Scope[]): 0 | 1 | 2 | 3 {
  return Math.max(0, ...scopes.map((s) => SCOPE_TIER[s])) as 0 | 1 | 2 | 3;
}

export function reachableTiers(scopes: readonly Scope[]): Tier[] {
  const top = highestTier(scopes);
  return ([1, 2, 3] as const).filter((t) => t <= top);
}

export function canReach(scopes: readonly Scope[], tier: Tier): boolean {
  return tier !== 4 && tier <= highestTier(scopes);
}

export const maxTier = (...tiers: (Tier | undefined)[]): Tier =>
  Math.max(...tiers.filter((t): t is Tier => t !== undefined)) as Tier;
