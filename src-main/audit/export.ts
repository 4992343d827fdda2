import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Db } from '../store/db.ts';
import { canonicalJson } from '../store/canonical.ts';
import { verifyRows, type AuditRow } from './log.ts';

/** The last line of an export: what the chain head was, signed with the install's Ed25519 key. */
const Checkpoint = z.object({
  type: z.literal('checkpoint'),
  count: z.number().int().min(0),
  headSeq: z.number().int().min(0),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  exportedAt: z.string(),
  publicKey: z.string().min(1),
  signature: z.string().min(1),
});
export type Checkpoint = z.infer<typeof Checkpoint>;

const signedPart = (c: Omit<Checkpoint, 'signature' | 'type' | 'publicKey'>) =>
  Buffer.from(canonicalJson({ count: c.count, headSeq: c.headSeq, headHash: c.headHash, exportedAt: c.exportedAt }));

export function fingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32);
}

/** Writes every entry as one JSON line, then the signed checkpoint; reads in one snapshot transaction. */
export function exportAudit(db: Db, file: string, signingKey: KeyObject, verifyKey: KeyObject): Checkpoint {
  const fd = openSync(file, 'wx', 0o600);
  try {
    const checkpoint = db.transaction(() => {
      let count = 0;
      let head = { seq: 0, hash: '0'.repeat(64) };
      for (const row of db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<AuditRow>) {
        writeSync(fd, `${JSON.stringify(row)}\n`);
        head = { seq: row.seq, hash: row.hash };
        count++;
      }
      const body = { count, headSeq: head.seq, headHash: head.hash, exportedAt: new Date().toISOString() };
      const cp: Checkpoint = {
        type: 'checkpoint', ...body,
        publicKey: verifyKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        signature: sign(null, signedPart(body), signingKey).toString('base64'),
      };
      writeSync(fd, `${JSON.stringify(cp)}\n`);
      return cp;
    })();
    fsyncSync(fd);
    return checkpoint;
  } finally {
    closeSync(fd);
  }
}

export type ExportVerify =
  | { ok: true; count: number; headHash: string; keyFingerprint: string; keyMatchesInstall: boolean | null }
  | { ok: false; reason: string; badSeq?: number };

/** Offline check of an export: the chain recomputes, the checkpoint names its head, the signature holds. */
export async function verifyExport(file: string, expectedKey?: KeyObject): Promise<ExportVerify> {
  const rows: AuditRow[] = [];
  let last: string | undefined;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    if (last !== undefined) {
      try {
        rows.push(JSON.parse(last) as AuditRow);
      } catch {
        return { ok: false, reason: `line ${lineNo - 1} is not JSON` };
      }
    }
    last = line;
  }
  if (last === undefined) return { ok: false, reason: 'export is empty' };
  let cp: Checkpoint;
  try {
    cp = Checkpoint.parse(JSON.parse(last));
  } catch {
    return { ok: false, reason: 'the last line is not a valid signed checkpoint (export truncated?)' };
  }
  const chain = verifyRows(rows);
  if (!chain.ok) return { ok: false, reason: chain.reason, badSeq: chain.badSeq };
  if (chain.count !== cp.count || chain.headHash !== cp.headHash || chain.headSeq !== cp.headSeq) {
    return { ok: false, reason: `checkpoint names ${cp.count} entries ending in ${cp.headHash.slice(0, 12)}…, the file holds ${chain.count} ending in ${chain.headHash.slice(0, 12)}…` };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(cp.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return { ok: false, reason: 'checkpoint public key is malformed' };
  }
  if (!verify(null, signedPart(cp), key, Buffer.from(cp.signature, 'base64'))) return { ok: false, reason: 'checkpoint signature does not verify' };
  const keyMatchesInstall = expectedKey ? fingerprint(expectedKey) === fingerprint(key) : null;
  if (keyMatchesInstall === false) return { ok: false, reason: `signed by key ${fingerprint(key)}, not by this install's key ${fingerprint(expectedKey!)}` };
  return { ok: true, count: cp.count, headHash: cp.headHash, keyFingerprint: fingerprint(key), keyMatchesInstall };
}
