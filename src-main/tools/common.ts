import { z } from 'zod';
import type { Tenant } from '../auth/keys.ts';

export const id = (what: string) => z.string().min(1).max(64).describe(`${what} id`);
export const tenantArg = z.string().min(2).max(40).optional().describe('Tenant slug to restrict to; default: every tenant of this key.');
export const OS = ['windows', 'macos', 'linux'] as const;

/** `tenant_id IN (?, ?)` with its parameters: the only way list tools restrict rows to the caller's tenants. */
export function tenantFilter(tenants: Tenant[], column = 'tenant_id') {
  return { sql: `${column} IN (${tenants.map(() => '?').join(', ')})`, params: tenants.map((t) => t.id) };
}

export function slugOf(tenants: Tenant[], tenantId: string): string {
  return tenants.find((t) => t.id === tenantId)?.slug ?? tenantId;
}

/** Text copy of a structured result, for clients that ignore structuredContent. */
export function asText(value: unknown): string {
  return JSON.stringify(value, null, 1);
}
