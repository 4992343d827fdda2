import { z } from 'zod';

export const id = (what: string) => z.string().min(1).max(64).describe(`${what} id`);
export const tenantArg = z.string().min(2).max(40).optional().describe('Tenant slug to restrict to; default: every tenant of this key.');
export const OS = ['windows', 'macos', 'linux'] as const;

/** Sorted, without repeats: the canonical form of an id set, so the same targets in any order are the same call. */
export const sortedUnique = (ids: readonly string[]): string[] => [...new Set(ids)].sort();

/**
 * A list of ids treated as a set: bounds apply to what the caller sent, and the parsed value is sorted and
 * de-duplicated, so digests, approval cards and execution all see one canonical list.
 */
export const idSet = (what: string, min: number, max: number) => z.array(id(what)).min(min).max(max).transform(sortedUnique);

/** Target devices in the order a technician reads them on a card: by hostname, then id. */
export const byHostname = <R extends { id: string; row: Record<string, unknown> }>(rows: R[]): R[] =>
  [...rows].sort((a, b) => String(a.row.hostname).localeCompare(String(b.row.hostname)) || a.id.localeCompare(b.id));
