// Script parameters declared secret (ad hoc with secretParameters, or by a library script's params_json): their values
// are never stored in clear. Everything that is stored or shown (audit entries, the approval row and its digest, the
// execution, the queued command, the card) holds a mask `[secret:<keyed hash>]` instead; the values travel sealed with
// the approval and are put back only into the command as signed and as sent to the agent.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Db } from '../store/db.ts';

export type Secrets = Record<string, string>;

const MASK = /^\[secret:[0-9a-f]{16}\]$/;
export const isMask = (v: unknown): v is string => typeof v === 'string' && MASK.test(v);

const keys = new WeakMap<Db, { mac: Buffer; seal: Buffer }>();
/** Registered by openApp with the install's signing key (next to the command signer): the keys derive from it. */
export function setSecretKeys(db: Db, signingKey: KeyObject): void {
  const ikm = signingKey.export({ type: 'pkcs8', format: 'der' });
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'countersign', info, 32));
  keys.set(db, { mac: derive('secret parameter mask'), seal: derive('secret parameter seal') });
}
const keysOf = (db: Db) => {
  const k = keys.get(db);
  if (!k) throw new Error('secret parameters need the install key (open the database through openApp)');
  return k;
};

/** The mask of a value: keyed, so equal values give equal masks (an identical call finds its pending approval) and reveal nothing. */
export const maskOf = (db: Db, value: string) => `[secret:${createHmac('sha256', keysOf(db).mac).update(value).digest('hex').slice(0, 16)}]`;

export function seal(db: Db, secrets: Secrets): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keysOf(db).seal, iv);
  const body = Buffer.concat([c.update(JSON.stringify(secrets), 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

export function unseal(db: Db, sealed: string): Secrets {
  const raw = Buffer.from(sealed, 'base64');
  const d = createDecipheriv('aes-256-gcm', keysOf(db).seal, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as Secrets;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The names a library script declares secret (params_json: [{"name": "pw", "secret": true}, …]). */
export function librarySecretNames(db: Db, scriptId: string): string[] {
  const row = db.prepare('SELECT params_json FROM scripts WHERE id = ?').get(scriptId) as { params_json: string | null } | undefined;
  if (!row?.params_json) return [];
  try {
    const params = JSON.parse(row.params_json) as unknown;
    return Array.isArray(params) ? params.filter((p) => isRecord(p) && p.secret === true && typeof p.name === 'string').map((p) => (p as { name: string }).name) : [];
  } catch {
    return [];
  }
}

/**
 * run_script arguments (validated or not) with every secret parameter's value replaced by its mask, and the values
 * taken out. Anything not shaped like run_script arguments comes back as it was.
 */
export function splitScriptSecrets(db: Db, args: unknown): { masked: unknown; secrets: Secrets } {
  if (!isRecord(args) || !isRecord(args.parameters)) return { masked: args, secrets: {} };
  const names = new Set(Array.isArray(args.secretParameters) ? args.secretParameters.filter((n): n is string => typeof n === 'string') : []);
  if (typeof args.scriptId === 'string') for (const n of librarySecretNames(db, args.scriptId)) names.add(n);
  const parameters = { ...args.parameters };
  const secrets: Secrets = {};
  for (const n of names) {
    const v = parameters[n];
    if (typeof v !== 'string' || isMask(v) || !Object.hasOwn(parameters, n)) continue;
    secrets[n] = v;
    parameters[n] = maskOf(db, v);
  }
  return Object.keys(secrets).length ? { masked: { ...args, parameters }, secrets } : { masked: args, secrets };
}

/** Parameters with masked values put back from `secrets` (only where the mask is the value's): for signing and sending. */
export function revealParameters(db: Db, parameters: Record<string, string>, secrets: Secrets | undefined): Record<string, string> {
  if (!secrets || !Object.keys(secrets).length) return parameters;
  const out = { ...parameters };
  for (const [n, v] of Object.entries(secrets)) if (isMask(out[n]) && out[n] === maskOf(db, v)) out[n] = v;
  return out;
}

/** Sealed secrets of an approval: stored with the request, read when it runs and when its commands are dispatched. */
export function storeApprovalSecrets(db: Db, approvalId: string, secrets: Secrets): void {
  if (!Object.keys(secrets).length) return;
  db.prepare('INSERT OR REPLACE INTO sealed_secrets (approval_id, sealed, created_at) VALUES (?, ?, ?)').run(approvalId, seal(db, secrets), new Date().toISOString());
}

export function approvalSecrets(db: Db, approvalId: string | null | undefined): Secrets | undefined {
  if (!approvalId) return undefined;
  const row = db.prepare('SELECT sealed FROM sealed_secrets WHERE approval_id = ?').get(approvalId) as { sealed: string } | undefined;
  return row ? unseal(db, row.sealed) : undefined;
}

/** Sealed values of approvals that can no longer run or send anything are dropped. */
export function dropFinishedSecrets(db: Db): number {
  return db.prepare(`DELETE FROM sealed_secrets WHERE approval_id IN (SELECT id FROM approvals
    WHERE status IN ('denied','expired','cancelled','failed','completed'))`).run().changes;
}
