// Append-only list: never edit a shipped migration, add the next number.
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

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'fleet', sql: fleet },
  { version: 2, name: 'work', sql: work },
  { version: 3, name: 'governance', sql: governance },
  { version: 4, name: 'agents', sql: agents },
  { version: 5, name: 'audit-checkpoints', sql: auditCheckpoints },
  { version: 6, name: 'device-hostname-conflicts', sql: hostnameConflicts },
  { version: 7, name: 'secret-parameters', sql: secretParameters },
  { version: 8, name: 'approval-binding', sql: approvalBinding },
  { version: 9, name: 'standing-approvals', sql: standingApprovals },
  { version: 10, name: 'device-search', sql: deviceSearch },
  { version: 11, name: 'team', sql: team },
  { version: 12, name: 'agent-box-keys', sql: agentBoxKeys },
  { version: 13, name: 'passkeys', sql: passkeys },
  { version: 14, name: 'audit-without-time-index', sql: auditWithoutTimeIndex },
  { version: 15, name: 'device-list', sql: deviceList },
  { version: 16, name: 'credential-binding', sql: credentialBinding },
  { version: 17, name: 'open-commands-index', sql: openCommandsIndex },
  { version: 18, name: 'api-key-binding', sql: apiKeyBinding },
  { version: 19, name: 'policy-binding', sql: policyBinding },
  { version: 20, name: 'audit-without-key-index', sql: auditWithoutKeyIndex },
  { version: 21, name: 'audit-facets', sql: auditFacets },
  { version: 22, name: 'audit-block-times', sql: auditBlockTimes },
  { version: 23, name: 'key-usage-from-log', sql: keyUsageFromLog },
];
