import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from './store/db.ts';
import { createSecrets, loadSecrets, plainFileProtector, type SecretProtector, type Secrets } from './store/secrets.ts';
import { auditLogFor } from './audit/log.ts';
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
import { startIntegrityCheck, type IntegrityCheck } from './store/integrity.ts';
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
  /** The database integrity check of a long-running process (serve, desktop), run after start. */
  integrity?: IntegrityCheck;
  close(): void;
}

export function isInitialized(dataDir: string): boolean {
  return existsSync(join(dataDir, DB_FILE));
}

/** Creates the database and install secrets in a new data directory. */
export function initDataDir(dataDir: string, protector: SecretProtector = plainFileProtector): { db: Db; secrets: Secrets } {
  if (isInitialized(dataDir)) throw new Error(`${dataDir} already holds a Countersign database`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = createSecrets(dataDir, protector);
  const db = openDatabase(join(dataDir, DB_FILE), { create: true });
  auditLogFor(db).append({ event: 'system', decision: 'info', outcome: 'initialized' });
  writeCheckpoint(db, { dataDir, ...secrets });
  return { db, secrets };
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
    const keys = new KeyService(db, secrets.hmacKey);
    const policy = await new PolicyService(store, env).load();
    const approvals = new ApprovalLifecycle(store, bindingKey(secrets.hmacKey));
    const reports = new ReportJobs(db, dataDir);
    store.perBatch(() => keys.flushUse(), () => keys.discardUse());
    const gate = new Gate({
      store, keys, policy, approvals, limiter: new RateLimiter(), log, tools,
      services: { dataDir, startReport: (id) => reports.start(id) },
    });
    reports.resumePending();
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
    const integrity = opts.longRunning ? startIntegrityCheck(db.name, log) : undefined;
    const audit = auditLogFor(db);
    const anchors = opts.longRunning ? startAnchoring(db, { dataDir, anchorDir: opts.anchorDir ?? (env.COUNTERSIGN_ANCHOR_DIR || undefined), ...secrets },
      { everyEntries: () => policy.values.auditCheckpointEveryEntries, everyMinutes: () => policy.values.auditCheckpointEveryMinutes }, log) : undefined;
    if (opts.longRunning) {
      audit.catchUp();
      timers.push(setInterval(() => {
        try {
          audit.catchUp();
        } catch (e) {
          log('reading audit entries from other processes failed', e);
        }
      }, opts.externalChangesMs ?? 1_000).unref());
    }
    return {
      dataDir, db, store, secrets, keys, policy, approvals, gate, reports, log, integrity,
      close() {
        for (const t of timers) clearInterval(t);
        void integrity?.stop();
        void checkpointer?.stop();
        audit.close();
        anchors?.stop();
        db.close();
      },
    };
  } catch (e) {
    for (const t of timers) clearInterval(t);
    db.close();
    throw e;
  }
}
