import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from './store/db.ts';
import { createSecrets, loadSecrets, plainFileProtector, type SecretProtector, type Secrets } from './store/secrets.ts';
import { auditLogFor } from './audit/log.ts';
import { KeyService } from './auth/keys.ts';
import { PolicyService } from './governance/policy.ts';
import { RateLimiter } from './governance/rateLimiter.ts';
import { ApprovalService } from './governance/approvals.ts';
import { Governance } from './governance/pipeline.ts';
import { allTools } from './tools/registry.ts';
import type { ToolSpec } from './tools/types.ts';
import { ReportJobs } from './reports/generator.ts';
import { GroupCommit } from './store/groupCommit.ts';
import { startCheckpointer } from './store/checkpointer.ts';
import { setCommandSigner } from './agentServer/signing.ts';
import { startAnchoring, writeCheckpoint } from './audit/anchor.ts';

export const DB_FILE = 'countersign.db';

export interface AppOptions {
  env?: NodeJS.ProcessEnv;
  protector?: SecretProtector;
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
  /** Benchmark and test builds only: more tools behind the same pipeline. The product never sets it. */
  extraTools?: ToolSpec[];
}

/** Everything `serve` (and later the Electron shell) runs, built from one data directory. */
export interface App {
  dataDir: string;
  db: Db;
  secrets: Secrets;
  keys: KeyService;
  policy: PolicyService;
  approvals: ApprovalService;
  governance: Governance;
  reports: ReportJobs;
  log: (msg: string, err?: unknown) => void;
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

export function openApp(dataDir: string, opts: AppOptions = {}): App {
  if (!isInitialized(dataDir)) throw new Error(`${dataDir} holds no Countersign database; run: countersign init --data-dir ${dataDir}`);
  const env = opts.env ?? process.env;
  const db = openDatabase(join(dataDir, DB_FILE), { durability: env.COUNTERSIGN_DURABILITY === 'full' ? 'full' : 'normal' });
  const log = opts.log ?? ((msg: string, err?: unknown) => console.error(`[countersign] ${msg}`, err ?? ''));
  try {
    const secrets = loadSecrets(dataDir, opts.protector);
    // Device commands are signed with the install key when they are queued; agents verify them with its public half.
    setCommandSigner(db, secrets.signingKey);
    const keys = new KeyService(db, secrets.hmacKey);
    const policy = new PolicyService(db, opts.env ?? process.env);
    const approvals = new ApprovalService(db);
    const reports = new ReportJobs(db, dataDir);
    const commits = new GroupCommit(db);
    commits.perBatch(() => keys.flushUse(), () => keys.discardUse());
    let governance: Governance | undefined;
    governance = new Governance({
      db, keys, policy, approvals, limiter: new RateLimiter(), log, commits,
      tools: [...allTools({ approvals, governance: () => governance! }), ...(opts.extraTools ?? [])],
      services: { dataDir, startReport: (id) => reports.start(id), bulkDeviceThreshold: () => policy.values.bulkDeviceThreshold },
    });
    reports.resumePending();
    approvals.expireDue();
    const sweep = setInterval(() => {
      try {
        approvals.expireDue();
      } catch (e) {
        log('approval expiry sweep failed', e);
      }
    }, opts.expirySweepMs ?? 5_000).unref();
    const checkpointer = opts.longRunning ? startCheckpointer(db, { log }) : undefined;
    const audit = auditLogFor(db);
    if (opts.longRunning) audit.catchUp();
    const anchors = opts.longRunning ? startAnchoring(db, { dataDir, anchorDir: opts.anchorDir ?? (env.COUNTERSIGN_ANCHOR_DIR || undefined), ...secrets },
      { everyEntries: () => policy.values.auditCheckpointEveryEntries, everyMinutes: () => policy.values.auditCheckpointEveryMinutes }, log) : undefined;
    const tail = opts.longRunning ? setInterval(() => {
      try {
        audit.catchUp();
      } catch (e) {
        log('reading audit entries from other processes failed', e);
      }
    }, opts.externalChangesMs ?? 1_000).unref() : undefined;
    return {
      dataDir, db, secrets, keys, policy, approvals, governance, reports, log,
      close() {
        clearInterval(sweep);
        clearInterval(tail);
        void checkpointer?.stop();
        audit.close();
        anchors?.stop();
        db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}
