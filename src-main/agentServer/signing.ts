// The console signs every device command when it is queued (the store's CommandSigner, inside the approval's or the
// tier-2 call's transaction), so what an agent accepts is exactly what was approved. A later edit of the queued row
// breaks the signature. This module reads signed commands back for delivery.
import type { Sql } from '../store/sql.ts';
import type { CommandEnvelope, SignedFields } from '../agent/protocol.ts';
import type { SecretVault } from '../store/vault.ts';
import { revealPayload } from '../tools/secretParams.ts';

interface Row {
  id: string; device_id: string; kind: SignedFields['kind']; payload_json: string; not_before: string | null;
  sig_device_id: string | null; approval_id: string | null; sig_kind: SignedFields['kind'] | null; issued_at: string | null; nonce: string | null; signature: string | null;
}

/**
 * What goes on the wire: the signed identity fields come from the signature record, the payload from the command row.
 * Nothing is re-signed here; a row without a signature travels unsigned and the agent refuses it.
 */
export async function envelopeFor(sql: Sql, vault: SecretVault, commandId: string): Promise<CommandEnvelope | undefined> {
  const r = await sql.get<Row>(`SELECT c.id, c.device_id, c.kind, c.payload_json, c.not_before, s.device_id AS sig_device_id, s.approval_id, s.kind AS sig_kind,
      s.issued_at, s.nonce, s.signature
    FROM device_commands c LEFT JOIN command_signatures s ON s.command_id = c.id WHERE c.id = ?`, [commandId]);
  if (!r) return undefined;
  let payload: Record<string, unknown>;
  try {
    const p = JSON.parse(r.payload_json) as unknown;
    payload = p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : { value: p };
  } catch {
    payload = {};
  }
  // Commands signed before secret parameters were sealed to the device hold masks whose values were signed in clear:
  // those go back in only here, on their way to the agent (over pinned TLS). A sealed payload travels as it is.
  if (r.approval_id && payload.sealedParameters === undefined) {
    const sealed = await sql.get<{ sealed: string }>('SELECT sealed FROM sealed_secrets WHERE approval_id = ?', [r.approval_id]);
    if (sealed) payload = revealPayload(vault.mask, payload, vault.unseal(sealed.sealed));
  }
  return {
    commandId: r.id, deviceId: r.sig_device_id ?? r.device_id, approvalId: r.approval_id, kind: r.sig_kind ?? r.kind, payload,
    issuedAt: r.issued_at ?? new Date(0).toISOString(), nonce: r.nonce ?? 'unsigned-command-000', notBefore: r.not_before, signature: r.signature,
  };
}
