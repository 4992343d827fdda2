import type { z } from 'zod';
import type { ApiKey, Tenant } from '../auth/keys.ts';
import type { TenantReader, TenantWriter } from '../store/data/index.ts';
import type { SecretMasking, Secrets } from './secretParams.ts';

/** A tool's risk: 1 read, runs. 2 low-risk change, runs and is audited. 3 high risk, waits for a human. 4 never runs. */
export type Tier = 1 | 2 | 3 | 4;

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Long-running or cross-cutting services tools hand work to. */
export interface ToolServices {
  /** Where report files are written (inside the data directory). */
  dataDir: string;
  /** Hands a queued report to the background job runner. */
  startReport(reportId: string): void;
}

/** What plan and read-only execute get: the key, the call's time and a reader bound to the key's tenants. */
export interface ReadContext {
  key: ApiKey;
  now: Date;
  data: TenantReader;
  services: ToolServices;
}

/** What a writing tool's execute gets, inside the transaction that also holds its audit entry. */
export interface WriteContext extends ReadContext {
  data: TenantWriter;
  /** Set when the call runs because a technician approved it. */
  approvalId: string | null;
  /** Work to start once the transaction has committed (a background job). */
  afterCommit(fn: () => void): void;
}

/** The governance plan of one call: which tenant it acts on, its tier inputs, and what a human must see. */
export interface ToolPlan<D extends Record<string, unknown> = Record<string, unknown>> {
  tenant: Tenant | null;
  action?: string;
  /** Tier raised by the arguments; the gate also applies the base tier, the action's, the bulk window and overrides. */
  argTier?: Tier;
  summary: string;
  /** Facts for the approval card: targets, script body and hash, patches, window fit. Stored and bound with the approval. */
  detail: D;
  /** Devices this call changes: counted toward bulk escalation over the key's recent calls. */
  deviceIds?: readonly string[];
  /**
   * The effect a technician approves, in canonical form (sorted ids, hashes). At approval the gate plans the call
   * again and runs it only if this is identical: a library script edited since the request is refused.
   */
  effect?: Record<string, unknown>;
}

interface ToolBase<S extends z.ZodType, O extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: S;
  output: O;
  baseTier: Tier;
  annotations: ToolAnnotations;
  /** For multiplexed tools: the enum field whose values carry their own tiers (trimmed from tools/list per key). */
  actionField?: string;
  actionTiers?: Record<string, Tier>;
  /**
   * Arguments as they may be stored (audit, approval row, digest, plan): secret values masked, and the values apart.
   * Works on unvalidated arguments too (a refusal's). Tools without secrets leave it out.
   */
  secretArgs?(args: unknown, m: SecretMasking): Promise<{ masked: unknown; secrets: Secrets }>;
}

/** A tool that only reads: it gets a reader that cannot write, spends the read budget, and needs no savepoint. */
export interface ReadToolSpec<S extends z.ZodType = z.ZodType, O extends z.ZodObject = z.ZodObject, P extends ToolPlan = ToolPlan> extends ToolBase<S, O> {
  access: 'read';
  /** Checks ids against the key's tenants (throws AppError) and describes the call. */
  plan(args: z.output<S>, ctx: ReadContext): Promise<P>;
  execute(args: z.output<S>, ctx: ReadContext, plan: P): Promise<z.output<O>>;
}

/** A tool that changes fleet state: execute runs inside the transaction that holds its audit entry, with a writer. */
export interface WriteToolSpec<S extends z.ZodType = z.ZodType, O extends z.ZodObject = z.ZodObject, P extends ToolPlan = ToolPlan> extends ToolBase<S, O> {
  access: 'write';
  plan(args: z.output<S>, ctx: ReadContext): Promise<P>;
  execute(args: z.output<S>, ctx: WriteContext, plan: P): Promise<z.output<O>>;
}

export type ToolSpec = ReadToolSpec | WriteToolSpec;

/** Declares a tool that only reads. */
export function readTool<S extends z.ZodType, O extends z.ZodObject, P extends ToolPlan>(spec: Omit<ReadToolSpec<S, O, P>, 'access'>): ReadToolSpec<S, O, P> {
  return { ...spec, access: 'read' };
}

/** Declares a tool that changes fleet state. */
export function writeTool<S extends z.ZodType, O extends z.ZodObject, P extends ToolPlan>(spec: Omit<WriteToolSpec<S, O, P>, 'access'>): WriteToolSpec<S, O, P> {
  return { ...spec, access: 'write' };
}

/** Which rate-limit budget a call of this tool spends. */
export const budgetOf = (tool: ToolSpec): 'read' | 'write' => (tool.access === 'write' ? 'write' : 'read');
