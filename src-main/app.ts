import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from './store/db.ts';
import { createSecrets, loadSecrets, plainFileProtector, type SecretProtector, type Secrets } from './store/secrets.ts';
import { KeyService } from './auth/keys.ts';
import { PolicyService } from './governance/policy.ts';
import { RateLimiter } from './governance/rateLimiter.ts';
import { ApprovalLifecycle } from './governance/approvals.ts';
import { bindingKey } from './governance/binding.ts';
import { Gate } from './governance/gate.ts';
import { fleetTools } from './tools/registry.ts';
import type { ToolSpec } from './tools/types.ts';
import { ReportJobs } from './reports/generator.ts';
import { sqliteStore, type Store } from './store/store.ts';
import { startCheckpointer } from './store/checkpointer.ts';
import { startAnchoring, writeCheckpoint } from './audit/anchor.ts';

export const DB_FILE = 'countersign.db';

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
}

/** Everything `serve` and the desktop app run, built from one data directory. */
export interface App {
  dataDir: string;
  db: Db;
  store: Store;
  secrets: Secrets;
  keys: KeyService;
  policy: PolicyService;
  approvals: ApprovalLifecycle;
  gate: Gate;
  reports: ReportJobs;
  log: (msg: string, err?: unknown) => void;
  /** Stops the timers, writes what is still queued and closes the store; resolves once it is closed. */
  close(): Promise<void>;
}

export function isInitialized(dataDir: string): boolean {
  return existsSync(join(dataDir, DB_FILE));
}

/**
 * Creates the database and install secrets in a new data directory. The store is open on return (close it, or its
 * database handle); every write it made has committed.
 */
export async function initDataDir(dataDir: string, protector: SecretProtector = plainFileProtector): Promise<{ db: Db; store: Store; secrets: Secrets }> {
  if (isInitialized(dataDir)) throw new Error(`${dataDir} already holds a Countersign database`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = createSecrets(dataDir, protector);
  const db = openDatabase(join(dataDir, DB_FILE), { create: true });
  const store = sqliteStore(db, { signingKey: secrets.signingKey });
  await store.audit.append({ event: 'system', decision: 'info', outcome: 'initialized' });
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
  if (!isInitialized(dataDir)) throw new Error(`${dataDir} holds no Countersign database; run: countersign init --data-dir ${dataDir}`);
  const env = opts.env ?? process.env;
  const db = openDatabase(join(dataDir, DB_FILE), { durability: env.COUNTERSIGN_DURABILITY === 'full' ? 'full' : 'normal' });
  const log = opts.log ?? ((msg: string, err?: unknown) => console.error(`[countersign] ${msg}`, err ?? ''));
  const timers: NodeJS.Timeout[] = [];
  try {
    const secrets = loadSecrets(dataDir, opts.protector);
    // Device commands are signed with the install key when they are queued; agents verify them with its public half.
    const store = sqliteStore(db, { signingKey: secrets.signingKey, log });
    const keys = new KeyService(store, secrets.hmacKey);
    const policy = await new PolicyService(store, env).load();
    const approvals = new ApprovalLifecycle(store, bindingKey(secrets.hmacKey));
    const reports = new ReportJobs(store, dataDir);
    store.perBatch((sql) => keys.flushUse(sql), () => keys.discardUse());
    const gate = new Gate({
      store, keys, policy, approvals, limiter: new RateLimiter(), log, tools,
      services: { dataDir, startReport: (id) => reports.start(id) },
    });
    await reports.resumePending();
    const sweep = async () => {
      try {
        await approvals.expireDue();
      } catch (e) {
        log('approval expiry sweep failed', e);
      }
    };
    await sweep();
    timers.push(setInterval(() => void sweep(), opts.expirySweepMs ?? 5_000).unref());
    const checkpointer = opts.longRunning ? startCheckpointer(db, { log }) : undefined;
    const audit = store.audit;
    const anchors = opts.longRunning ? startAnchoring(store, { dataDir, anchorDir: opts.anchorDir ?? (env.COUNTERSIGN_ANCHOR_DIR || undefined), ...secrets },
      { everyEntries: () => policy.values.auditCheckpointEveryEntries, everyMinutes: () => policy.values.auditCheckpointEveryMinutes }, log) : undefined;
    if (opts.longRunning) {
      await audit.catchUp();
      timers.push(setInterval(() => {
        audit.catchUp().catch((e: unknown) => log('reading audit entries from other processes failed', e));
      }, opts.externalChangesMs ?? 1_000).unref());
    }
    let closing: Promise<void> | undefined;
    return {
      dataDir, db, store, secrets, keys, policy, approvals, gate, reports, log,
      close() {
        closing ??= (async () => {
          for (const t of timers) clearInterval(t);
          reports.stop();
          await anchors?.stop();
          await checkpointer?.stop();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    for (const t of timers) clearInterval(t);
    db.close();
    throw e;
  }
}
