import { z } from 'zod';
import { ToolDenial, type ScopedRow, type ToolContext } from './types.ts';
import type { Tenant } from '../auth/keys.ts';

/** One value or a list of values of an enum: `"critical"` or `["critical","high"]`. */
export function oneOrMany<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  const e = z.enum(values);
  return z.union([e, z.array(e).min(1).max(values.length)]).optional()
    .describe(`${what}: one of ${values.join(', ')}, or a list of them.`);
}
export const asList = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : [...new Set(Array.isArray(v) ? v : [v])]);

/** The tenant and device filters of a read tool, checked against the key and against each other. */
export function tenantAndDevice(ctx: ToolContext, tenant: string | undefined, deviceId: string | undefined): { selected: Tenant[]; device: ScopedRow<'device'> | undefined } {
  const selected = ctx.scope.select(tenant);
  const device = deviceId ? ctx.scope.require('device', deviceId) : undefined;
  if (device && tenant && device.tenant?.id !== selected[0]!.id) {
    throw new ToolDenial('INVALID_ARGUMENTS', `Device '${deviceId}' belongs to tenant '${device.tenant?.slug}', not '${tenant}'; drop one of the two filters.`, 'filter_mismatch');
  }
  return { selected, device };
}
