// PostgreSQL's migrations: numbered exactly as SQLite's (store/migrations), one for one. Append-only, as theirs.
import { MIGRATIONS as SQLITE } from '../../migrations/index.ts';
import type { Migration } from '../../migrations/index.ts';
import { sql as fleet } from './0001-fleet.ts';
import { sql as work } from './0002-work.ts';
import { sql as governance } from './0003-governance.ts';
import { sql as agents } from './0004-agents.ts';
import { sql as auditCheckpoints } from './0005-audit-checkpoints.ts';
import { sql as hostnameConflicts } from './0006-device-hostname-conflicts.ts';
import { sql as secretParameters } from './0007-secret-parameters.ts';
import { sql as approvalBinding } from './0008-approval-binding.ts';
import { sql as standingApprovals } from './0009-standing-approvals.ts';
import { sql as deviceSearch } from './0010-device-search.ts';
import { sql as team } from './0011-team.ts';
import { sql as agentBoxKeys } from './0012-agent-box-keys.ts';
import { sql as passkeys } from './0013-passkeys.ts';
import { sql as auditWithoutTimeIndex } from './0014-audit-without-time-index.ts';
import { sql as deviceList } from './0015-device-list.ts';
import { sql as credentialBinding } from './0016-credential-binding.ts';
import { sql as openCommandsIndex } from './0017-open-commands-index.ts';
import { sql as apiKeyBinding } from './0018-api-key-binding.ts';
import { sql as policyBinding } from './0019-policy-binding.ts';
import { sql as auditWithoutKeyIndex } from './0020-audit-without-key-index.ts';
import { sql as auditFacets } from './0021-audit-facets.ts';
import { sql as auditBlockTimes } from './0022-audit-block-times.ts';
import { sql as keyUsageFromLog } from './0023-key-usage-from-log.ts';

const BODIES: readonly string[] = [fleet, work, governance, agents, auditCheckpoints, hostnameConflicts, secretParameters, approvalBinding, standingApprovals, deviceSearch, team, agentBoxKeys, passkeys, auditWithoutTimeIndex, deviceList, credentialBinding, openCommandsIndex, apiKeyBinding, policyBinding, auditWithoutKeyIndex, auditFacets, auditBlockTimes, keyUsageFromLog];

/** Same version and name as the SQLite migration of that number; a dialect without its twin fails at start, not later. */
export const PG_MIGRATIONS: readonly Migration[] = SQLITE.map((m, i) => {
  const sql = BODIES[i];
  if (sql === undefined) throw new Error(`migration ${m.version} (${m.name}) has no PostgreSQL twin in store/pg/migrations`);
  return { version: m.version, name: m.name, sql };
});
if (BODIES.length !== SQLITE.length) throw new Error('store/pg/migrations has a migration SQLite does not');
