// The console service: every contract method over one App, transport-independent. The web console API and the
// Electron IPC adapter both call it. Inputs are parsed with the contract's schemas (400 on bad input), outputs are
// parsed too (so nothing outside the contract, such as a key's HMAC, can leak), and errors are AppErrors.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../app.ts';
import { auditLogFor, type AuditRow } from '../audit/log.ts';
import { exportAudit, fingerprint } from '../audit/export.ts';
import { checkpointFiles, latestCheckpoint } from '../audit/anchor.ts';
import { verifyAnchored } from '../audit/anchorVerify.ts';
import { listTenants, type ApiKey } from '../auth/keys.ts';
import { pageCursor, type Approval } from '../governance/approvals.ts';
import { AppError } from '../errors.ts';
import { SERVER_INFO } from '../mcp/sessionServer.ts';
import {
  CONSOLE_METHOD_NAMES, consoleMethods, parseConsoleInput,
  type ConsoleApi, type ConsoleEvent, type ConsoleInput, type ConsoleMethodName, type ConsoleOutput, type KeyViewT,
} from './contract.ts';
import { createApprovalViewer } from './approvalView.ts';
import { createAuditQueries, toLiveCall } from './auditQuery.ts';
import { createFleetView } from './fleetView.ts';
import { createPolicyAdmin } from './policyAdmin.ts';
import { createAgentAdmin } from './agentAdmin.ts';
import { createAgentDeploy } from './agentDeploy.ts';
import { createStandingAdmin } from './standingAdmin.ts';

export interface ConsoleServiceOptions {
  /** 'web' for countersign serve, 'desktop' for the Electron shell. */
  mode?: 'web' | 'desktop';
  /** The MCP server's base URL (http://127.0.0.1:PORT) once it listens, for connection snippets. */
  mcpBaseUrl?: () => string | null;
  /** Who decisions and changes are attributed to in the audit log. */
  actor?: string;
  /** The agent listener's URL (https://HOST:PORT) once it listens, for the enrollment command; null before. */
  agentUrl?: () => string | null;
  /** Desktop only: the newer version the update check found, if any. */
  update?: () => { version: string } | null;
}

export type ConsoleService = ConsoleApi & { subscribe(listener: (e: ConsoleEvent) => void): () => void };

type Parsed<K extends ConsoleMethodName> = Exclude<ReturnType<typeof parseConsoleInput<K>>, undefined>;
type Handlers = { [K in ConsoleMethodName]: (input: Parsed<K> | undefined) => ConsoleOutput<K> | Promise<ConsoleOutput<K>> };

/** What leaves the console service: an AppError (its own or the core's), or an INTERNAL one for a defect (logged). */
function asAppError(e: unknown, log: (msg: string, err?: unknown) => void, method: string): AppError {
  if (e instanceof AppError) return e;
  log(`console ${method} failed`, e);
  return new AppError('INTERNAL', `console ${method}: internal error`);
}

export function createConsoleService(app: App, opts: ConsoleServiceOptions = {}): ConsoleService {
  const actor = opts.actor ?? 'console-admin';
  const db = app.db;
  const audit = auditLogFor(db);
  const view = createApprovalViewer(db);
  const auditQ = createAuditQueries(db);
  const fleet = createFleetView(db);
  const policy = createPolicyAdmin(app, actor);
  const agents = createAgentAdmin(app, actor, () => opts.agentUrl?.() ?? null);
  const deploy = createAgentDeploy(app, actor, () => opts.agentUrl?.() ?? null);
  const checkpointView = () => {
    const c = latestCheckpoint(db);
    return c ? { n: c.n, headSeq: c.head_seq, at: c.at, fingerprint: c.fingerprint, keyFingerprint: c.key_fingerprint } : null;
  };
  const standing = createStandingAdmin(app, actor, view);

  const keyView = (k: ApiKey): KeyViewT => {
    const now = new Date().toISOString();
    return { ...k, state: k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt <= now ? 'expired' : 'active', budget: app.gate.budgets(k) };
  };
  const approvalOr404 = async (id: string): Promise<Approval> => {
    const a = await app.approvals.get(id);
    if (!a) throw new AppError('NOT_FOUND', `no approval ${id}`);
    return a;
  };

  const h: Handlers = {
    session: async () => ({
      mode: opts.mode ?? 'desktop', expiresAt: null, mcpBaseUrl: opts.mcpBaseUrl?.() ?? null, version: SERVER_INFO.version,
      serverTime: new Date().toISOString(), pendingApprovals: await app.approvals.pendingCount(), update: opts.update?.() ?? null,
      integrity: integrityView(),
    }),
    lookups: () => ({
      tenants: listTenants(db),
      tools: policy.tools,
      keys: app.keys.list().map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, state: keyView(k).state })),
    }),
    listApprovals: async (q) => {
      const limit = q!.limit;
      const rows = await app.approvals.list({ status: q!.status, limit: limit + 1, before: q!.before });
      const page = rows.slice(0, limit);
      const now = new Date();
      return {
        approvals: await standing.full(page, now),
        pendingCount: await app.approvals.pendingCount(),
        nextBefore: rows.length > limit ? pageCursor(page[page.length - 1]!) : null,
      };
    },
    getApproval: async (q) => ({ approval: await standing.one(await approvalOr404(q!.id)) }),
    approve: (q) => standing.approve(q!),
    deny: (q) => standing.deny(q!),
    listGrants: (q) => standing.list({ live: q?.live ?? false }),
    revokeGrant: (q) => standing.revoke(q!.id),
    stopPlan: (q) => standing.stopPlan(q!.id),
    decisionStats: (q) => standing.stats(q?.days ?? 14),
    simulatePolicy: (q) => standing.simulate(q!),
    listKeys: () => ({ keys: app.keys.list().map(keyView) }),
    createKey: (q) => {
      const known = new Set(listTenants(db).map((t) => t.slug));
      const unknown = q!.tenants.filter((t) => !known.has(t));
      if (unknown.length) throw new AppError('BAD_INPUT', `tenants: unknown tenant(s) ${unknown.join(', ')}`);
      const { key, secret } = app.keys.create(q!, actor);
      return { key: keyView(key), secret };
    },
    revokeKey: (q) => ({ key: keyView(app.keys.revoke(q!.id, actor)) }),
    queryAudit: (q) => auditQ.query(q!),
    getAuditEntry: (q) => {
      const entry = auditQ.entry(q!.seq);
      if (!entry) throw new AppError('NOT_FOUND', `no audit entry ${q!.seq}`);
      return { entry };
    },
    verifyAudit: async () => {
      const started = performance.now();
      const key = app.secrets.verifyKey;
      const r = await verifyAnchored(db, key, checkpointFiles(app.dataDir, key));
      const ms = performance.now() - started;
      const checkedAt = new Date().toISOString();
      return r.ok
        ? { ok: true, count: r.count, headSeq: r.headSeq, headHash: r.headHash, badSeq: null, reason: null, checkedAt, ms, case: null, checkpoints: r.checkpoints, latestCheckpoint: checkpointView() }
        : { ok: false, count: 0, headSeq: null, headHash: null, badSeq: r.badSeq ?? null, reason: r.reason, checkedAt, ms, case: r.case, checkpoints: 0, latestCheckpoint: checkpointView() };
    },
    auditCheckpoint: () => ({ checkpoint: checkpointView() }),
    exportAudit: (q) => {
      const format = q?.format ?? 'jsonl';
      const dir = mkdtempSync(join(tmpdir(), 'cs-audit-export-'));
      try {
        const file = join(dir, 'audit.export');
        const cp = exportAudit(db, file, app.secrets.signingKey, app.secrets.verifyKey, { format, productVersion: SERVER_INFO.version });
        const stamp = cp.exportedAt.replace(/[:.]/g, '-');
        return {
          fileName: `countersign-audit-${stamp}${format === 'jsonl' ? '' : `-${format}`}.${format === 'syslog' ? 'log' : 'jsonl'}`,
          mediaType: format === 'syslog' ? 'text/plain' : 'application/x-ndjson', content: readFileSync(file, 'utf8'),
          checkpoint: { count: cp.count, headSeq: cp.headSeq, headHash: cp.headHash, exportedAt: cp.exportedAt, keyFingerprint: fingerprint(app.secrets.verifyKey) },
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    getPolicy: () => policy.view(),
    updatePolicy: (q) => policy.update(q!),
    listTierOverrides: () => ({ overrides: policy.listOverrides() }),
    setTierOverride: (q) => policy.setOverride(q!),
    removeTierOverride: (q) => policy.removeOverride(q!.id),
    fleet: () => fleet(),
    liveCalls: (q) => auditQ.liveCalls(q!),
    listEnrollmentTokens: () => agents.listTokens(),
    createEnrollmentToken: (q) => agents.createToken(q!),
    revokeEnrollmentToken: (q) => agents.revokeToken(q!.id),
    listAgents: () => agents.listAgents(),
    revokeAgent: (q) => agents.revokeAgent(q!.id),
    agentDeployment: () => deploy.deployment(),
    agentInstallCommands: (q) => deploy.installCommands(q!),
  };

  const call = async <K extends ConsoleMethodName>(method: K, input: ConsoleInput<K> | undefined): Promise<ConsoleOutput<K>> => {
    const parsed = parseConsoleInput(method, input) as Parsed<K> | undefined;
    let out: unknown;
    try {
      out = await (h[method] as (i: Parsed<K> | undefined) => ConsoleOutput<K> | Promise<ConsoleOutput<K>>)(parsed);
    } catch (e) {
      throw asAppError(e, app.log, method);
    }
    const checked = consoleMethods[method].output.safeParse(out);
    if (!checked.success) {
      app.log(`console ${method}: output does not match the contract`, checked.error.issues.slice(0, 5));
      throw new AppError('INTERNAL', `console ${method}: internal error`);
    }
    return checked.data as ConsoleOutput<K>;
  };

  // ---- events: subscribed to the core only while someone listens ----
  const listeners = new Set<(e: ConsoleEvent) => void>();
  let detach: (() => void) | undefined;
  const emit = (e: ConsoleEvent) => {
    for (const l of [...listeners]) {
      try {
        l(e);
      } catch (err) {
        app.log('console event listener failed', err);
      }
    }
  };
  const onRow = (row: AuditRow) => {
    if (row.event === 'tool_call') emit({ type: 'call', call: toLiveCall(row) });
    else if (row.event === 'key') emit({ type: 'key.changed', keyId: row.key_id, change: row.outcome ?? 'changed' });
    else if (row.event === 'policy') emit({ type: 'policy.changed', change: row.outcome ?? 'updated' });
  };
  // Cards are completed asynchronously (the grant offer, the decision time): one chain keeps the events in order.
  let events = Promise.resolve();
  const approvalEvent = (type: 'approval.created' | 'approval.decided') => (a: Approval) => {
    events = events.then(async () => emit({ type, approval: await standing.one(a) })).catch((err: unknown) => app.log(`console ${type} event failed`, err));
  };
  const integrityView = () => {
    const r = app.integrity?.report;
    return r ? { state: r.state, detail: r.detail, checkedAt: r.checkedAt } : { state: 'unchecked' as const, detail: 'checked only by a running server (countersign serve, the desktop app)', checkedAt: null };
  };
  const onCreated = approvalEvent('approval.created');
  const onDecided = approvalEvent('approval.decided');
  const attach = () => {
    let attached = true;
    // A check still running when the console connected: its outcome follows as an event.
    if (app.integrity?.report.state === 'checking') void app.integrity.done.then(() => attached && emit({ type: 'integrity.checked', integrity: integrityView() }));
    const off = audit.onAppend(onRow);
    app.approvals.events.on('created', onCreated);
    app.approvals.events.on('decided', onDecided);
    return () => {
      attached = false;
      off();
      app.approvals.events.off('created', onCreated);
      app.approvals.events.off('decided', onDecided);
    };
  };

  const service = Object.fromEntries(CONSOLE_METHOD_NAMES.map((m) => [m, async (input?: unknown) => call(m, input as never)])) as unknown as ConsoleApi;
  return Object.assign(service, {
    subscribe(listener: (e: ConsoleEvent) => void): () => void {
      listeners.add(listener);
      detach ??= attach();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && detach) {
          detach();
          detach = undefined;
        }
      };
    },
  });
}
