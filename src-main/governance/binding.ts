// The approval binding: an HMAC, under a key derived from the install secret (secrets.json, never the database),
// over exactly the stored columns a card is rendered from and an execution runs. Someone who can write the database
// but not read the install secret cannot change what a technician approves without it showing as tampered.
import { hkdfSync, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../store/canonical.ts';
import type { ApprovalRow } from '../store/data/approvals.ts';
import { hmacSha256 } from '../hmac.ts';

export type Bound = Pick<ApprovalRow, 'id' | 'digest' | 'key_id' | 'tenant_id' | 'tool' | 'action' | 'args_json' | 'summary' | 'detail_json' | 'effect_json' | 'created_at' | 'expires_at'>
  & { approvers_required?: number };

export function bindingKey(installSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', installSecret, Buffer.alloc(0), 'countersign approval binding v1', 32));
}

export function bindApproval(key: Buffer, r: Bound): string {
  const fields: unknown[] = [1, r.id, r.digest, r.key_id, r.tenant_id, r.tool, r.action, r.args_json, r.summary, r.detail_json, r.effect_json, r.created_at, r.expires_at];
  // A four-eyes request binds how many must approve it (lowering it in the database shows as tampered); a one-approver
  // request binds exactly what it did before four-eyes existed.
  if ((r.approvers_required ?? 1) > 1) fields.push({ approvers: r.approvers_required });
  return hmacSha256(key).update(canonicalJson(fields)).digest('hex');
}

export function bindingHolds(key: Buffer, r: Bound & { binding: string | null }): boolean {
  if (!r.binding || !/^[0-9a-f]{64}$/.test(r.binding)) return false;
  return timingSafeEqual(Buffer.from(bindApproval(key, r), 'hex'), Buffer.from(r.binding, 'hex'));
}

/**
 * The same keyed binding over another record the gate acts on without a card (a grant, an approved plan) or counts
 * towards one (a four-eyes vote): `kind` keeps one kind of record from ever verifying as another, or as an approval.
 */
export type BoundKind = 'grant' | 'plan' | 'vote' | 'policy' | CredentialKind;

/** Records that decide who may sign in to the console and with which rights (auth/credentialBinding.ts). */
export type CredentialKind = 'technician' | 'passkey' | 'adminPassphrase' | 'session' | 'apiKey';

/**
 * The key console session tokens are stored under (an HMAC of the token, never the token): a row someone wrote into
 * the database with a hash of a token they chose matches no token, as they cannot compute it without the install secret.
 */
export function sessionKey(installSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', installSecret, Buffer.alloc(0), 'countersign console session v1', 32));
}

export function bindRecord(key: Buffer, kind: BoundKind, fields: readonly unknown[]): string {
  return hmacSha256(key).update(canonicalJson([kind, 1, ...fields])).digest('hex');
}

export function recordHolds(key: Buffer, kind: BoundKind, fields: readonly unknown[], binding: string | null): boolean {
  if (!binding || !/^[0-9a-f]{64}$/.test(binding)) return false;
  return timingSafeEqual(Buffer.from(bindRecord(key, kind, fields), 'hex'), Buffer.from(binding, 'hex'));
}
