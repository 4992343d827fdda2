// countersign audit verify|export|key: the chain against its signed checkpoints, SIEM exports, the key to trust.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DB_FILE, openDatabase } from '../store/db.ts';
import { sqliteSql, type Sql } from '../store/sql.ts';
import { loadSecrets } from '../store/secrets.ts';
import { exportAudit, fingerprint, verifyExport, type ExportTrust } from '../audit/export.ts';
import { checkpointFiles, checkpointFingerprint } from '../audit/anchor.ts';
import { verifyAnchored } from '../audit/anchorVerify.ts';
import { verifyChain as verifyChainOnCores } from '../audit/chainVerify.ts';
import type { VerifyResult } from '../audit/log.ts';
import { EXPORT_FORMATS } from '../audit/siem.ts';
import { dataDirFlag, dataDir, parseFlags, UsageError, storeField, storeOf } from './args.ts';
import type { Io } from './commands.ts';

const FINGERPRINT = /^[0-9a-f]{32}$/i;

/** --pubkey: a fingerprint (32 hex digits, as `audit key` and the console show it) or a PEM public key file. */
function pubkeyOf(value: string): ExportTrust {
  if (FINGERPRINT.test(value)) return { fingerprint: value.toLowerCase() };
  let pem: string;
  try {
    pem = readFileSync(value, 'utf8');
  } catch (e) {
    throw new UsageError(`--pubkey ${value}: neither a key fingerprint (32 hex digits) nor a readable file (${(e as Error).message})`);
  }
  try {
    return { key: createPublicKey(pem) };
  } catch {
    throw new UsageError(`--pubkey ${value}: not a PEM public key`);
  }
}

const VerifyFlags = z.object({
  'data-dir': z.string().optional(), export: z.string().optional(), pubkey: z.string().optional(), 'anchor-dir': z.string().optional(), ...storeField,
}).refine((f) => f['data-dir'] || f.export, 'give --data-dir D or --export F');

async function verify(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, { ...dataDirFlag, export: { type: 'string' }, pubkey: { type: 'string' }, 'anchor-dir': { type: 'string' } }, VerifyFlags);
  const given = flags.pubkey ? pubkeyOf(flags.pubkey) : undefined;
  if (flags.export) {
    // The install's key, or one the technician holds: the key inside the file proves nothing.
    const trust = given ?? (flags['data-dir'] ? { key: loadSecrets(resolve(flags['data-dir'])).verifyKey } : undefined);
    const r = await verifyExport(flags.export, trust);
    if (!r.ok) {
      io.out(r.untrusted ? `export NOT VERIFIED: ${r.reason}` : `export INVALID: ${r.reason}`);
      return 1;
    }
    io.out(`export OK: ${r.count} entries, head ${r.headHash}, signed by the trusted key ${r.keyFingerprint}`);
    return 0;
  }
  const dir = resolve(flags['data-dir']!);
  const installKey = loadSecrets(dir).verifyKey;
  let trusted: KeyObject = installKey;
  if (given && 'key' in given) trusted = given.key;
  if (given && 'fingerprint' in given && fingerprint(installKey) !== given.fingerprint) {
    io.out(`audit chain NOT VERIFIED (key_swapped): this install's key is ${fingerprint(installKey)}, not the trusted key ${given.fingerprint}: the signing key was swapped`);
    return 1;
  }
  const reader = await openReader(dir, storeOf(flags, io.env));
  try {
    const r = await verifyAnchored(reader.sql, trusted, checkpointFiles(dir, installKey, flags['anchor-dir'] ? resolve(flags['anchor-dir']) : undefined), reader.chain);
    if (!r.ok) {
      io.out(`audit chain BROKEN${r.badSeq ? ` at entry ${r.badSeq}` : ''} (${r.case}): ${r.reason}`);
      return 1;
    }
    const latest = r.latest ? `; latest checkpoint ${checkpointFingerprint(r.latest.n, r.latest.head_seq, r.latest.line_sha256)}` : '';
    io.out(`audit chain OK: ${r.count} entries, head ${r.headHash}; ${r.checkpoints} signed checkpoint(s) agree in ${r.files.length} file(s)${latest}`);
    return 0;
  } finally {
    await reader.close();
  }
}

/** The log to read: the data directory's SQLite file (read-only; its chain hashed on every core), or the team database. */
async function openReader(dir: string, storeUrl: string | undefined): Promise<{ sql: Sql; close(): Promise<void>; chain?: () => Promise<VerifyResult> }> {
  // PostgreSQL's driver and the MCP server's modules are loaded only by the commands that use them: start-up is
  // part of what `audit verify` costs.
  if (storeUrl) return (await import('../store/pg/store.ts')).openPgReader(storeUrl);
  const db = openDatabase(join(dir, DB_FILE), { readonly: true });
  return { sql: sqliteSql(db), close: async () => void db.close(), chain: () => verifyChainOnCores(db) };
}

const ExportFlags = z.object({ 'data-dir': dataDir, ...storeField, out: z.string({ error: '--out F is required' }).min(1), format: z.enum(EXPORT_FORMATS).default('jsonl') });

async function exportLog(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, { ...dataDirFlag, out: { type: 'string' }, format: { type: 'string' } }, ExportFlags);
  const dir = resolve(flags['data-dir']);
  const secrets = loadSecrets(dir);
  const reader = await openReader(dir, storeOf(flags, io.env));
  try {
    const cp = await exportAudit(reader.sql, resolve(flags.out), secrets.signingKey, secrets.verifyKey, { format: flags.format, productVersion: (await import('../mcp/sessionServer.ts')).SERVER_INFO.version });
    io.out(`exported ${cp.count} entries (${flags.format}) to ${resolve(flags.out)}; checkpoint head ${cp.headHash}, key ${fingerprint(secrets.verifyKey)}`);
    return 0;
  } finally {
    await reader.close();
  }
}

/** The public key checkpoints are signed with, to keep somewhere the data directory is not (for --pubkey). */
function key(argv: string[], io: Io): number {
  const { flags } = parseFlags(argv, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
  const { verifyKey } = loadSecrets(resolve(flags['data-dir']));
  io.err(`fingerprint ${fingerprint(verifyKey)}`);
  io.out(verifyKey.export({ type: 'spki', format: 'pem' }).toString().trimEnd());
  return 0;
}

export async function audit(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'verify') return verify(rest, io);
  if (sub === 'export') return exportLog(rest, io);
  if (sub === 'key') return key(rest, io);
  throw new UsageError('usage: countersign audit verify|export|key …');
}
