// The wire contract between `countersign serve` (agent listener) and `countersign agent`: zod on both sides.
import { z } from 'zod';
import { canonicalJson } from '../store/canonical.ts';
import { BOX_PUBLIC_KEY, SEALED_VALUE } from './sealed.ts';

/** Set by `countersign agent build --version V` (an esbuild define); the source tree runs as 0.1.0. */
declare const __COUNTERSIGN_AGENT_VERSION__: string | undefined;
export const AGENT_VERSION: string = typeof __COUNTERSIGN_AGENT_VERSION__ === 'string' ? __COUNTERSIGN_AGENT_VERSION__ : '0.1.0';
export const ENROLL_PATH = '/agent/v1/enroll';
export const WS_PATH = '/agent/v1/ws';
/** GET /agent/v1/download/<target>[/<version>]: an agent executable, over the pinned listener (install one-liners, upgrades). */
export const DOWNLOAD_PATH = '/agent/v1/download';
export const COMMAND_KINDS = ['script', 'device_action', 'patch_install'] as const;
export const OS_NAMES = ['windows', 'macos', 'linux'] as const;
export const REFUSAL_CODES = ['UNSIGNED', 'BAD_SIGNATURE', 'WRONG_DEVICE', 'REPLAY', 'EARLY', 'EXPIRED', 'MALFORMED'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

const Id = z.string().min(1).max(64);
const Text = (max: number) => z.string().max(max);
/** Output kept per stream; get_script_results shows the first 16 KiB and flags the rest. */
export const OUTPUT_KEEP = 65_536;

// ---- Enrollment token: cset.<secret>.<sha256 of the console's agent certificate, base64url> ------------------------------

const TOKEN = /^cset\.([A-Za-z0-9_-]{32})\.([A-Za-z0-9_-]{43})$/;
export function formatToken(secret: string, certSha256Hex: string): string {
  return `cset.${secret}.${Buffer.from(certSha256Hex, 'hex').toString('base64url')}`;
}
export function parseToken(token: string): { secret: string; pin: string } | null {
  const m = TOKEN.exec(token.trim());
  return m ? { secret: m[1]!, pin: Buffer.from(m[2]!, 'base64url').toString('hex') } : null;
}

// ---- Inventory --------------------------------------------------------------------------------------------------------------

export const Facts = z.object({
  hostname: Text(253).min(1),
  os: z.enum(OS_NAMES),
  osVersion: Text(200).min(1),
  ip: Text(64).nullable(),
});
export type Facts = z.infer<typeof Facts>;

export const Hardware = z.object({
  manufacturer: Text(200), model: Text(200), serial: Text(200),
  cpu: z.object({ model: Text(200), cores: z.number().int().min(0).max(4096) }),
  memoryGb: z.number().min(0).max(1e6),
  disks: z.array(z.object({ mount: Text(500), sizeGb: z.number().min(0), freeGb: z.number().min(0), fs: Text(100).optional() })).max(200),
  network: z.array(z.object({ name: Text(200), mac: Text(64), ipv4: Text(64).nullable(), ipv6: Text(100).nullable().optional() })).max(200),
  bios: Text(200).optional(),
  os: z.object({ platform: Text(50), distro: Text(200), release: Text(100), codename: Text(100), kernel: Text(200), arch: Text(50) }),
  virtual: z.boolean().optional(),
  agentVersion: Text(50),
  collectedAt: z.string().max(40),
});
export type Hardware = z.infer<typeof Hardware>;

export const Software = z.array(z.object({ name: Text(200).min(1), version: Text(200), publisher: Text(200).nullable() })).max(20_000);
export type Software = z.infer<typeof Software>;

export const PATCH_SEVERITIES = ['critical', 'important', 'moderate', 'low'] as const;
/** The package managers an agent scans and installs with (src-main/agent/patchManagers.ts). */
export const PATCH_MANAGERS = ['apt', 'windows_update', 'winget', 'softwareupdate'] as const;
export type PatchManager = (typeof PATCH_MANAGERS)[number];
/**
 * externalId is `what=version`, what the package manager installs: apt `openssl=3.0.15-1~deb12u1`, winget `Mozilla.Firefox=130.0`,
 * Windows Update `KB5044284=200` (KB or update id = revision), softwareupdate `macOS Sonoma 14.6.1-23G93=14.6.1` (its label, which may hold
 * spaces and parentheses). It is always passed as one argument, never through a shell.
 */
export const EXTERNAL_ID = /^[A-Za-z0-9][A-Za-z0-9 ()+._~:-]{0,150}=[A-Za-z0-9+._~:-]{1,100}$/;
export const PatchReport = z.object({
  /** The first manager scanned; `managers` lists all of them (a Windows agent scans Windows Update and winget). */
  manager: z.enum(PATCH_MANAGERS),
  managers: z.array(z.enum(PATCH_MANAGERS)).min(1).max(PATCH_MANAGERS.length).optional(),
  scannedAt: z.string().max(40),
  updates: z.array(z.object({
    externalId: z.string().regex(EXTERNAL_ID), title: Text(300).min(1), severity: z.enum(PATCH_SEVERITIES), requiresReboot: z.boolean(),
  })).max(5000),
});
export type PatchReport = z.infer<typeof PatchReport>;

// ---- Signed commands -----------------------------------------------------------------------------------------------------------

export const SignedFields = z.object({
  commandId: Id, deviceId: Id, approvalId: Id.nullable(), kind: z.enum(COMMAND_KINDS),
  payload: z.record(z.string(), z.unknown()), issuedAt: z.string().max(40), nonce: z.string().min(16).max(64),
  /** The approved schedule (maintenance window): not to run before this time. */
  notBefore: z.string().max(40).nullable(),
});
export type SignedFields = z.infer<typeof SignedFields>;
export const CommandEnvelope = SignedFields.extend({ signature: z.string().max(200).nullable() });
export type CommandEnvelope = z.infer<typeof CommandEnvelope>;

/**
 * How long a signed command stays valid: from its issue, or from its approved schedule (notBefore) when that is later.
 * An agent refuses a command past it (EXPIRED) and the console fails a queued one past it instead of sending it, so an
 * action approved for a laptop that then stayed offline for weeks does not run the day it comes back. It is also what
 * bounds the agent's journal: a command past its validity would be refused anyway, so its id and nonce can be forgotten.
 */
export const COMMAND_VALIDITY_MS = 7 * 86_400_000;
/** Tolerated difference between the console's clock and an agent's, for schedules and validity. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** When a signed command stops being valid, ms since the epoch; NaN when its times are not dates (it is then refused). */
export function commandValidUntil(c: Pick<SignedFields, 'issuedAt' | 'notBefore'>): number {
  const issued = Date.parse(c.issuedAt);
  return (c.notBefore === null ? issued : Math.max(issued, Date.parse(c.notBefore))) + COMMAND_VALIDITY_MS;
}

/** Exactly the bytes the console's Ed25519 key signs: a domain tag, then the canonical JSON of the signed fields. */
export function signingBytes(c: SignedFields): Buffer {
  const { commandId, deviceId, approvalId, kind, payload, issuedAt, nonce, notBefore } = c;
  return Buffer.from(`countersign-command-v1\n${canonicalJson({ commandId, deviceId, approvalId, kind, payload, issuedAt, nonce, notBefore })}`, 'utf8');
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const ScriptPayload = z.object({
  scriptId: Id.nullable(), name: Text(200), language: z.enum(['powershell', 'bash', 'python']), body: z.string().min(1).max(65_536),
  sha256: z.string().regex(/^[0-9a-f]{64}$/), parameters: z.record(z.string().regex(PARAM_NAME), z.string().max(1024)),
  // Secret parameters sealed to this device (agent/sealed.ts): `parameters` holds their masks, these the values.
  sealedParameters: z.record(z.string().regex(PARAM_NAME), z.string().regex(SEALED_VALUE)).optional(),
  timeoutSeconds: z.number().int().min(1).max(3600),
});
export type ScriptPayload = z.infer<typeof ScriptPayload>;
export const DEVICE_ACTIONS = ['lock', 'reboot', 'shutdown', 'isolate'] as const;
export const DeviceActionPayload = z.object({ action: z.enum(DEVICE_ACTIONS), reason: Text(500).nullable() });
/** An agent upgrade travels as a device action: the SHA-256 of the build is inside the signed payload. */
export const AgentUpgradePayload = z.object({
  action: z.literal('upgrade_agent'), version: z.string().regex(/^\d{1,4}\.\d{1,4}\.\d{1,6}$/), target: z.string().regex(/^[a-z]+-[a-z0-9]+$/).max(20),
  sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().positive().max(1024 ** 3), reason: Text(500).nullable(),
}).strict();
export type AgentUpgradePayload = z.infer<typeof AgentUpgradePayload>;
export const PatchPayload = z.object({ patches: z.array(z.string().regex(EXTERNAL_ID)).min(1).max(200), requiresReboot: z.boolean() });

// ---- Messages ------------------------------------------------------------------------------------------------------------------

export const ServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('welcome'), deviceId: Id, heartbeatSeconds: z.number().min(0.2).max(3600), inventorySeconds: z.number().min(1).max(604_800), serverTime: z.string() }),
  z.object({ type: z.literal('command'), command: CommandEnvelope }),
  z.object({ type: z.literal('result_ack'), commandId: Id }),
  z.object({ type: z.literal('inventory_request') }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

export const RESULT_STATUSES = ['completed', 'failed', 'timed_out'] as const;
export const CommandResult = z.object({
  commandId: Id, status: z.enum(RESULT_STATUSES), exitCode: z.number().int().nullable(),
  stdout: Text(OUTPUT_KEEP + 200), stderr: Text(OUTPUT_KEEP + 200), durationMs: z.number().min(0),
});
export type CommandResult = z.infer<typeof CommandResult>;

/** What an agent reports about its machine: the `inventory` message's body, and `agent inventory`'s output. */
export const InventoryReport = z.object({ facts: Facts, hardware: Hardware, software: Software, patches: PatchReport.nullable() });
export type InventoryReport = z.infer<typeof InventoryReport>;

export const AgentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), running: z.array(Id).max(1000), agentVersion: Text(50) }),
  z.object({ type: z.literal('heartbeat'), at: z.string().max(40) }),
  InventoryReport.extend({ type: z.literal('inventory') }),
  z.object({ type: z.literal('result'), result: CommandResult }),
  z.object({ type: z.literal('refused'), commandId: Id, code: z.enum(REFUSAL_CODES), message: Text(1000) }),
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

/** The listener reads at most this much of an (unauthenticated) enrollment body; the agent sends a compact one. */
export const ENROLL_BODY_MAX = 4096;
export const EnrollRequest = z.object({
  token: z.string().max(200), facts: Facts, hardware: Hardware, agentVersion: Text(50),
  // Agents from before sealed parameters send none; the console then refuses secret parameters for that device.
  boxPublicKey: z.string().regex(BOX_PUBLIC_KEY).optional().describe('the X25519 key secret parameters are sealed to'),
});
export const EnrollResponse = z.object({
  agentId: Id, deviceId: Id, secret: z.string().regex(/^csa_[A-Za-z0-9_-]{43}$/), tenant: z.string(),
  consolePublicKey: z.string().includes('BEGIN PUBLIC KEY'),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** Parses one JSON text frame against a schema; null on anything malformed (the caller logs and drops it). */
export function parseFrame<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> | null {
  try {
    const r = schema.safeParse(JSON.parse(String(data)));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
