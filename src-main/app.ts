import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DB_FILE, openDatabase, type Db } from './store/db.ts';
import { createSecrets, loadSecrets, plainFileProtector, secretsPath, type SecretProtector, type Secrets } from './store/secrets.ts';
import type { PgStore } from './store/pg/store.ts';
import type { Budgets } from './governance/rateLimiter.ts';
import { KeyService } from './auth/keys.ts';
import { createLog } from './log.ts';
import { TechnicianService } from './auth/technicians.ts';
import { bindApiKeysAtUpgrade, bindAtUpgrade, bindingMoment, markSchemaRecorded, recordSchema, tamperReporter } from './auth/credentialBinding.ts';
import { FourEyes } from './governance/fourEyes.ts';
import { PolicyService } from './governance/policy.ts';
import { bindPolicyAt } from './governance/policyBinding.ts';
import { RateLimiter } from './governance/rateLimiter.ts';
import { ApprovalLifecycle } from './governance/approvals.ts';
import { bindingKey } from './governance/binding.ts';
import { Gate } from './governance/gate.ts';
import { fleetTools } from './tools/registry.ts';
import { MIGRATIONS } from './store/migrations/index.ts';
import type { ToolSpec } from './tools/types.ts';
import { ReportJobs } from './reports/generator.ts';
import { sqliteStore, type Store } from './store/store.ts';
import { startCheckpointer } from './store/checkpointer.ts';
import { startIntegrityCheck } from './store/integrity.ts';
import { INTEGRITY_EVERY_MS, recurringIntegrityCheck, type RecurringIntegrityCheck } from './store/integrityEvery.ts';
import { startSummaryCheck } from './audit/facetCheck.ts';
import { startAnchoring, writeCheckpoint } from './audit/anchor.ts';

export { DB_FILE };

export interface AppOptions {
  env?: NodeJS.ProcessEnv;
  /** The protectors this process may open the secrets with; the one recorded in the file is used. */
  protector?: SecretProtector | readonly SecretProtector[];
  log?: (msg: string, err?: unknown) => void;
  /** How often pending approvals are checked for expiry. */
  expirySweepMs?: number;
  /** With longRunning: how often other processes' audit entries are looked for (default 1 s). */
  externalChangesMs?: number;
  /**
   * Long-running processes (serve, the desktop app): WAL checkpoints on a worker thread, not inside commits, and
   * audit entries committed by other processes (the CLI) delivered to listeners (the console) within a second.
   */
  longRunning?: boolean;
  /** A second directory (another volume) for the signed audit checkpoints; default COUNTERSIGN_ANCHOR_DIR. */
  anchorDir?: string;
  /** With longRunning: how long after each integrity check the next one runs (default INTEGRITY_EVERY_MS, 6 hours). */
  integrityEveryMs?: number;
  /**
   * Team mode: a postgres:// URL. The data directory then holds the install secrets (the same file on every node), the
   * agent certificate and the checkpoint file; the data itself lives in PostgreSQL. Without it: the SQLite file.
   */
  storeUrl?: string;
}

/** Everything `serve` and the desktop app run, built from one data directory. */
export interface App {
  dataDir: string;
  /** The SQLite handle (tests and SQLite-only maintenance); in team mode any use of it throws. */
  db: Db;
  store: Store;
  secrets: Secrets;
  keys: KeyService;
  /** Technician accounts (team mode); none on an install that still uses the single console passphrase. */
  technicians: TechnicianService;
  /** Four-eyes rules and the approvals given so far. */
  fourEyes: FourEyes;
  policy: PolicyService;
  approvals: ApprovalLifecycle;
  gate: Gate;
  reports: ReportJobs;
  log: (msg: string, err?: unknown) => void;
  /** The database integrity check of a long-running process (serve, desktop), run after start and again every few hours (PostgreSQL: the audit summaries only). */
  integrity?: RecurringIntegrityCheck;
  /** Stops the timers, writes what is still queued and closes the store; resolves once it is closed. */
  close(): Promise<void>;
}

export function isInitialized(dataDir: string, storeUrl?: string): boolean {
  return existsSync(storeUrl ? secretsPath(dataDir) : join(dataDir, DB_FILE));
}

/** Stands in for the SQLite handle in team mode: a module that still reaches for it fails loudly, never silently. */
function noSqliteHandle(): Db {
  return new Proxy({} as Db, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      throw new Error(`team mode (PostgreSQL) has no SQLite handle (app.db.${String(prop)}); go through app.store`);
    },
  });
}

/** The store of a data directory: its SQLite file, or the PostgreSQL database at storeUrl. */
async function openStoreOf(dataDir: string, signingKey: Secrets['signingKey'], o: { storeUrl?: string; create?: boolean; durability?: 'normal' | 'full'; log?: (msg: string, err?: unknown) => void }): Promise<{ db: Db; store: Store; sqlite: boolean; migrated: { from: number; to: number } }> {
  let migrated = { from: 0, to: 0 };
  const onMigrated = (r: typeof migrated) => { migrated = r; };
  // PostgreSQL's driver is loaded only in team mode: the embedded default starts without it.
  if (o.storeUrl) {
    const { openPgStore } = await import('./store/pg/store.ts');
    return { db: noSqliteHandle(), store: await openPgStore({ url: o.storeUrl, signingKey, log: o.log, onMigrated }), sqlite: false, migrated };
  }
  const db = openDatabase(join(dataDir, DB_FILE), { create: o.create, durability: o.durability, onMigrated });
  return { db, store: sqliteStore(db, { signingKey, log: o.log }), sqlite: true, migrated };
}

/**
 * Creates the database and install secrets in a new data directory. The store is open on return (close it, or its
 * database handle); every write it made has committed.
 */
export async function initDataDir(dataDir: string, protector: SecretProtector = plainFileProtector, opts: { storeUrl?: string } = {}): Promise<{ db: Db; store: Store; secrets: Secrets }> {
  if (isInitialized(dataDir, opts.storeUrl)) throw new Error(`${dataDir} already holds a Countersign ${opts.storeUrl ? 'install (secrets.json)' : 'database'}`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = createSecrets(dataDir, protector);
  let opened: Awaited<ReturnType<typeof openStoreOf>>;
  try {
    opened = await openStoreOf(dataDir, secrets.signingKey, { storeUrl: opts.storeUrl, create: true });
  } catch (e) {
    // Nothing was made with these secrets (a mistyped PostgreSQL URL, a database that refused): a retry must not find
    // them and refuse the directory as an install.
    rmSync(secretsPath(dataDir), { force: true });
    throw e;
  }
  const { db, store } = opened;
  // A team database is initialized once: the second node joins it with a copy of the first node's secrets.json.
  if ((await store.audit.count()) > 0) {
    await store.close();
    rmSync(secretsPath(dataDir), { force: true });
    throw new Error('the PostgreSQL database already holds a Countersign install; copy secrets.json from a node of it into this data directory instead of running init');
  }
  // The schema it was made at: a later start can tell a rolled-back schema version from an upgrade (bindingMoment).
  // Recorded in the log, recordSchema has nothing to add: its settings flag is set with it, so no start scans the log.
  const schemaVersion = MIGRATIONS.at(-1)!.version;
  await store.write(async (tx) => {
    await tx.audit({ event: 'system', decision: 'info', outcome: 'initialized', detail: { schemaVersion } });
    await markSchemaRecorded(tx.sql, schemaVersion);
  });
  await bindPolicyAt(store, bindingKey(secrets.hmacKey), 'init');
  await writeCheckpoint(store, { dataDir, ...secrets });
  return { db, store, secrets };
}

/** The product: the fleet tools behind the gate, over the data directory. */
export function openApp(dataDir: string, opts: AppOptions = {}): Promise<App> {
  return composeApp(dataDir, fleetTools(), opts);
}

/**
 * Builds the app with a given tool catalogue. The product passes the fleet tools (openApp); benchmarks and tests
 * compose their own catalogue here. Whatever the catalogue, every tool is reached only through the gate.
 */
export async function composeApp(dataDir: string, tools: readonly ToolSpec[], opts: AppOptions = {}): Promise<App> {
  if (!isInitialized(dataDir, opts.storeUrl)) throw new Error(`${dataDir} holds no Countersign ${opts.storeUrl ? 'secrets.json' : 'database'}; run: countersign init --data-dir ${dataDir}${opts.storeUrl ? ' --store URL' : ''}`);
  const env = opts.env ?? process.env;
  const log = opts.log ?? createLog(env);
  const secrets = loadSecrets(dataDir, opts.protector);
  // Device commands are signed with the install key when they are queued; agents verify them with its public half.
  const { db, store, sqlite, migrated } = await openStoreOf(dataDir, secrets.signingKey, { storeUrl: opts.storeUrl, durability: env.COUNTERSIGN_DURABILITY === 'full' ? 'full' : 'normal', log });
  const timers: NodeJS.Timeout[] = [];
  // What a start that fails part-way has already started (report jobs, background checkpoints, anchoring) is stopped
  // before the store closes: a failed start leaves no worker thread or job writing behind it.
  const started: (() => Promise<unknown>)[] = [];
  try {
    const tampered = tamperReporter(store, log);
    const keys = new KeyService(store, secrets.hmacKey, tampered);
    const technicians = new TechnicianService(store, bindingKey(secrets.hmacKey), tampered);
    // An open that added a binding (the upgrade to the version that has it) binds the rows as they stand, once: they are
    // the trusted state. A database whose schema was rolled back past a binding it had gets nothing bound.
    const key = bindingKey(secrets.hmacKey);
    const bindOnce = async (migration: string, outcome: string, bind: () => Promise<string>) => {
      const moment = await bindingMoment(store.sql, migrated, migration, outcome);
      if (moment === 'upgrade') log(await bind());
      if (moment === 'rolled back') {
        log(`the database's schema says it predates ${migration}, but its audit log shows that binding existed: nothing is bound now, and rows written unbound stay unverified`);
        await store.write((tx) => tx.audit({ event: 'system', decision: 'rejected', code: 'TAMPERED', rule: 'credential_binding', outcome: `schema rolled back past ${migration}` }), { oneWrite: true });
      }
    };
    await bindOnce('credential-binding', 'credentials bound at upgrade',
      async () => `bound the console credentials that existed before this version: ${JSON.stringify(await bindAtUpgrade(store, key))}`);
    await bindOnce('api-key-binding', 'API keys bound at upgrade', async () => `bound the API keys that existed before this version: ${await bindApiKeysAtUpgrade(store, key)}`);
    technicians.events.on('changed', () => keys.invalidate());
    await bindOnce('policy-binding', 'policy bound at upgrade', async () => {
      const rows = await bindPolicyAt(store, key, 'upgrade');
      return `bound the governance policy that existed before this version: ${rows.settings.length} settings, ${rows.overrides.length} tier overrides, ${rows.rules.length} four-eyes rules`;
    });
    await recordSchema(store, migrated.to);
    const policy = await new PolicyService(store, env, bindingKey(secrets.hmacKey), tampered).load();
    const approvals = new ApprovalLifecycle(store, bindingKey(secrets.hmacKey));
    const fourEyes = new FourEyes(bindingKey(secrets.hmacKey), policy);
    const reports = new ReportJobs(store, dataDir);
    const limiter: Budgets = sqlite ? new RateLimiter() : (await import('./store/pg/budgets.ts')).sharedBudgets(store.sql);
    const gate = new Gate({
      store, keys, policy, approvals, fourEyes, limiter, log, tools,
      services: { dataDir, startReport: (id) => reports.start(id) },
    });
    await reports.resumePending();
    started.push(async () => reports.stop());
    const sweep = async () => {
      try {
        await approvals.expireDue();
      } catch (e) {
        log('approval expiry sweep failed', e);
      }
    };
    await sweep();
    timers.push(setInterval(() => void sweep(), opts.expirySweepMs ?? 5_000).unref());
    const checkpointer = opts.longRunning && sqlite ? startCheckpointer(db, { log }) : undefined;
    if (checkpointer) started.push(() => checkpointer.stop());
    const audit = store.audit;
    const anchors = opts.longRunning ? startAnchoring(store, { dataDir, anchorDir: opts.anchorDir ?? (env.COUNTERSIGN_ANCHOR_DIR || undefined), ...secrets },
      { everyEntries: () => policy.values.auditCheckpointEveryEntries, everyMinutes: () => policy.values.auditCheckpointEveryMinutes }, log) : undefined;
    if (anchors) started.push(() => anchors.stop());
    let offRemote: (() => void) | undefined;
    if (opts.longRunning) {
      await audit.catchUp();
      // Another process's writes: audit entries, and a policy change (the CLI's four-eyes rules; another node's settings).
      const catchUp = () => {
        void audit.catchUp().catch((e: unknown) => log('reading audit entries from other processes failed', e));
        void policy.refresh().catch((e: unknown) => log('reading the policy another process changed failed', e));
      };
      timers.push(setInterval(catchUp, opts.externalChangesMs ?? 1_000).unref());
      // Team mode: another node's commit is announced at once (LISTEN/NOTIFY), not found by the next poll.
      if ('onRemoteCommit' in store) offRemote = (store as PgStore).onRemoteCommit(catchUp);
    }
    // Started last: nothing after it can fail the start, so a failed start leaves no recurring check behind.
    const integrity = !opts.longRunning ? undefined
      : recurringIntegrityCheck(() => (sqlite ? startIntegrityCheck(db.name, log) : startSummaryCheck(store.sql, log)), opts.integrityEveryMs ?? INTEGRITY_EVERY_MS, log);
    let closing: Promise<void> | undefined;
    return {
      dataDir, db, store, secrets, keys, technicians, fourEyes, policy, approvals, gate, reports, log, integrity,
      close() {
        closing ??= (async () => {
          for (const t of timers) clearInterval(t);
          offRemote?.();
          reports.stop();
          // Asked at once; a check inside SQLite's quick_check is waited out (integrity.ts). Before the last checkpoint
          // and the store's close: while its read snapshot is open the checkpointer cannot copy the newest frames, and
          // the store's connection, not the last one, would leave the write-ahead log unsynced on close.
          const integrityStopped = integrity?.stop();
          await tampered.settled();
          await integrityStopped;
          // What was started, last first (anchoring, the checkpointer, report jobs), as a failed start stops it.
          for (const stop of started.reverse()) await stop();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    for (const t of timers) clearInterval(t);
    for (const stop of started.reverse()) await stop().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  }
}
