import type { z } from 'zod';
import type { Db } from '../store/db.ts';
import type { ApiKey, Tenant } from '../auth/keys.ts';
import type { Tier } from '../governance/tiers.ts';

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Everything a tool may touch. Tools never see other tenants: `scope` checks every id. */
export interface ToolContext {
  db: Db;
  key: ApiKey;
  scope: TenantScope;
  now: Date;
  services: ToolServices;
  /** Set when the call runs because a technician approved it. */
  approvalId?: string;
  /** Values of secret parameters (never stored in clear): put back only into signed commands (see secretParams.ts). */
  secrets?: Record<string, string>;
}

/** Long-running or cross-cutting services tools hand work to (report jobs, policy values). */
export interface ToolServices {
  /** Where report files are written (inside the data directory). */
  dataDir: string;
  /** Hands a queued report to the background job runner (after the current transaction commits). */
  startReport(reportId: string): void;
  bulkDeviceThreshold(): number;
}

/** The governance plan of one call: which tenant it acts on, its effective tier inputs, and what a human must see. */
export interface ToolPlan {
  tenant: Tenant | null;
  action?: string;
  /** Tier raised by the arguments (bulk size, action); the pipeline also applies the base tier and overrides. */
  argTier?: Tier;
  summary: string;
  /** Facts for the approval card: targets, script body and hash, patches, window fit. */
  detail: Record<string, unknown>;
}

export interface ToolSpec<S extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: S;
  output: O;
  baseTier: Tier;
  /** Which rate-limit budget a call spends. */
  budget: 'read' | 'write';
  annotations: ToolAnnotations;
  /** For multiplexed tools: the enum field whose values carry their own tiers (trimmed from tools/list per key). */
  actionField?: string;
  actionTiers?: Record<string, Tier>;
  /**
   * Arguments as they may be stored (audit, approval row, digest): secret values masked, and the values apart. Works on
   * unvalidated arguments too (a refusal's). Tools without secrets leave it out.
   */
  secretArgs?(db: Db, args: unknown): { masked: unknown; secrets: Record<string, string> };
  /** Validates ids against the key's tenants (throws ToolDenial) and describes the call. Must not write. */
  plan(args: z.infer<S>, ctx: ToolContext): ToolPlan;
  /** Does the work; called inside the write transaction that also appends the audit entry. */
  execute(args: z.infer<S>, ctx: ToolContext, plan: ToolPlan): z.infer<O>;
}

export function defineTool<S extends z.ZodObject, O extends z.ZodObject>(spec: ToolSpec<S, O>): ToolSpec<S, O> {
  return spec;
}

export type DenialCode =
  | 'TIER4_BLOCKED' | 'SCOPE_DENIED' | 'NOT_ALLOWLISTED' | 'EXECUTE_ADMIN_REQUIRED' | 'RATE_LIMITED' | 'TENANT_DENIED'
  | 'INVALID_ARGUMENTS' | 'APPROVAL_DENIED' | 'APPROVAL_EXPIRED' | 'NOT_FOUND' | 'CONFLICT' | 'UNKNOWN_TOOL';

/** A refusal the model can act on: surfaced as an isError tool result with a machine-readable code. */
export class ToolDenial extends Error {
  readonly code: DenialCode;
  readonly rule: string;
  readonly extra: Record<string, unknown>;
  /** What the audit records when it differs from what the model is told (e.g. foreign vs unknown id). */
  readonly auditReason: string | undefined;
  constructor(code: DenialCode, message: string, rule: string = code.toLowerCase(), extra: Record<string, unknown> = {}, auditReason?: string) {
    super(message);
    this.auditReason = auditReason;
    this.code = code;
    this.rule = rule;
    this.extra = extra;
  }
}

/** Tenant isolation at the executor: every id a tool reads or changes passes through here. */
export interface TenantScope {
  readonly tenants: Tenant[];
  /** The tenants a call may read: all of the key's, or the one named by a `tenant` slug argument. */
  select(slug?: string): Tenant[];
  /** Looks a row up by id; unknown and foreign ids give the same NOT_FOUND answer (no existence leak). */
  require<K extends ScopedKind>(kind: K, id: string): ScopedRow<K>;
  tenantById(id: string): Tenant;
}

export type ScopedKind = 'device' | 'alert' | 'script' | 'execution' | 'report' | 'incident' | 'approval' | 'document' | 'patch';
export interface ScopedRow<K extends ScopedKind = ScopedKind> {
  kind: K;
  id: string;
  /** null only for MSP-wide library scripts and global patch catalogue entries. */
  tenant: Tenant | null;
  row: Record<string, unknown>;
}
