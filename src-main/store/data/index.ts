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

// Each part is made when a tool first reaches for it: most calls use one or two, and the gate builds a reader per
// call. A class, so its getters live on one shared prototype (an object literal of getters is built afresh each time).
class TenantData implements TenantWriter {
  readonly scope: Scope;
  private readonly sql: Sql;
  private readonly who: Actor;
  private readonly signing: { signer: CommandSigner; vault: SecretVault } | undefined;
  private parts: {
    devices?: Devices; alerts?: Alerts; patches?: Patches; scripts?: Scripts; windows?: Windows;
    commands?: Commands; documents?: Documents; reports?: Reports; fleet?: Fleet;
  } = {};

  constructor(sql: Sql, tenants: readonly Tenant[], who: Actor, signing?: { signer: CommandSigner; vault: SecretVault }) {
    this.sql = sql;
    this.scope = new Scope(tenants);
    this.who = who;
    this.signing = signing;
  }

  require<K extends ScopedKind>(kind: K, id: string): Promise<ScopedRow<K>> {
    return this.scope.require(this.sql, kind, id);
  }

  get devices(): Devices { return (this.parts.devices ??= new Devices(this.sql, this.scope)); }
  get alerts(): Alerts { return (this.parts.alerts ??= new Alerts(this.sql, this.scope)); }
  get patches(): Patches { return (this.parts.patches ??= new Patches(this.sql, this.scope)); }
  get scripts(): Scripts { return (this.parts.scripts ??= new Scripts(this.sql, this.scope)); }
  get windows(): Windows { return (this.parts.windows ??= new Windows(this.sql, this.scope)); }
  get commands(): Commands { return (this.parts.commands ??= new Commands(this.sql, this.scope, this.who, this.signing)); }
  get documents(): Documents { return (this.parts.documents ??= new Documents(this.sql, this.scope)); }
  get reports(): Reports { return (this.parts.reports ??= new Reports(this.sql, this.scope)); }
  get fleet(): Fleet { return (this.parts.fleet ??= new Fleet(this.sql, this.scope)); }
}

/** A reader over `sql`: give it the store's read-only handle for read-only tools. */
export function tenantReader(sql: Sql, tenants: readonly Tenant[], who: Actor): TenantReader {
  return new TenantData(sql, tenants, who);
}

/** A writer inside one transaction (`tx.sql`), signing the commands it queues. */
export function tenantWriter(sql: Sql, signing: { signer: CommandSigner; vault: SecretVault }, tenants: readonly Tenant[], who: Actor): TenantWriter {
  return new TenantData(sql, tenants, who, signing);
}
