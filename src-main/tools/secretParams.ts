// Script parameters declared secret (ad hoc with secretParameters, or by a library script's params_json): their values
// are never stored in clear. Everything that is stored or shown (audit entries, the approval row and its digest, the
// execution, the queued command, the card) holds a mask `[secret:<keyed hash>]` instead; the values travel sealed with
// the approval (the install's vault) and, when the command is queued, are sealed again to the receiving device's own
// key (agent/sealed.ts) beside their masks. Pure: the keyed mask comes from the store's vault (store/vault.ts), the
// library's declarations from the caller's reader.

import type { Secrets } from '../store/vault.ts';

export type { Secrets };

const MASK = /^\[secret:[0-9a-f]{16}\]$/;
export const isMask = (v: unknown): v is string => typeof v === 'string' && MASK.test(v);

/** What masking needs: the keyed mask of a value, and the names a library script declares secret. */
export interface SecretMasking {
  mask(value: string): string;
  libraryNames(scriptId: string): Promise<string[]>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The names a params_json declares secret ([{"name": "pw", "secret": true}, …]); anything malformed declares none. */
export function declaredSecretNames(paramsJson: string | null): string[] {
  if (!paramsJson) return [];
  try {
    const params = JSON.parse(paramsJson) as unknown;
    return Array.isArray(params) ? params.filter((p) => isRecord(p) && p.secret === true && typeof p.name === 'string').map((p) => (p as { name: string }).name) : [];
  } catch {
    return [];
  }
}

/**
 * run_script arguments (validated or not) with every secret parameter's value replaced by its mask, and the values
 * taken out. Anything not shaped like run_script arguments comes back as it was.
 */
export async function splitScriptSecrets(args: unknown, m: SecretMasking): Promise<{ masked: unknown; secrets: Secrets }> {
  if (!isRecord(args) || !isRecord(args.parameters)) return { masked: args, secrets: {} };
  const names = new Set(Array.isArray(args.secretParameters) ? args.secretParameters.filter((n): n is string => typeof n === 'string') : []);
  if (typeof args.scriptId === 'string') for (const n of await m.libraryNames(args.scriptId)) names.add(n);
  const parameters = { ...args.parameters };
  const secrets: Secrets = {};
  for (const n of names) {
    const v = parameters[n];
    if (typeof v !== 'string' || isMask(v) || !Object.hasOwn(parameters, n)) continue;
    secrets[n] = v;
    parameters[n] = m.mask(v);
  }
  return Object.keys(secrets).length ? { masked: { ...args, parameters }, secrets } : { masked: args, secrets };
}

/** Parameters with masked values put back from `secrets` (only where the mask is the value's): for signing and sending. */
export function revealParameters(mask: (value: string) => string, parameters: Record<string, string>, secrets: Secrets | undefined): Record<string, string> {
  if (!secrets || !Object.keys(secrets).length) return parameters;
  const out = { ...parameters };
  for (const [n, v] of Object.entries(secrets)) if (isMask(out[n]) && out[n] === mask(v)) out[n] = v;
  return out;
}

/** A command payload with its secret parameters put back, or the payload as it was. */
export function revealPayload(mask: (value: string) => string, payload: Record<string, unknown>, secrets: Secrets | undefined): Record<string, unknown> {
  const params = payload.parameters;
  if (!secrets || !isRecord(params)) return payload;
  return { ...payload, parameters: revealParameters(mask, params as Record<string, string>, secrets) };
}

/**
 * A command payload whose secret parameters go sealed to the device: `parameters` keeps their masks, and
 * `sealedParameters` holds each value as `seal(name, value)` made it. Undefined when the payload carries none.
 */
export function sealPayload(mask: (value: string) => string, payload: Record<string, unknown>, secrets: Secrets | undefined,
  seal: (name: string, value: string) => string): Record<string, unknown> | undefined {
  const params = payload.parameters;
  if (!secrets || !isRecord(params)) return undefined;
  const sealed: Record<string, string> = {};
  for (const [n, v] of Object.entries(secrets)) if (isMask(params[n]) && params[n] === mask(v)) sealed[n] = seal(n, v);
  return Object.keys(sealed).length ? { ...payload, sealedParameters: sealed } : undefined;
}

/** Why secret parameters cannot go to these devices, and what the technician does about it. */
export const noDeviceKey = (devices: readonly string[]) =>
  `Secret parameters are sent only sealed to the receiving device's own key, and ${devices.join(', ')} `
  + `${devices.length === 1 ? 'has' : 'have'} none (no agent, or an agent enrolled before secret parameters were sealed). `
  + 'Re-enroll the agent (countersign agent enroll) to give the device a key, or run the script without secret parameters.';
