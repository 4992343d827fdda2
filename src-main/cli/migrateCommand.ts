// countersign migrate --from-sqlite D --store URL [--data-dir T]: an embedded install becomes a team install. The rows
// go to PostgreSQL in one transaction; the data directory's files (secrets, checkpoint file, agent certificate) stay in
// D or are copied to T. Success is reported only after the copy verifies on the PostgreSQL side: the hash chain, every
// signed checkpoint line against the log, and the same entry count and head as the original.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { DB_FILE, isInitialized, openApp } from '../app.ts';
import { checkpointFiles } from '../audit/anchor.ts';
import { verifyAnchored } from '../audit/anchorVerify.ts';
import { openDatabase } from '../store/db.ts';
import { sqliteSql } from '../store/sql.ts';
import { loadSecrets } from '../store/secrets.ts';
import { copySqliteToPg } from '../store/pg/copy.ts';
import { migratePg } from '../store/pg/migrate.ts';
import { pgTypes } from '../store/pg/sql.ts';
import { openPgReader } from '../store/pg/store.ts';
import { SERVING_FILE } from '../serving.ts';
import { parseFlags, storeField, storeOf, UsageError } from './args.ts';
import type { Io } from './commands.ts';

const Flags = z.object({ 'from-sqlite': z.string({ error: '--from-sqlite D is required' }).min(1), 'data-dir': z.string().min(1).optional(), ...storeField });

/** Files of a data directory that are not the SQLite database: what a team node needs next to PostgreSQL. */
const nodeFiles = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith(DB_FILE) && f !== SERVING_FILE);

export async function migrate(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, { 'from-sqlite': { type: 'string' }, 'data-dir': { type: 'string' }, store: { type: 'string' } }, Flags);
  const url = storeOf(flags, io.env);
  if (!url) throw new UsageError('give the target with --store postgres://… (or COUNTERSIGN_DATABASE_URL)');
  const from = resolve(flags['from-sqlite']);
  const to = resolve(flags['data-dir'] ?? from);
  if (!isInitialized(from)) throw new UsageError(`${from} holds no Countersign database`);
  if (to !== from && existsSync(to) && readdirSync(to).length) throw new UsageError(`--data-dir ${to} is not empty`);
  const { verifyKey } = loadSecrets(from);

  // The original is migrated to this version's schema first (by the app, which binds the console credentials of an
  // older schema at that moment), and must itself verify: a broken log is not carried over.
  await (await openApp(from, { env: io.env, log: (m) => io.err(m) })).close();
  const db = openDatabase(join(from, DB_FILE));
  let source;
  try {
    source = await verifyAnchored(sqliteSql(db), verifyKey, checkpointFiles(from, verifyKey));
    if (!source.ok) {
      io.err(`the original's audit log does not verify (${source.case}): ${source.reason}; nothing was copied`);
      return 1;
    }
    const client = new pg.Client({ connectionString: url, types: pgTypes, application_name: 'countersign-migrate' });
    // A session the server ends between two statements fails the next one with its reason, not the process.
    client.on('error', () => {});
    await client.connect();
    try {
      await migratePg(client);
      const report = await copySqliteToPg(db, client, (table, rows) => io.err(`copied ${table}: ${rows} row(s)`));
      io.err(`copied ${report.tables.reduce((n, t) => n + t.rows, 0)} rows in ${report.tables.length} tables in ${Math.round(report.ms)} ms`);
    } finally {
      await client.end().catch(() => {});
    }
  } finally {
    db.close();
  }
  if (to !== from) {
    mkdirSync(to, { recursive: true, mode: 0o700 });
    for (const f of nodeFiles(from)) cpSync(join(from, f), join(to, f), { recursive: true });
  }

  const reader = await openPgReader(url);
  try {
    const copy = await verifyAnchored(reader.sql, verifyKey, checkpointFiles(to, verifyKey));
    if (!copy.ok) {
      io.err(`the copy does NOT verify on PostgreSQL (${copy.case}): ${copy.reason}`);
      return 1;
    }
    if (copy.count !== source.count || copy.headHash !== source.headHash || copy.checkpoints !== source.checkpoints) {
      io.err(`the copy differs from the original: ${copy.count} entries ending ${copy.headHash} (${copy.checkpoints} checkpoints), the original ${source.count} ending ${source.headHash} (${source.checkpoints})`);
      return 1;
    }
    io.out(`migrated: ${copy.count} audit entries, head ${copy.headHash}, ${copy.checkpoints} signed checkpoint(s) verify on PostgreSQL; serve with --data-dir ${to} --store URL`);
    return 0;
  } finally {
    await reader.close();
  }
}
