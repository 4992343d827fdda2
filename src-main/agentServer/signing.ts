// The console signs every device command when it is queued — inside the approval's (or the tier-2 call's) transaction —
// so what an agent accepts is exactly what was approved. A later edit of the queued row breaks the signature.
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { signingBytes, type CommandEnvelope, type SignedFields } from '../agent/protocol.ts';
import { approvalSecrets, revealParameters, setSecretKeys } from '../tools/secretParams.ts';

const signers = new WeakMap<Db, KeyObject>();

/** Registered by openApp with the install's Ed25519 key; a database without a signer queues unsigned commands (agents refuse them). */
export function setCommandSigner(db: Db, key: KeyObject): void {
  signers.set(db, key);
  setSecretKeys(db, key);
}

export function signCommand(key: KeyObject, fields: SignedFields): string {
  return sign(null, signingBytes(fields), key).toString('base64');
}

/** Signs and stores the signature of one queued command; call inside the transaction that inserts it. */
export function signQueuedCommand(db: Db, c: Omit<SignedFields, 'issuedAt' | 'nonce'>, now: Date): void {
  const key = signers.get(db);
  if (!key) return;
  // The signature covers the payload as it will be read back from payload_json.
  const fields: SignedFields = { ...c, payload: JSON.parse(JSON.stringify(c.payload)), issuedAt: now.toISOString(), nonce: randomBytes(18).toString('base64url') };
  db.prepare(`INSERT INTO command_signatures (command_id, device_id, approval_id, kind, issued_at, nonce, signature) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(fields.commandId, fields.deviceId, fields.approvalId, fields.kind, fields.issuedAt, fields.nonce, signCommand(key, fields));
}

interface Row {
  id: string; device_id: string; kind: SignedFields['kind']; payload_json: string; not_before: string | null;
  sig_device_id: string | null; approval_id: string | null; sig_kind: SignedFields['kind'] | null; issued_at: string | null; nonce: string | null; signature: string | null;
}

/**
 * What goes on the wire: the signed identity fields come from the signature record, the payload from the command row.
 * Nothing is re-signed here; a row without a signature travels unsigned and the agent refuses it.
 */
export function envelopeFor(db: Db, commandId: string): CommandEnvelope | undefined {
  const r = db.prepare(`SELECT c.id, c.device_id, c.kind, c.payload_json, c.not_before, s.device_id AS sig_device_id, s.approval_id, s.kind AS sig_kind,
      s.issued_at, s.nonce, s.signature
    FROM device_commands c LEFT JOIN command_signatures s ON s.command_id = c.id WHERE c.id = ?`).get(commandId) as Row | undefined;
  if (!r) return undefined;
  let payload: Record<string, unknown>;
  try {
    const p = JSON.parse(r.payload_json) as unknown;
    payload = p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : { value: p };
  } catch {
    payload = {};
  }
  // Secret parameters are stored masked: the values go back in only here, on their way to the agent (over pinned TLS).
  if (payload.parameters && typeof payload.parameters === 'object' && r.approval_id) {
    payload = { ...payload, parameters: revealParameters(db, payload.parameters as Record<string, string>, approvalSecrets(db, r.approval_id)) };
  }
  return {
    commandId: r.id, deviceId: r.sig_device_id ?? r.device_id, approvalId: r.approval_id, kind: r.sig_kind ?? r.kind, payload,
    issuedAt: r.issued_at ?? new Date(0).toISOString(), nonce: r.nonce ?? 'unsigned-command-000', notBefore: r.not_before, signature: r.signature,
  };
}
