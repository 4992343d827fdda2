// What a grant covers, and whether one call falls inside it. A call is described by its facts, taken from the tool's
// plan (the canonical effect and the card's detail, never the raw arguments); an envelope bounds those facts. Pure, so
// the gate, the console (what a card may offer) and the policy simulator decide it with the same code.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { requestFindings } from '../hiddenChars.ts';
import { canonicalJson } from '../store/canonical.ts';
import type { ToolPlan } from '../tools/types.ts';
import type { Tier } from './tiers.ts';

export const PATCH_SEVERITIES = ['low', 'moderate', 'important', 'critical'] as const;
export type PatchSeverity = (typeof PATCH_SEVERITIES)[number];
const rank = (s: string) => PATCH_SEVERITIES.indexOf(s as PatchSeverity);

/** What one call does, as the gate planned it. Recorded with each write's audit entry, so it can be replayed. */
export interface CallFacts {
  tenantId: string;
  /** The devices the call changes, sorted (the plan's deviceIds). */
  deviceIds: string[];
  /** The devices that get a command when it runs, where that is fewer (deploy_patches: those with a patch to install). */
  commandDeviceIds?: string[];
  argTier?: Tier;
  script?: { id: string | null; sha256: string; language: string; parameters: string; timeoutSeconds: number };
  patches?: { ids: string[]; severities: string[]; windowOverride: boolean };
  version?: string;
  /** Invisible, bidirectional or look-alike characters on the card it would get: a grant never covers such a call. */
  hiddenText?: number;
}

const rec = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
export const digestOf = (v: unknown) => createHash('sha256').update(canonicalJson(v ?? {})).digest('hex');

/** The facts of a planned write (undefined for reads and for calls with no tenant). */
export function callFacts(tool: string, plan: ToolPlan): CallFacts | undefined {
  if (!plan.tenant) return undefined;
  const e = rec(plan.effect);
  const d = rec(plan.detail);
  const facts: CallFacts = { tenantId: plan.tenant.id, deviceIds: [...(plan.deviceIds ?? [])] };
  if (plan.argTier !== undefined) facts.argTier = plan.argTier;
  if (tool === 'run_script' && typeof e.sha256 === 'string') {
    facts.script = {
      id: typeof e.scriptId === 'string' ? e.scriptId : null, sha256: e.sha256, language: String(e.language ?? ''), parameters: digestOf(e.parameters),
      timeoutSeconds: typeof e.timeoutSeconds === 'number' ? e.timeoutSeconds : 0,
    };
  }
  if (tool === 'deploy_patches' && Array.isArray(d.patches)) {
    const installed = d.patches.map(rec);
    facts.patches = {
      ids: installed.map((p) => String(p.id)).sort(), severities: installed.map((p) => String(p.severity)),
      windowOverride: e.overrideMaintenanceWindow === true && d.windowFit === 'override',
    };
    facts.commandDeviceIds = (Array.isArray(d.devices) ? d.devices.map(rec) : []).map((x) => String(x.id)).sort();
  }
  if (tool === 'upgrade_agent' && typeof e.version === 'string') facts.version = e.version;
  const hidden = requestFindings({ summary: plan.summary, detail: plan.detail }, 0).count;
  if (hidden) facts.hiddenText = hidden;
  return facts;
}

// ---- envelopes ----

const id = z.string().min(1).max(64);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'not a SHA-256');

export const DeviceScope = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('set'), ids: z.array(id).min(1).max(500).transform((a) => [...new Set(a)].sort()) }),
  z.strictObject({ kind: z.literal('group'), groupId: id, name: z.string().max(200) }),
]);

/** The bounds of a grant beyond its key, tenant, tool and action (which are columns of the grant). */
export const Envelope = z.strictObject({
  devices: DeviceScope,
  maxDevicesPerCall: z.number().int().min(1).max(500),
  script: z.strictObject({
    scriptId: id.nullable(), sha256: hex64, language: z.string().min(1).max(40), parameters: hex64, // SHA-256 of the canonical parameters
    maxTimeoutSeconds: z.number().int().min(1).max(86_400),
  }).optional(),
  patches: z.strictObject({ maxSeverity: z.enum(PATCH_SEVERITIES), maxCount: z.number().int().min(1).max(500), allowWindowOverride: z.boolean() }).optional(),
  version: z.string().min(1).max(40).optional(),
});
export type Envelope = z.infer<typeof Envelope>;

/** The tools a grant may cover, and the part of the envelope each needs. */
export const GRANTABLE: Record<string, 'script' | 'patches' | 'action' | 'version'> = {
  run_script: 'script', deploy_patches: 'patches', device_actions: 'action', upgrade_agent: 'version',
};

/** The widest envelope a card allows: exactly its devices, script, patches and version; never more devices per call. */
export function cardEnvelope(tool: string, f: CallFacts): Envelope | undefined {
  const part = GRANTABLE[tool];
  if (!part || !f.deviceIds.length) return undefined;
  const env: Envelope = { devices: { kind: 'set', ids: f.deviceIds }, maxDevicesPerCall: f.deviceIds.length };
  if (part === 'script') {
    if (!f.script) return undefined;
    env.script = { scriptId: f.script.id, sha256: f.script.sha256, language: f.script.language, parameters: f.script.parameters, maxTimeoutSeconds: f.script.timeoutSeconds };
  }
  if (part === 'patches') {
    if (!f.patches?.ids.length) return undefined;
    const top = Math.max(...f.patches.severities.map(rank));
    if (top < 0) return undefined;
    env.patches = { maxSeverity: PATCH_SEVERITIES[top]!, maxCount: f.patches.ids.length, allowWindowOverride: f.patches.windowOverride };
  }
  if (part === 'version') {
    if (!f.version) return undefined;
    env.version = f.version;
  }
  return env;
}

/**
 * Why `asked` is wider than the card's envelope, or [] when it only narrows it. The device scope may be a subset of the
 * card's devices, or the one group all of them belong to (`group`, when they share one).
 */
export function widerThanCard(asked: Envelope, card: Envelope, group: { id: string; name: string } | undefined): string[] {
  const out: string[] = [];
  const cardIds = card.devices.kind === 'set' ? new Set(card.devices.ids) : new Set<string>();
  if (asked.devices.kind === 'set') {
    const extra = asked.devices.ids.filter((d) => !cardIds.has(d));
    if (extra.length) out.push(`devices: ${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} not on the card`);
  } else if (!group || asked.devices.groupId !== group.id) {
    out.push('devices: the only group a grant may name is the one every device on the card belongs to');
  }
  if (asked.maxDevicesPerCall > card.maxDevicesPerCall) out.push(`maxDevicesPerCall: the card has ${card.maxDevicesPerCall} device(s)`);
  const same = (k: 'script' | 'version') => canonicalJson(asked[k] ?? null) === canonicalJson(card[k] ?? null);
  if (card.script || asked.script) {
    const a = asked.script;
    const c = card.script;
    if (!a || !c || a.scriptId !== c.scriptId || a.sha256 !== c.sha256 || a.language !== c.language || a.parameters !== c.parameters) out.push('script: a grant covers exactly the script and parameters on the card');
    else if (a.maxTimeoutSeconds > c.maxTimeoutSeconds) out.push(`script.maxTimeoutSeconds: the card's timeout is ${c.maxTimeoutSeconds} s`);
  }
  if (card.patches || asked.patches) {
    const a = asked.patches;
    const c = card.patches;
    if (!a || !c) out.push('patches: the card and the grant disagree on patches');
    else {
      if (rank(a.maxSeverity) > rank(c.maxSeverity)) out.push(`patches.maxSeverity: the card's highest severity is ${c.maxSeverity}`);
      if (a.maxCount > c.maxCount) out.push(`patches.maxCount: the card has ${c.maxCount} patch(es)`);
      if (a.allowWindowOverride && !c.allowWindowOverride) out.push('patches.allowWindowOverride: the card does not override the maintenance window');
    }
  }
  if (!same('version')) out.push('version: a grant covers exactly the version on the card');
  return out;
}

/**
 * Why the call described by `f` falls outside `env`, or undefined when it is inside. `groupOf` gives each device's
 * group now (only read for a group scope).
 */
export function outsideEnvelope(tool: string, env: Envelope, f: CallFacts, groupOf: (deviceId: string) => string | null | undefined): string | undefined {
  const part = GRANTABLE[tool];
  if (!part) return `${tool} cannot be granted`;
  if (!f.deviceIds.length) return 'the call names no devices';
  if (f.deviceIds.length > env.maxDevicesPerCall) return `${f.deviceIds.length} devices, more than ${env.maxDevicesPerCall} per call`;
  if (env.devices.kind === 'set') {
    const allowed = new Set(env.devices.ids);
    const out = f.deviceIds.find((d) => !allowed.has(d));
    if (out) return `device ${out} is not in the grant`;
  } else {
    const groupId = env.devices.groupId;
    const out = f.deviceIds.find((d) => groupOf(d) !== groupId);
    if (out) return `device ${out} is not in group ${env.devices.name}`;
  }
  if (part === 'script') {
    const s = env.script;
    const c = f.script;
    if (!s || !c) return 'no script to compare';
    if (c.sha256 !== s.sha256 || c.id !== s.scriptId || c.language !== s.language) return `script ${c.sha256.slice(0, 12)}… is not the granted one`;
    if (c.parameters !== s.parameters) return 'the parameters differ from the granted ones';
    if (c.timeoutSeconds > s.maxTimeoutSeconds) return `timeout ${c.timeoutSeconds} s is over ${s.maxTimeoutSeconds} s`;
  }
  if (part === 'patches') {
    const p = env.patches;
    const c = f.patches;
    if (!p || !c || !c.ids.length) return 'no patches to compare';
    if (c.ids.length > p.maxCount) return `${c.ids.length} patches, more than ${p.maxCount}`;
    if (c.severities.some((s) => rank(s) < 0 || rank(s) > rank(p.maxSeverity))) return `a patch is above ${p.maxSeverity} (or has no known severity)`;
    if (c.windowOverride && !p.allowWindowOverride) return 'the call overrides the maintenance window';
  }
  if (part === 'version' && f.version !== env.version) return `version ${f.version ?? '?'} is not ${env.version ?? '?'}`;
  return undefined;
}

/** One line a technician (or the model, in whoami) reads: what a grant lets run without a card. */
export function describeEnvelope(tool: string, action: string | null, env: Envelope): string {
  const what = action ? `${tool} (${action})` : tool;
  const devices = env.devices.kind === 'set' ? `${env.devices.ids.length} named device(s)` : `devices of group ${env.devices.name}`;
  const parts = [`${what} on ${devices}, at most ${env.maxDevicesPerCall} per call`];
  if (env.script) parts.push(`script ${env.script.scriptId ? `${env.script.scriptId} ` : ''}sha256 ${env.script.sha256.slice(0, 12)}… with the same parameters, timeout ≤ ${env.script.maxTimeoutSeconds} s`);
  if (env.patches) parts.push(`≤ ${env.patches.maxCount} patch(es) of severity ≤ ${env.patches.maxSeverity}${env.patches.allowWindowOverride ? ', may override the window' : ', inside or scheduled into a window'}`);
  if (env.version) parts.push(`agent version ${env.version}`);
  return parts.join('; ');
}
