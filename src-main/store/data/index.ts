// What tools get instead of a database: a reader (or, for writing tools inside their transaction, a writer) bound to
// the calling key's tenants. Read-only tools get a reader over a handle that refuses writing statements.
import type { Tenant } from '../../auth/keys.ts';
import type { Sql } from '../sql.ts';
import type { CommandSigner } from '../store.ts';
import type { SecretVault, Secrets } from '../vault.ts';
import { Scope, type ScopedKind, type ScopedRow } from './scope.ts';
import { Devices } from './devices.ts';
import { Alerts } from './alerts.ts';
import { Patches } from './patches.ts';
import { Scripts } from './scripts.ts';
import { Windows } from './windows.ts';
import { Commands } from './commands.ts';
import { Documents } from './documents.ts';
import { Reports } from './reports.ts';
import { Fleet } from './fleet.ts';

export { Scope, singleTenant, type ScopedKind, type ScopedRow } from './scope.ts';

/** Who a reader or writer acts for: stamped on what it writes (key id, the approval that allowed it, the call's time). */
export interface Actor {
  keyId: string;
  approvalId: string | null;
  now: Date;
  /** Secret parameter values of this call: put back only into the payload a command is signed over. */
  secrets?: Secrets;
}

export interface TenantReader {
  readonly scope: Scope;
  require<K extends ScopedKind>(kind: K, id: string): Promise<ScopedRow<K>>;
  readonly devices: Pick<Devices, 'list' | 'details' | 'hostnames' | 'agentOf'>;
  readonly alerts: Pick<Alerts, 'list' | 'status'>;
  readonly patches: Pick<Patches, 'status' | 'resolveRefs' | 'stateOn'>;
  readonly scripts: Scripts;
  readonly windows: Windows;
  readonly commands: Pick<Commands, 'execution' | 'counts' | 'results' | 'executionsOfApproval'>;
  readonly documents: Pick<Documents, 'list'>;
  readonly reports: Pick<Reports, 'get'>;
  readonly fleet: Fleet;
}

export interface TenantWriter extends TenantReader {
  readonly alerts: Alerts;
  readonly patches: Patches;
  readonly commands: Commands;
  readonly documents: Documents;
  readonly reports: Reports;
}

function build(sql: Sql, tenants: readonly Tenant[], who: Actor, signing?: { signer: CommandSigner; vault: SecretVault }): TenantWriter {
  const scope = new Scope(tenants);
  // Each part is made when a tool first reaches for it: most calls use one or two, and the gate builds a reader per call.
  let devices: Devices | undefined, alerts: Alerts | undefined, patches: Patches | undefined, scripts: Scripts | undefined, windows: Windows | undefined;
  let commands: Commands | undefined, documents: Documents | undefined, reports: Reports | undefined, fleet: Fleet | undefined;
  return {
    scope,
    require: (kind, id) => scope.require(sql, kind, id),
    get devices() { return (devices ??= new Devices(sql, scope)); },
    get alerts() { return (alerts ??= new Alerts(sql, scope)); },
    get patches() { return (patches ??= new Patches(sql, scope)); },
    get scripts() { return (scripts ??= new Scripts(sql, scope)); },
    get windows() { return (windows ??= new Windows(sql, scope)); },
    get commands() { return (commands ??= new Commands(sql, scope, who, signing)); },
    get documents() { return (documents ??= new Documents(sql, scope)); },
    get reports() { return (reports ??= new Reports(sql, scope)); },
    get fleet() { return (fleet ??= new Fleet(sql, scope)); },
  };
}

/** A reader over `sql`: give it the store's read-only handle for read-only tools. */
export function tenantReader(sql: Sql, tenants: readonly Tenant[], who: Actor): TenantReader {
  return build(sql, tenants, who);
}

/** A writer inside one transaction (`tx.sql`), signing the commands it queues. */
export function tenantWriter(sql: Sql, signing: { signer: CommandSigner; vault: SecretVault }, tenants: readonly Tenant[], who: Actor): TenantWriter {
  return build(sql, tenants, who, signing);
}
