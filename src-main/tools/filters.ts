import { z } from 'zod';
import type { ReadContext } from './types.ts';
import type { Tenant } from '../auth/keys.ts';
import type { ScopedRow } from '../store/data/index.ts';
import { AppError } from '../errors.ts';

/** One value or a list of values of an enum: `"critical"` or `["critical","high"]`. */
export function oneOrMany<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  const e = z.enum(values);
  return z.union([e, z.array(e).min(1).max(values.length)]).optional()
    .describe(`${what}: one of ${values.join(', ')}, or a list of them.`);
}
export const asList = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : [...new Set(Array.isArray(v) ? v : [v])]);

/** The tenant and device filters of a read tool, checked against the key and against each other. */
export async function tenantAndDevice(ctx: ReadContext, tenant: string | undefined, deviceId: string | undefined): Promise<{ selected: Tenant[]; device: ScopedRow<'device'> | undefined }> {
  const selected = ctx.data.scope.select(tenant);
  const device = deviceId ? await ctx.data.require('device', deviceId) : undefined;
  if (device && tenant && device.tenant?.id !== selected[0]!.id) {
    throw new AppError('INVALID_ARGUMENTS', `Device '${deviceId}' belongs to tenant '${device.tenant?.slug}', not '${tenant}'; drop one of the two filters.`, 'filter_mismatch');
  }
  return { selected, device };
}
