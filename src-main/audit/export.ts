import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Sql } from '../store/sql.ts';
import { canonicalJson } from '../store/canonical.ts';
import { auditRows, verifyRows, type AuditRow } from './log.ts';
import { checkpointRecord, recordOfLine, toOcsf, toSyslog, type ExportFormat } from './siem.ts';
import { pauses } from '../pauses.ts';

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

export interface ExportOptions {
  /** jsonl: the stored rows as they are; ocsf: OCSF 1.5.0 API Activity events; syslog: RFC 5424 lines. */
  format?: ExportFormat;
  /** The product version named in OCSF metadata. */
  productVersion?: string;
}

/** Where an export's text goes, in chunks of whole lines; a returned promise holds the export until it is taken. */
export type ExportSink = (chunk: string) => void | Promise<void>;

/** Lines are handed to the sink in chunks of about this many characters (a write per line costs more than the line). */
const CHUNK = 64 * 1024;

export function exportFileName(format: ExportFormat, at: Date): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return `countersign-audit-${stamp}${format === 'jsonl' ? '' : `-${format}`}.${format === 'syslog' ? 'log' : 'jsonl'}`;
}

export const exportMediaType = (format: ExportFormat) => (format === 'syslog' ? 'text/plain' : 'application/x-ndjson');

/**
 * Writes every entry up to the head found at the start as one line in the chosen format, then the signed checkpoint,
 * to `sink`. The log is append-only, so those entries are one consistent prefix however long the export takes; only a
 * chunk is ever held, whatever the size of the log.
 */
export async function writeExport(sql: Sql, sink: ExportSink, signingKey: KeyObject, verifyKey: KeyObject, opts: ExportOptions = {}): Promise<Checkpoint> {
  const format = opts.format ?? 'jsonl';
  const product = { version: opts.productVersion ?? '0' };
  const line = format === 'jsonl' ? (r: AuditRow) => JSON.stringify(r) : format === 'ocsf' ? (r: AuditRow) => JSON.stringify(toOcsf(r, product)) : toSyslog;
  const through = (await sql.get<{ seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM audit_log'))!.seq;
  let count = 0;
  let head = { seq: 0, hash: '0'.repeat(64) };
  let chunk = '';
  const pause = pauses();
  for await (const row of auditRows(sql, { throughSeq: through })) {
    chunk += `${line(row)}\n`;
    head = { seq: row.seq, hash: row.hash };
    count++;
    if (chunk.length >= CHUNK) {
      const taken = sink(chunk);
      chunk = '';
      if (taken) await taken;
    }
    const p = pause();
    if (p) await p;
  }
  const body = { count, headSeq: head.seq, headHash: head.hash, exportedAt: new Date().toISOString() };
  const cp: Checkpoint = {
    type: 'checkpoint', ...body,
    publicKey: verifyKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    signature: sign(null, signedPart(body), signingKey).toString('base64'),
  };
  await sink(`${chunk}${checkpointRecord(format, cp, product)}\n`);
  return cp;
}

/** The export as a new file (never an existing one: opened with O_EXCL), fsynced before the checkpoint is returned. */
export async function exportAudit(sql: Sql, file: string, signingKey: KeyObject, verifyKey: KeyObject, opts: ExportOptions = {}): Promise<Checkpoint> {
  const fd = openSync(file, 'wx', 0o600);
  try {
    const checkpoint = await writeExport(sql, (chunk) => void writeSync(fd, chunk), signingKey, verifyKey, opts);
    fsyncSync(fd);
    return checkpoint;
  } finally {
    closeSync(fd);
  }
}

export type ExportVerify =
  | { ok: true; count: number; headHash: string; keyFingerprint: string }
  | { ok: false; reason: string; badSeq?: number; untrusted?: boolean };

/** Whom to trust: a public key (the install's, or one given by the technician), or only the fingerprint of one. */
export type ExportTrust = { key: KeyObject } | { fingerprint: string };

/**
 * Offline check of an export in any format: the chain recomputes, the checkpoint names its head, the signature holds,
 * and it is the signature of a trusted key. Without a trusted key the answer is never OK: the key inside the file proves
 * nothing, anyone can re-sign an export with a key of their own.
 */
export async function verifyExport(file: string, trust?: ExportTrust): Promise<ExportVerify> {
  const rows: AuditRow[] = [];
  let last: string | undefined;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  const parse = (text: string, n: number): unknown => {
    try {
      return recordOfLine(text);
    } catch {
      throw new Error(`line ${n} is not an audit record`);
    }
  };
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      if (last !== undefined) rows.push(parse(last, lineNo - 1) as AuditRow);
      last = line;
    }
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (last === undefined) return { ok: false, reason: 'export is empty' };
  let cp: Checkpoint;
  try {
    cp = Checkpoint.parse(parse(last, lineNo));
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
  const signer = fingerprint(key);
  if (!trust) {
    return { ok: false, untrusted: true, reason: `the chain is consistent and signed by key ${signer}, but no trusted key was given: anyone can re-sign an export. Give --data-dir D (this install's key) or --pubkey FILE|FINGERPRINT` };
  }
  const trusted = 'key' in trust ? fingerprint(trust.key) : trust.fingerprint.toLowerCase();
  if (signer !== trusted) return { ok: false, reason: `signed by key ${signer}, not by the trusted key ${trusted}` };
  return { ok: true, count: cp.count, headHash: cp.headHash, keyFingerprint: signer };
}
