// The one typed console contract: every method the console pages call, with zod schemas for its input and output,
// and the events the main process pushes. Pure: it imports only zod and the pure error model, so the renderer (web and
// Electron) imports it too.
// Transports: the web console API (src-main/http/consoleApi.ts, POST /console/api/rpc/<method>, SSE /console/api/events)
// and the Electron IPC adapter (src-main/electron/). Both call the same service (src-main/console/service.ts).
import { z } from 'zod';
import { AppError, type Reply } from '../errors.ts';

export { AppError, unwrapReply, type ErrorCode, type ErrorShape, type Reply } from '../errors.ts';
// The hidden-character scanner the gate uses, so a card escapes exactly what the server flagged.
export { visibleSegments, isInvisibleKind, HIDDEN_KINDS, type Segment, type HiddenKind } from '../hiddenChars.ts';
import { HIDDEN_KINDS } from '../hiddenChars.ts';
import { teamMethods } from './teamContract.ts';
export * from './teamContract.ts';

// Enumerations mirrored from the core (which imports node modules); test/console/contract.test.ts keeps them equal.
export const APPROVAL_STATUSES = ['pending', 'approved', 'running', 'completed', 'failed', 'denied', 'expired', 'cancelled'] as const;
export const SCOPES = ['ai:read', 'ai:write', 'ai:execute'] as const;
export const ROLES = ['admin', 'standard'] as const;
export const AUDIT_EVENTS = ['auth', 'http', 'session', 'tool_call', 'approval', 'execution', 'key', 'policy', 'console', 'system'] as const;
export const AUDIT_DECISIONS = ['allowed', 'denied', 'pending', 'throttled', 'approved', 'rejected', 'expired', 'cancelled', 'completed', 'failed', 'info'] as const;
export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const PATCH_SEVERITIES = ['critical', 'important', 'moderate', 'low'] as const;
export const OS_NAMES = ['windows', 'macos', 'linux'] as const;
export const POLICY_NAMES = [
  'requireExecuteAdmin', 'executeAllowlist', 'defaultReadPerMinute', 'defaultWritePerMinute',
  'approvalTtlMinutes', 'approvalWaitSeconds', 'approvalProgressSeconds', 'bulkDeviceThreshold', 'bulkWindowMinutes', 'httpRequestsPerSecond',
  'auditCheckpointEveryEntries', 'auditCheckpointEveryMinutes', 'requireTicketTenants',
] as const;
export const PSA_SYSTEMS = ['connectwise', 'halopsa', 'autotask', 'other'] as const;
export const PATCH_SEVERITY_ORDER = ['low', 'moderate', 'important', 'critical'] as const;
export const GRANT_STATES = ['live', 'expired', 'used_up', 'revoked', 'suspended', 'tampered'] as const;
export const PLAN_STATES = ['active', 'completed', 'stopped', 'expired', 'tampered'] as const;
/** Approvals decided faster than this are flagged as possible rubber-stamping; this many in a row are a streak. */
export const FAST_DECISION_MS = 2000;
export const FAST_STREAK = 3;


const int = z.number().int();
const count = int.min(0);
const text = z.string();
const iso = z.string().min(1).describe('ISO-8601 UTC timestamp');
const nstr = z.string().nullable();
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'not an id');
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'not a tenant slug');
const isoInput = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date-time').transform((s) => new Date(s).toISOString());
const noInput = z.strictObject({}).optional();

// ---- shared shapes ----

export const TenantRef = z.object({ id: text, slug: text, name: text });
export const ToolInfo = z.object({
  name: text, title: text, baseTier: int, budget: z.enum(['read', 'write']),
  actions: z.array(z.object({ name: text, tier: int })),
});

export const DeviceView = z.object({
  id: text, hostname: text, os: text, osVersion: nstr, status: text, online: z.boolean(), isolated: z.boolean().nullable(),
  lastSeenAt: nstr, patchCount: count.nullable().describe('deploy_patches: patches to install on this device'),
  hostnameConflict: z.boolean().describe('another device of the tenant reports the same hostname'),
});
export const ScriptView = z.object({
  id: nstr, name: text, source: text, scope: text, language: text, sha256: text, body: text, lines: count, bytes: count,
});
export const PatchView = z.object({ id: text, externalId: text, title: text, os: text, severity: text, requiresReboot: z.boolean() });
const Occurrence = z.object({ name: text, schedule: text, start: iso, end: iso });
export const WindowView = z.object({
  fit: z.enum(['inside', 'scheduled_for_next_window', 'override', 'outside', 'no_window'])
    .describe('deploy_patches: what the call does; other tools: where now falls against the tenant\'s windows'),
  decidedBy: z.enum(['tool', 'tenant']),
  notBefore: nstr,
  current: Occurrence.nullable(),
  next: Occurrence.nullable(),
  windows: z.array(z.object({ name: text, schedule: text })),
});
export const HiddenFinding = z.object({ field: text, kind: z.enum(HIDDEN_KINDS), codePoint: text, name: text, index: count });
export const TicketView = z.object({ system: z.enum(PSA_SYSTEMS), id: text });

/** What a careful technician needs on the card, normalised from the tool's plan detail and the current fleet state. */
const CardView = z.object({
  script: ScriptView.nullable(),
  devices: z.array(DeviceView),
  deviceCount: count,
  onlineCount: count,
  patches: z.array(PatchView),
  rebootRequired: z.boolean().nullable(),
  window: WindowView,
  action: nstr,
  requestReason: nstr.describe('the reason the model gave (device_actions)'),
  parameters: z.record(z.string(), z.string()),
  timeoutSeconds: int.nullable(),
  warnings: z.array(text),
  bulkEscalated: z.boolean(),
  skipped: z.array(z.object({ hostname: text, externalId: text, reason: text })),
  ticket: TicketView.nullable().describe('the PSA ticket the call carries'),
  hiddenText: z.object({ count, findings: z.array(HiddenFinding).describe('the first 100') })
    .describe('invisible, bidirectional and look-alike characters: a card with any needs a second confirmation'),
});
/** One step of a plan card: the same facts its own card would show. */
export const PlanStepView = z.object({ index: int, tool: text, action: nstr, summary: text, args: z.record(z.string(), z.unknown()), view: CardView });
export const ApprovalView = CardView.extend({
  plan: z.object({ goal: text, expiresInMinutes: int, steps: z.array(PlanStepView) }).nullable().describe('propose_plan: every step'),
});

const deviceScope = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('set'), ids: z.array(z.string().min(1).max(64)).min(1).max(500) }),
  z.strictObject({ kind: z.literal('group'), groupId: z.string().min(1).max(64), name: z.string().max(200) }),
]);
/** A grant's bounds (the core's Envelope; test/console/contract.test.ts keeps them equal). */
export const GrantEnvelope = z.strictObject({
  devices: deviceScope,
  maxDevicesPerCall: int.min(1).max(500),
  script: z.strictObject({
    scriptId: z.string().min(1).max(64).nullable(), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'not a SHA-256'), language: z.string().min(1).max(40),
    parameters: z.string().regex(/^[0-9a-f]{64}$/, 'not a SHA-256'), maxTimeoutSeconds: int.min(1).max(86_400),
  }).optional(),
  patches: z.strictObject({ maxSeverity: z.enum(PATCH_SEVERITY_ORDER), maxCount: int.min(1).max(500), allowWindowOverride: z.boolean() }).optional(),
  version: z.string().min(1).max(40).optional(),
});
export const GrantOffer = z.object({
  card: GrantEnvelope.describe('the widest envelope this card allows'),
  group: z.object({ id: text, name: text, devices: count }).nullable().describe('the group every device on the card belongs to'),
  maxMinutes: int, maxUses: int,
});
export const GrantDraftInput = z.strictObject({
  envelope: GrantEnvelope,
  minutes: int.min(1).max(24 * 60).optional(),
  uses: int.min(1).max(1000).optional(),
}).refine((d) => d.minutes !== undefined || d.uses !== undefined, 'a grant needs minutes, uses, or both');
export const GrantView = z.object({
  id: text, keyId: text, keyName: nstr, tenantId: text, tenant: text, tool: text, action: nstr, envelope: GrantEnvelope, description: text,
  sourceApprovalId: nstr, createdAt: iso, createdBy: text, expiresAt: iso, maxUses: int.nullable(), uses: count, revokedAt: nstr, revokedBy: nstr,
  state: z.enum(GRANT_STATES), reason: nstr,
});
export const PlanView = z.object({
  id: text, approvalId: text, keyId: text, keyName: nstr, tenant: text, goal: text, stepCount: count, nextStep: count,
  steps: z.array(z.object({ index: int, tool: text, action: nstr, summary: text, arguments: z.record(z.string(), z.unknown()) })),
  state: z.enum(PLAN_STATES), createdAt: iso, expiresAt: iso, endedAt: nstr, endReason: nstr,
});
export const Approval = z.object({
  id: text, digest: text, keyId: text, keyName: nstr, tenantId: text, tenant: text, tool: text, action: nstr, tier: z.literal(3),
  args: z.record(z.string(), z.unknown()), summary: text, detail: z.record(z.string(), z.unknown()),
  status: z.enum(APPROVAL_STATUSES), reason: nstr.describe('the technician\'s denial reason'), client: nstr, sessionId: nstr,
  createdAt: iso, expiresAt: iso, decidedAt: nstr, decidedBy: nstr, finishedAt: nstr, result: z.unknown(),
  decisionCode: nstr.describe('why the gate itself ended it: POLICY_CHANGED, TAMPERED, PLAN_CHANGED, APPROVAL_EXPIRED'),
  integrity: z.enum(['verified', 'tampered']).describe('tampered: the stored request or plan no longer matches its binding; it cannot be approved'),
  view: ApprovalView,
  grantOffer: GrantOffer.nullable().describe('pending cards "Approve and allow similar…" can start a grant from'),
  decisionMs: int.nullable().describe('how long the card was on screen before the technician decided it'),
  fourEyes: z.object({ required: count, approvedBy: z.array(z.object({ name: text, at: iso })), needed: count }).optional()
    .describe('four-eyes: how many technicians must approve, who did, how many more are needed'),
});

const Budget = z.object({ limitPerMinute: count, remaining: count });
export const KeyView = z.object({
  id: text, name: text, prefix: text, scopes: z.array(z.enum(SCOPES)), role: z.enum(ROLES), tenants: z.array(TenantRef),
  readPerMinute: int.nullable(), writePerMinute: int.nullable(), createdAt: iso, expiresAt: nstr, revokedAt: nstr, lastUsedAt: nstr,
  callCount: count, state: z.enum(['active', 'revoked', 'expired']),
  budget: z.object({ read: Budget, write: Budget }).describe('current token-bucket budgets of this server process'),
});

export const AuditEntry = z.object({
  seq: int, at: iso, event: text, decision: text, code: nstr, rule: nstr, keyId: nstr, keyName: nstr, tenant: nstr, client: nstr,
  sessionId: nstr, tool: nstr, action: nstr, tier: int.nullable(), outcome: nstr, durationMs: z.number().nullable(), approvalId: nstr, remote: nstr,
});
export const AuditEntryDetail = AuditEntry.extend({ args: z.unknown(), detail: z.unknown(), prevHash: text, hash: text });

/** Bytes of a call's stored arguments the live feed shows; the whole arguments come from getAuditEntry. */
export const LIVE_ARGS_PREVIEW_BYTES = 240;
/**
 * One tools/call as the live feed shows it: a bounded summary of an audit entry of event tool_call, whatever the size of
 * its arguments. The entry itself (arguments whole, detail, chain) is loaded on demand with getAuditEntry.
 */
export const LiveCall = z.object({
  seq: int, at: iso, keyId: nstr, keyName: nstr, client: nstr, tenant: nstr, tool: nstr, action: nstr, tier: int.nullable(),
  decision: text, code: nstr, durationMs: z.number().nullable(),
  deviceCount: count.nullable().describe('devices the arguments name (deviceIds, or one deviceId); null when none'),
  argsPreview: z.string().max(LIVE_ARGS_PREVIEW_BYTES).nullable() // UTF-16 units ≤ bytes; the byte bound is the writer's
    .describe('the start of the stored arguments\' JSON, at most LIVE_ARGS_PREVIEW_BYTES bytes'),
  argsBytes: count.nullable().describe('size of the stored arguments\' JSON in UTF-8 bytes'),
  hash: text.describe('the entry\'s chain hash, which covers its stored arguments'),
  outcome: nstr.describe('result summary'),
  approvalId: nstr, remote: nstr, sessionId: nstr,
  grantId: nstr.describe('ran without a card under this grant'),
  planId: nstr.describe('ran without a card as a step of this approved plan'), planStep: int.nullable(),
});

export const PolicyValues = z.object({
  requireExecuteAdmin: z.boolean(),
  executeAllowlist: z.array(z.string().min(1).max(100)).max(100).nullable(),
  defaultReadPerMinute: int.min(1).max(100_000),
  defaultWritePerMinute: int.min(1).max(100_000),
  approvalTtlMinutes: int.min(1).max(7 * 24 * 60),
  approvalWaitSeconds: int.min(0).max(50),
  approvalProgressSeconds: int.min(1).max(30),
  bulkDeviceThreshold: int.min(1).max(10_000),
  bulkWindowMinutes: int.min(0).max(24 * 60),
  httpRequestsPerSecond: int.min(1).max(100_000),
  auditCheckpointEveryEntries: int.min(1).max(1_000_000),
  auditCheckpointEveryMinutes: int.min(1).max(24 * 60),
  requireTicketTenants: z.array(z.string().min(1).max(40)).max(500).describe('tenant slugs (or *) whose tier-3 calls must carry a PSA ticket'),
});
export const TierOverride = z.object({ id: text, tool: text, action: nstr, tenant: nstr, tier: int, baseTier: int, createdAt: iso });
export const PolicyView = z.object({
  values: PolicyValues,
  defaults: PolicyValues,
  pinned: z.record(z.string(), z.string()).describe('setting name → the environment variable that pins it (read-only)'),
  overrides: z.array(TierOverride),
  tools: z.array(ToolInfo),
  integrity: z.enum(['bound', 'tampered']).describe('tampered: the stored policy does not match its binding; the stricter values shown apply, and '
    + 'tier-2 changes are refused until an admin accepts them (acceptPolicy)'),
  shown: z.string().describe('a digest of the policy shown: acceptPolicy names it, and keeps nothing if the policy changed since'),
});

const SevCounts = <K extends string>(keys: readonly K[]) => z.object(Object.fromEntries(keys.map((k) => [k, count])) as Record<K, typeof count>);
export const FleetTenant = z.object({
  slug: text, name: text,
  devices: z.object({ total: count, online: count, offline: count, isolated: count }),
  byOs: z.array(z.object({ os: text, total: count, online: count, offline: count })),
  compliance: z.object({ compliant: count, nonCompliant: count, unknown: count }),
  activeAlerts: SevCounts(ALERT_SEVERITIES).extend({ total: count, acknowledged: count.describe('acknowledged, not resolved') }),
  pendingPatches: SevCounts(PATCH_SEVERITIES).extend({ total: count, devicesAffected: count, scheduled: count, rebootRequired: count })
    .describe('device-patch pairs missing or failed, by patch severity'),
  pendingCommands: count,
  maintenance: z.object({ windows: z.array(z.object({ name: text, schedule: text })), inside: z.boolean(), nextStart: nstr }),
});

export const AUDIT_EXPORT_FORMATS = ['jsonl', 'ocsf', 'syslog'] as const;
/** The web console's audit export download, under the console API's /console/api (src-main/http/exportDownload.ts). */
export const AUDIT_EXPORT_PATH = '/audit/export';
export const EXPORT_RUNNING = 'an audit export is already being made; try again when it is done';
export const EXPORT_IS_A_DOWNLOAD = `the web console downloads the audit export from GET /console/api${AUDIT_EXPORT_PATH}?format=F`;
/** The export's input: the exportAudit method's, and the download's query. */
export const ExportAuditInput = z.strictObject({ format: z.enum(AUDIT_EXPORT_FORMATS).default('jsonl') });
/** A signed checkpoint of the audit chain kept outside the database; `fingerprint` is what a technician copies into a ticket. */
export const CheckpointView = z.object({ n: int, headSeq: int, at: iso, fingerprint: text, keyFingerprint: text });
export const VerifyResult = z.object({
  ok: z.boolean(), count, headSeq: int.nullable(), headHash: nstr, badSeq: int.nullable(), reason: nstr, checkedAt: iso, ms: z.number(),
  case: nstr.describe('what the first inconsistency means: chain_broken, rewritten, truncated, file_missing, file_edited, file_truncated, key_swapped'),
  checkpoints: count.describe('signed checkpoints that agree with the log'),
  latestCheckpoint: CheckpointView.nullable(),
});

/** Agent enrollment tokens: only the prefix is ever shown again; the token itself once, at creation. */
export const TOKEN_STATES = ['active', 'expired', 'revoked', 'used_up'] as const;
export const EnrollmentTokenView = z.object({
  id: text, tenant: text, prefix: text, maxUses: count, uses: count, createdAt: iso, expiresAt: iso, revokedAt: nstr, state: z.enum(TOKEN_STATES),
});
export const AgentView = z.object({
  id: text, deviceId: text, hostname: text, tenant: text, os: text, osVersion: nstr, agentVersion: nstr, remote: nstr,
  online: z.boolean().describe('connected now (heartbeats arriving); never for a revoked agent'),
  enrolledAt: iso, lastConnectedAt: nstr, lastHeartbeatAt: nstr, revokedAt: nstr,
});

/** Deploying agents: published builds, the version each agent runs, one-line install commands. */
export const AgentBuildView = z.object({
  target: z.string(), os: z.enum(['linux', 'windows', 'macos']), version: z.string(), sha256: z.string(), size: z.number().int(), signed: z.boolean(),
  url: nstr.describe('download over the agent listener (self-signed: pin its certificate); null while the listener is not running'),
});
export const AgentVersionView = z.object({
  id: z.string(), deviceId: z.string(), hostname: z.string(), tenant: z.string(), version: nstr, target: nstr, latest: nstr,
  upgradeAvailable: z.boolean(),
});
export const InstallCommand = z.object({ target: z.string(), os: z.enum(['linux', 'windows', 'macos']), shell: z.enum(['sh', 'powershell']), line: z.string() });

// ---- policy simulation ----

const Outcomes = z.object({ ran: count, card: count, denied: count });
export const DraftOverride = z.strictObject({
  tool: z.string().min(1).max(100), action: z.string().min(1).max(100).nullable().optional(), tenant: slug.nullable().optional(),
  tier: z.union([z.literal(2), z.literal(3), z.literal(4)]),
});
export const SimulationInput = z.strictObject({
  days: int.min(1).max(90).default(7),
  draft: z.strictObject({
    values: PolicyValues.partial().strict().optional().describe('settings to change; the rest as in force'),
    overrides: z.array(DraftOverride).max(500).optional().describe('the tier overrides in full; default: those in force'),
    grants: z.enum(['recorded', 'none']).default('recorded').describe('every grant made (each over its own lifetime), or none'),
  }),
});
export const SimulationReport = z.object({
  from: iso, to: iso, entries: count, ms: z.number(),
  counted: count.describe('refusals the audit log counted during a flood instead of storing them one by one: their arguments are unknown, so they are not replayed'),
  before: Outcomes, after: Outcomes,
  changes: z.array(z.object({ from: text, to: text, count })),
  byTool: z.array(z.object({ tool: text, before: Outcomes, after: Outcomes })),
  byKey: z.array(z.object({ keyId: nstr, keyName: nstr, before: Outcomes, after: Outcomes })),
  examples: z.array(z.object({ seq: int, at: iso, tool: text, action: nstr, keyName: nstr, tenant: nstr, from: text, to: text, reason: text })),
  grants: z.array(z.object({ id: text, description: text, covered: count })),
});

// ---- methods ----

const ApprovalsInput = z.strictObject({
  status: z.array(z.enum(APPROVAL_STATUSES)).min(1).max(APPROVAL_STATUSES.length).optional().describe('default: every status'),
  limit: int.min(1).max(500).default(50),
  before: z.union([isoInput, z.string().regex(/^\d{4}-\d\d-\d\dT[\d:.]+Z\/[0-9a-f-]{36}$/, 'not a page cursor')]).optional()
    .describe('page: nextBefore of the previous page, or an ISO time (requests created before it)'),
});
const ById = z.strictObject({ id: uuid });
const AuditQuery = z.strictObject({
  from: isoInput.optional(),
  to: isoInput.optional(),
  keyId: uuid.optional(),
  tenant: slug.optional(),
  tool: z.string().min(1).max(100).optional(),
  event: z.array(z.enum(AUDIT_EVENTS)).min(1).optional(),
  decision: z.array(z.enum(AUDIT_DECISIONS)).min(1).optional(),
  code: z.string().min(1).max(100).optional(),
  outcome: z.string().trim().min(1).max(200).optional().describe('substring of the outcome'),
  q: z.string().trim().min(1).max(200).optional().describe('free text over tool, action, key, tenant, client, code, outcome, arguments, detail, ids'),
  beforeSeq: int.min(1).optional(),
  limit: int.min(1).max(500).default(100),
});

export const IntegrityView = z.object({
  state: z.enum(['checking', 'ok', 'damaged', 'unchecked']).describe('the database integrity check run after start (damaged: restore from a backup)'),
  detail: nstr, checkedAt: nstr,
});

export const consoleMethods = {
  session: {
    input: noInput,
    output: z.object({
      mode: z.enum(['web', 'desktop']), expiresAt: nstr, mcpBaseUrl: nstr.describe('http://127.0.0.1:PORT of the MCP server, for connection snippets'),
      version: text, serverTime: iso, pendingApprovals: count,
      update: z.object({ version: text }).nullish().describe('desktop only: a newer version found by the update check'),
      integrity: IntegrityView,
      policy: z.enum(['bound', 'tampered']).describe('tampered: the stored governance policy fails its binding (see getPolicy)'),
      technician: z.object({
        name: text, role: text,
        everyTenant: z.boolean().optional().describe('false: the account acts on some tenants only (whole-log work such as the export is not for it)'),
      }).nullish().describe('team mode: the signed-in technician account'),
    }),
  },
  lookups: {
    input: noInput,
    output: z.object({ tenants: z.array(TenantRef), tools: z.array(ToolInfo), keys: z.array(z.object({ id: text, name: text, prefix: text, state: text })) }),
  },
  listApprovals: {
    input: ApprovalsInput,
    output: z.object({ approvals: z.array(Approval), pendingCount: count, nextBefore: nstr }),
  },
  getApproval: { input: ById, output: z.object({ approval: Approval }) },
  approve: {
    input: z.strictObject({
      id: uuid,
      viewedMs: int.min(0).max(86_400_000).optional().describe('how long the card was on screen before this decision'),
      confirmHiddenText: z.boolean().optional().describe('the second confirmation a card with hidden or look-alike characters needs'),
      grant: GrantDraftInput.optional().describe('"Approve and allow similar": a grant made from this card, no wider than it'),
    }),
    output: z.object({ approval: Approval, grant: GrantView.nullish() }),
  },
  deny: {
    input: z.strictObject({
      id: uuid, reason: z.string().trim().min(1, 'a reason is required: it goes back to the model').max(2000), viewedMs: int.min(0).max(86_400_000).optional(),
    }),
    output: z.object({ approval: Approval }),
  },
  listGrants: {
    input: z.strictObject({ live: z.boolean().default(false) }).optional(),
    output: z.object({ grants: z.array(GrantView), plans: z.array(PlanView) }),
  },
  revokeGrant: { input: ById, output: z.object({ grant: GrantView }) },
  stopPlan: { input: ById, output: z.object({ plan: PlanView }) },
  decisionStats: {
    input: z.strictObject({ days: int.min(1).max(90).default(14) }).optional(),
    output: z.object({
      fastMs: int, streakLength: int,
      days: z.array(z.object({ date: text, approved: count, denied: count, medianMs: z.number().nullable(), fast: count })),
      fast: z.array(z.object({ approvalId: text, tool: text, action: nstr, tenant: text, decidedAt: iso, decidedBy: text, viewedMs: count, streak: z.boolean() })),
      streaks: z.array(z.object({ from: iso, to: iso, count, decidedBy: text })),
    }),
  },
  simulatePolicy: {
    input: SimulationInput,
    output: SimulationReport,
  },
  listKeys: { input: noInput, output: z.object({ keys: z.array(KeyView) }) },
  createKey: {
    input: z.strictObject({
      name: z.string().trim().min(1).max(100),
      scopes: z.array(z.enum(SCOPES)).min(1).max(3),
      tenants: z.array(slug).min(1, 'a key needs at least one tenant').max(500),
      role: z.enum(ROLES).default('standard'),
      expiresDays: int.min(1).max(3650).optional(),
      readPerMinute: int.min(1).max(100_000).optional(),
      writePerMinute: int.min(1).max(100_000).optional(),
    }),
    output: z.object({ key: KeyView, secret: z.string().describe('shown once; only its HMAC is stored') }),
  },
  revokeKey: { input: ById, output: z.object({ key: KeyView }) },
  queryAudit: {
    input: AuditQuery,
    output: z.object({ entries: z.array(AuditEntry), total: count, nextBeforeSeq: int.nullable() }),
  },
  getAuditEntry: { input: z.strictObject({ seq: int.min(1) }), output: z.object({ entry: AuditEntryDetail }) },
  verifyAudit: { input: noInput, output: VerifyResult },
  auditCheckpoint: { input: noInput, output: z.object({ checkpoint: CheckpointView.nullable() }) },
  // Desktop: the export written where the save dialog says (savedTo null: cancelled). The web console downloads it
  // from GET /console/api/audit/export?format=F instead (streamed; this method is refused there).
  exportAudit: {
    input: ExportAuditInput.optional(),
    output: z.object({
      fileName: text, savedTo: text.nullable(),
      checkpoint: z.object({ count, headSeq: int, headHash: text, exportedAt: iso, keyFingerprint: text }).nullable(),
    }),
  },
  getPolicy: { input: noInput, output: PolicyView },
  updatePolicy: {
    input: PolicyValues.partial().strict().refine((p) => Object.keys(p).length > 0, 'nothing to update'),
    output: PolicyView,
  },
  acceptPolicy: { input: z.strictObject({ shown: z.string().regex(/^[0-9a-f]{64}$/, 'the policy view\'s `shown`') }), output: PolicyView },
  listTierOverrides: { input: noInput, output: z.object({ overrides: z.array(TierOverride) }) },
  setTierOverride: {
    input: z.strictObject({
      tool: z.string().min(1).max(100), action: z.string().min(1).max(100).nullable().optional(), tenant: slug.nullable().optional(),
      tier: z.union([z.literal(2), z.literal(3), z.literal(4)]),
    }),
    output: PolicyView,
  },
  removeTierOverride: { input: z.strictObject({ id: z.string().regex(/^[0-9a-f]{32}$/, 'not an override id') }), output: PolicyView },
  fleet: {
    input: noInput,
    output: z.object({ tenants: z.array(FleetTenant), generatedAt: iso }),
  },
  liveCalls: {
    input: z.strictObject({
      limit: int.min(1).max(500).default(200),
      afterSeq: int.min(0).optional().describe('only calls after this audit seq'),
      keyId: uuid.optional(),
      tenant: slug.optional(),
      decision: z.array(z.enum(AUDIT_DECISIONS)).min(1).optional(),
    }),
    output: z.object({ calls: z.array(LiveCall).describe('newest first'), headSeq: int }),
  },
  listEnrollmentTokens: {
    input: noInput,
    output: z.object({ tokens: z.array(EnrollmentTokenView), agentUrl: nstr.describe('https://HOST:PORT of the agent listener, null while it is not running') }),
  },
  createEnrollmentToken: {
    input: z.strictObject({ tenant: slug, uses: int.min(1).max(10_000).optional(), expiresHours: z.number().min(0.001).max(24 * 365).optional() }),
    output: z.object({
      token: EnrollmentTokenView, secret: z.string().describe('shown once; only its HMAC is stored'), agentUrl: nstr, certSha256: text,
      command: text.describe('ready-to-paste `countersign agent enroll …` for the managed machine'), runCommand: text,
    }),
  },
  revokeEnrollmentToken: { input: ById, output: z.object({ token: EnrollmentTokenView }) },
  listAgents: { input: noInput, output: z.object({ agents: z.array(AgentView), agentUrl: nstr }) },
  revokeAgent: { input: ById, output: z.object({ agent: AgentView }) },

  agentDeployment: {
    input: noInput,
    output: z.object({
      agentUrl: nstr, certSha256: z.string(), builds: z.array(AgentBuildView).describe('newest version first'), agents: z.array(AgentVersionView),
    }),
  },
  agentInstallCommands: {
    input: z.strictObject({ tenant: slug, uses: z.number().int().min(1).max(10_000).optional(), expiresHours: z.number().min(0.001).max(24 * 365).optional() }),
    output: z.object({
      tokenId: z.string(), tokenPrefix: z.string(), expiresAt: z.string(), maxUses: z.number().int(), version: nstr,
      commands: z.array(InstallCommand).describe('one per published target of the newest version; empty when nothing is published'),
    }),
  },
  ...teamMethods,
} as const;

export type ConsoleMethodName = keyof typeof consoleMethods;
export const CONSOLE_METHOD_NAMES = Object.keys(consoleMethods) as ConsoleMethodName[];
export const isConsoleMethod = (name: string): name is ConsoleMethodName => Object.hasOwn(consoleMethods, name);
export type ConsoleInput<K extends ConsoleMethodName> = z.input<(typeof consoleMethods)[K]['input']>;
export type ConsoleOutput<K extends ConsoleMethodName> = z.output<(typeof consoleMethods)[K]['output']>;

/** The console API as both transports present it: one async function per method, input optional where it may be omitted. */
export type ConsoleApi = {
  [K in ConsoleMethodName]: undefined extends ConsoleInput<K>
    ? (input?: ConsoleInput<K>) => Promise<ConsoleOutput<K>>
    : (input: ConsoleInput<K>) => Promise<ConsoleOutput<K>>;
};

// ---- push events ----

export const ConsoleEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('call'), call: LiveCall }),
  z.object({ type: z.literal('approval.created'), approval: Approval }),
  z.object({ type: z.literal('approval.decided'), approval: Approval }),
  z.object({ type: z.literal('key.changed'), keyId: nstr, change: text }),
  z.object({ type: z.literal('policy.changed'), change: text }),
  z.object({ type: z.literal('update.available'), version: text }),
  z.object({ type: z.literal('integrity.checked'), integrity: IntegrityView }),
]);
export type ConsoleEvent = z.infer<typeof ConsoleEvent>;

/**
 * What the Electron preload exposes as window.countersign: every contract method, answering a Reply (Electron keeps
 * only an exception's message, so refusals travel as values), plus the event subscription.
 */
export type ConsoleBridge = { [K in ConsoleMethodName]: (input?: ConsoleInput<K>) => Promise<Reply<ConsoleOutput<K>>> } & { onEvent(listener: (e: ConsoleEvent) => void): () => void };

export type ApprovalT = z.infer<typeof Approval>;
export type KeyViewT = z.infer<typeof KeyView>;
export type AuditEntryT = z.infer<typeof AuditEntry>;
export type AuditEntryDetailT = z.infer<typeof AuditEntryDetail>;
export type LiveCallT = z.infer<typeof LiveCall>;
export type PolicyViewT = z.infer<typeof PolicyView>;
export type PolicyValuesT = z.infer<typeof PolicyValues>;
export type FleetTenantT = z.infer<typeof FleetTenant>;
export type ToolInfoT = z.infer<typeof ToolInfo>;
export type TenantRefT = z.infer<typeof TenantRef>;
export type EnrollmentTokenViewT = z.infer<typeof EnrollmentTokenView>;
export type AgentViewT = z.infer<typeof AgentView>;
export type AgentBuildViewT = z.infer<typeof AgentBuildView>;
export type AgentVersionViewT = z.infer<typeof AgentVersionView>;
export type InstallCommandT = z.infer<typeof InstallCommand>;
export type GrantViewT = z.infer<typeof GrantView>;
export type GrantOfferT = z.infer<typeof GrantOffer>;
export type GrantEnvelopeT = z.infer<typeof GrantEnvelope>;
export type PlanViewT = z.infer<typeof PlanView>;
export type HiddenFindingT = z.infer<typeof HiddenFinding>;
export type SimulationReportT = z.infer<typeof SimulationReport>;

/** Parses a method's input with its schema; a failure becomes a BAD_INPUT AppError naming each field. */
export function parseConsoleInput<K extends ConsoleMethodName>(method: K, input: unknown): z.output<(typeof consoleMethods)[K]['input']> {
  const r = consoleMethods[method].input.safeParse(input);
  if (!r.success) {
    throw new AppError('BAD_INPUT', r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
  }
  return r.data as z.output<(typeof consoleMethods)[K]['input']>;
}
