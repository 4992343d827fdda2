// Who may change which technician account, one rule set for every door (the console, the CLI). The CLI (an actor given
// as a plain name) runs with the data directory's rights and is bound only by the last-owner rule; a signed-in
// technician must be an owner or an admin, and an admin can neither make an owner nor touch one.
import { AppError } from '../errors.ts';
import type { Technician, TechnicianRole } from './technicians.ts';

/** Who makes an account change: a signed-in technician, or the name of a local door holding the data directory ('cli'). */
export type AccountActor = string | Pick<Technician, 'id' | 'name' | 'role' | 'tenants'>;

export const actorName = (a: AccountActor): string => (typeof a === 'string' ? a : a.name);

/** May manage accounts at all: owners and admins. */
export const managesAccounts = (r: TechnicianRole): boolean => r === 'owner' || r === 'admin';

const refuse = (by: Pick<Technician, 'name' | 'role'>, what: string) => new AppError('FORBIDDEN', `${by.name} (${by.role}) may not ${what}`, 'technician_role');

/**
 * Throws unless `actor` may make this change. `target`: the account as it is (undefined when creating); `role`: the
 * role it will have (when set or created).
 */
export function assertMayChange(actor: AccountActor, target: Pick<Technician, 'name' | 'role'> | undefined, role: TechnicianRole | undefined, what: string): void {
  if (typeof actor === 'string') return;
  if (!managesAccounts(actor.role)) throw refuse(actor, what);
  if (actor.role === 'owner') return;
  if (target?.role === 'owner') throw refuse(actor, `${what}: ${target.name} is an owner`);
  if (role === 'owner') throw refuse(actor, `${what}: only an owner may make an owner`);
}

/**
 * Throws unless an actor limited to some tenants stays within them: it changes only accounts that act on its tenants
 * alone (another is not found: it does not see it), and gives only its own tenants, never every tenant. Otherwise an
 * admin of one tenant could widen itself, or make an account of every tenant, and reach what its scope hides.
 */
export function assertWithinTenants(actor: AccountActor, target: Pick<Technician, 'id' | 'tenants'> | undefined, next: 'all' | readonly string[] | undefined): void {
  if (typeof actor === 'string' || actor.tenants === 'all') return;
  const slugs = new Set(actor.tenants.map((t) => t.slug));
  if (target && !actsWithin(actor.tenants, target)) throw new AppError('NOT_FOUND', `no technician ${target.id}`);
  if (next === 'all') throw new AppError('FORBIDDEN', `${actor.name} acts on some tenants only; an account of every tenant is not theirs to give`, 'technician_tenants');
  const stranger = next?.find((s) => !slugs.has(s));
  if (stranger !== undefined) throw new AppError('BAD_INPUT', `tenants: unknown tenant ${stranger}`);
}

/** Whether an actor limited to some tenants sees this account (one acting on its tenants alone); others see all. */
export function seesAccount(actor: AccountActor, t: Pick<Technician, 'id' | 'tenants'>): boolean {
  if (typeof actor === 'string' || actor.tenants === 'all') return true;
  return t.id === actor.id || actsWithin(actor.tenants, t);
}

/**
 * Whether an account acts on these tenants alone. One of no tenant is a tampered row (read as a viewer of none): not
 * one a limited actor may see or touch.
 */
function actsWithin(tenants: readonly { id: string }[], t: Pick<Technician, 'tenants'>): boolean {
  const ids = new Set(tenants.map((x) => x.id));
  return t.tenants !== 'all' && t.tenants.length > 0 && t.tenants.every((x) => ids.has(x.id));
}

/** Throws when a change would leave the install without an enabled owner while it had one. */
export function assertOwnerRemains(ownersBefore: number, ownersAfter: number, name: string): void {
  if (ownersBefore > 0 && ownersAfter === 0) throw new AppError('CONFLICT', `${name} is the last enabled owner: make another owner first`);
}
