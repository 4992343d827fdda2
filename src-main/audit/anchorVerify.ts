// `audit verify` for an install: the hash chain, then every checkpoint file line by line, then the files against the
// checkpoints the database recorded, then every checkpoint against the chain. The first inconsistency is named, with
// what it means (edited, deleted, truncated, rewritten and re-chained, key swapped).
import type { KeyObject } from 'node:crypto';
import type { Sql } from '../store/sql.ts';
import { fingerprint } from './export.ts';
import { verifyChain, type VerifyResult } from './log.ts';
import { CheckpointLine, NO_PREV, sha256, signatureHolds, type CheckpointRecord } from './anchor.ts';
import { readCheckpointFile } from './checkpointFile.ts';

export type AnchoredVerify =
  | { ok: true; count: number; headSeq: number; headHash: string; checkpoints: number; files: string[]; latest: CheckpointRecord | null }
  | { ok: false; case: FailureCase; reason: string; badSeq?: number };

export type FailureCase = 'chain_broken' | 'rewritten' | 'truncated' | 'file_missing' | 'file_edited' | 'file_truncated' | 'key_swapped';

const fail = (c: FailureCase, reason: string, badSeq?: number): AnchoredVerify => ({ ok: false, case: c, reason, ...(badSeq === undefined ? {} : { badSeq }) });

/**
 * `trusted` is the key checkpoints must be signed with: the install's (from its secrets) or one the technician gives.
 * `files` are the checkpoint files to hold against the log (the data directory's, and the anchor directory's if any).
 * `chainOf` checks the hash chain: page by page over the Sql seam by default; on SQLite, callers pass the check that
 * hashes ranges on every core (chainVerify.ts).
 */
export async function verifyAnchored(sql: Sql, trusted: KeyObject, files: string[], chainOf: (sql: Sql) => Promise<VerifyResult> = verifyChain): Promise<AnchoredVerify> {
  const chain = await chainOf(sql);
  if (!chain.ok) return fail('chain_broken', `${chain.reason} (${chain.count} entries verified before it)`, chain.badSeq);
  const trustedFp = fingerprint(trusted);
  const records = await sql.all<CheckpointRecord>('SELECT * FROM audit_checkpoints ORDER BY n');
  const hashAt = async (seq: number) => (await sql.get<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = ?', [seq]))?.hash;

  // Keys first: a record signed by another key than the trusted one means the install's key was replaced.
  for (const r of records) {
    if (r.key_fingerprint !== trustedFp) {
      return fail('key_swapped', `the log recorded checkpoint ${r.n} as signed by key ${r.key_fingerprint}, but the trusted key is ${trustedFp}: the signing key was swapped`);
    }
  }
  for (const file of files) {
    const lines = readCheckpointFile(file);
    if (!lines) {
      if (records.length === 0) continue;
      return fail('file_missing', `checkpoint file ${file} is missing (deleted?), but the log records ${records.length} checkpoint(s) written to it`);
    }
    let prev = NO_PREV;
    for (let i = 0; i < lines.length; i++) {
      const at = `line ${i + 1} of ${file}`;
      let line: CheckpointLine;
      try {
        line = CheckpointLine.parse(JSON.parse(lines[i]!));
      } catch {
        return fail('file_edited', `${at} is not a checkpoint: the file was edited`);
      }
      if (line.key !== trustedFp) return fail('key_swapped', `${at} (checkpoint ${line.n}) is signed by key ${line.key}, not by the trusted key ${trustedFp}: the signing key was swapped`);
      if (!signatureHolds(line, trusted)) return fail('file_edited', `${at} (checkpoint ${line.n}) was edited: its signature does not verify`);
      if (line.n !== i + 1 || line.prev !== prev) return fail('file_edited', `${at} is checkpoint ${line.n} and does not follow the line before it: lines were deleted, reordered or replaced`);
      prev = sha256(lines[i]!);
      const r = records[i];
      if (r && r.line_sha256 !== prev) return fail('file_edited', `${at} differs from checkpoint ${r.n} as the log recorded it: the file was edited or replaced`);
      // Against the chain: the entry each checkpoint named must still be there, with the hash it had.
      if (line.headSeq > chain.headSeq) {
        return fail('truncated', `checkpoint ${line.n} covers entries up to ${line.headSeq}, but the log ends at entry ${chain.headSeq}: its tail was cut off`, chain.headSeq + 1);
      }
      if (line.headSeq > 0 && (await hashAt(line.headSeq)) !== line.headHash) {
        return fail('rewritten', `entry ${line.headSeq} is not the one checkpoint ${line.n} signed: the history up to it was rewritten and re-chained`, line.headSeq);
      }
      if (line.count !== line.headSeq) return fail('rewritten', `checkpoint ${line.n} counted ${line.count} entries up to entry ${line.headSeq}`, line.headSeq);
    }
    if (lines.length < records.length) {
      return fail('file_truncated', `${file} ends at checkpoint ${lines.length}, but the log records ${records.length}: lines were removed from the file`);
    }
  }
  // Records hold for the log too, even where a file is gone from the list (an anchor directory not given this time).
  for (const r of records) {
    if (r.head_seq > chain.headSeq) return fail('truncated', `checkpoint ${r.n} covers entries up to ${r.head_seq}, but the log ends at entry ${chain.headSeq}: its tail was cut off`, chain.headSeq + 1);
    if (r.head_seq > 0 && (await hashAt(r.head_seq)) !== r.head_hash) return fail('rewritten', `entry ${r.head_seq} is not the one checkpoint ${r.n} signed: the history up to it was rewritten and re-chained`, r.head_seq);
  }
  return { ok: true, count: chain.count, headSeq: chain.headSeq, headHash: chain.headHash, checkpoints: records.length, files, latest: records.at(-1) ?? null };
}
