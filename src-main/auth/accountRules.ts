// Who may change which technician account, one rule set for every door (the console, the CLI). The CLI (an actor given
// as a plain name) runs with the data directory's rights and is bound only by the last-owner rule; a signed-in
// technician must be an owner or an admin, and an admin can neither make an owner nor touch one.
import { AppError } from '../errors.ts';
import type { Technician, TechnicianRole } from './technicians.ts';

/** Who makes an account change: a signed-in technician, or the name of a local door holding the data directory ('cli'). */
export type AccountActor = string | Pick<Technician, 'id' | 'name' | 'role'>;

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

/** Throws when a change would leave the install without an enabled owner while it had one. */
export function assertOwnerRemains(ownersBefore: number, ownersAfter: number, name: string): void {
  if (ownersBefore > 0 && ownersAfter === 0) throw new AppError('CONFLICT', `${name} is the last enabled owner: make another owner first`);
}
