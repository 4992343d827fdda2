// The governance settings: their schema, defaults and the environment variables that pin them. Values only: the policy
// in force, its overrides and its binding are policy.ts and policyBinding.ts.
import { z } from 'zod';

/** Governance settings: stored in the database for the console, pinned by environment variables when set. */
export const PolicySchema = z.object({
  requireExecuteAdmin: z.boolean(),
  /** null: every tier-3 tool may be requested; a list: only these. */
  executeAllowlist: z.array(z.string().min(1)).nullable(),
  defaultReadPerMinute: z.number().int().min(1).max(100_000),
  defaultWritePerMinute: z.number().int().min(1).max(100_000),
  approvalTtlMinutes: z.number().int().min(1).max(7 * 24 * 60),
  approvalWaitSeconds: z.number().int().min(0).max(50),
  /** While a tier-3 call is held, a progress notification this often: it keeps a client's request timeout alive. */
  approvalProgressSeconds: z.number().int().min(1).max(30),
  bulkDeviceThreshold: z.number().int().min(1).max(10_000),
  /** Devices a key changed without approval in one tenant over this many minutes count toward bulkDeviceThreshold. */
  bulkWindowMinutes: z.number().int().min(0).max(24 * 60),
  httpRequestsPerSecond: z.number().int().min(1).max(100_000),
  /** Signed audit checkpoints (audit/anchor.ts): after this many entries, or this many minutes, whichever comes first. */
  auditCheckpointEveryEntries: z.number().int().min(1).max(1_000_000),
  auditCheckpointEveryMinutes: z.number().int().min(1).max(24 * 60),
  /** Tenants (slugs, or '*' for every tenant) whose tier-3 calls must carry a PSA ticket reference. */
  requireTicketTenants: z.array(z.string().min(1).max(40)).max(500),
});
export type Policy = z.infer<typeof PolicySchema>;
export type PolicyName = keyof Policy;

export const DEFAULT_POLICY: Policy = {
  requireExecuteAdmin: false,
  executeAllowlist: null,
  defaultReadPerMinute: 600,
  defaultWritePerMinute: 60,
  approvalTtlMinutes: 30,
  approvalWaitSeconds: 25,
  approvalProgressSeconds: 5,
  bulkDeviceThreshold: 10,
  bulkWindowMinutes: 10,
  httpRequestsPerSecond: 200,
  auditCheckpointEveryEntries: 1000,
  auditCheckpointEveryMinutes: 60,
  requireTicketTenants: [],
};

const bool = (v: string) => /^(1|true|yes|on)$/i.test(v.trim());
const ENV: { [K in PolicyName]: [string, (v: string) => Policy[K]] } = {
  requireExecuteAdmin: ['MCP_REQUIRE_EXECUTE_ADMIN', bool],
  executeAllowlist: ['MCP_EXECUTE_TOOL_ALLOWLIST', (v) => (v.trim() === '*' ? null : v.split(',').map((s) => s.trim()).filter(Boolean))],
  defaultReadPerMinute: ['COUNTERSIGN_READ_PER_MINUTE', Number],
  defaultWritePerMinute: ['COUNTERSIGN_WRITE_PER_MINUTE', Number],
  approvalTtlMinutes: ['COUNTERSIGN_APPROVAL_TTL_MINUTES', Number],
  approvalWaitSeconds: ['COUNTERSIGN_APPROVAL_WAIT_SECONDS', Number],
  approvalProgressSeconds: ['COUNTERSIGN_APPROVAL_PROGRESS_SECONDS', Number],
  bulkDeviceThreshold: ['COUNTERSIGN_BULK_DEVICE_THRESHOLD', Number],
  bulkWindowMinutes: ['COUNTERSIGN_BULK_WINDOW_MINUTES', Number],
  httpRequestsPerSecond: ['COUNTERSIGN_HTTP_RPS', Number],
  auditCheckpointEveryEntries: ['COUNTERSIGN_CHECKPOINT_EVERY_ENTRIES', Number],
  auditCheckpointEveryMinutes: ['COUNTERSIGN_CHECKPOINT_EVERY_MINUTES', Number],
  requireTicketTenants: ['COUNTERSIGN_REQUIRE_TICKET_TENANTS', (v) => v.split(',').map((s) => s.trim()).filter(Boolean)],
};

/** The settings pinned by environment variables, parsed; a malformed variable throws (at start, not at the first call). */
export function pinnedFromEnv(env: NodeJS.ProcessEnv): { values: Partial<Policy>; pinned: Partial<Record<PolicyName, string>> } {
  const values: Partial<Policy> = {};
  const pinned: Partial<Record<PolicyName, string>> = {};
  for (const name of Object.keys(ENV) as PolicyName[]) {
    const [variable, parse] = ENV[name];
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const parsed = PolicySchema.shape[name].safeParse(parse(raw));
    if (!parsed.success) throw new Error(`${variable}=${raw} is not a valid value for ${name}: ${parsed.error.issues[0]?.message}`);
    (values as Record<string, unknown>)[name] = parsed.data;
    pinned[name] = variable;
  }
  return { values, pinned };
}
