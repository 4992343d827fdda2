// The console service: every contract method over one App, transport-independent. The web console API and the
// Electron IPC adapter both call it. Inputs are parsed with the contract's schemas (400 on bad input), outputs are
// parsed too (so nothing outside the contract, such as a key's HMAC, can leak), and errors are AppErrors.
import type { App } from '../app.ts';
import type { AuditRow } from '../audit/log.ts';
import { listTenants, type ApiKey } from '../auth/keys.ts';
import { CAN, type Technician } from '../auth/technicians.ts';
import { pageCursor, type Approval } from '../governance/approvals.ts';
import { AppError } from '../errors.ts';
import { SERVER_INFO } from '../mcp/sessionServer.ts';
import {
  CONSOLE_METHOD_NAMES, consoleMethods, EXPORT_IS_A_DOWNLOAD, parseConsoleInput,
  type ConsoleApi, type ConsoleEvent, type ConsoleInput, type ConsoleMethodName, type ConsoleOutput, type KeyViewT,
} from './contract.ts';
import { createApprovalViewer } from './approvalView.ts';
import { createAuditQueries, liveRowOf, toLiveCall } from './auditQuery.ts';
import { createFleetView } from './fleetView.ts';
import { createPolicyAdmin } from './policyAdmin.ts';
import { createAgentAdmin } from './agentAdmin.ts';
import { createAgentDeploy } from './agentDeploy.ts';
import { createStandingAdmin } from './standingAdmin.ts';
import { createTeamAdmin } from './teamAdmin.ts';
import { createWholeLogJobs } from './wholeLog.ts';
import { tenantScopeOf } from './tenantScope.ts';
import type { ExportSink } from '../audit/export.ts';
import type { ExportFormat } from '../audit/siem.ts';

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
  /** Team mode: the signed-in technician; decisions and changes are theirs, within their role and tenants. */
  technician?: Technician;
  /** Desktop only: asks where to save a file (its suggested name given); null when the technician cancels. */
  saveAs?: (fileName: string) => Promise<string | null>;
}

export type ConsoleService = ConsoleApi & {
  subscribe(listener: (e: ConsoleEvent) => void): () => void;
  /** The same service acting as a signed-in technician (cached per account and rights). */
  as(technician: Technician): ConsoleService;
  /** The web console's download: the audit export written to `sink` as it is read (refused as exportAudit is). */
  streamExport(format: ExportFormat, sink: ExportSink): Promise<void>;
  /** Whether streamExport would start now: refused (as an AppError) or undefined. */
  canExport(): AppError | undefined;
};

/** Methods only an owner or admin may call; the rest of the writing ones need a role that decides or holds keys. */
const ADMINISTER: ReadonlySet<ConsoleMethodName> = new Set(['updatePolicy', 'acceptPolicy', 'setTierOverride', 'removeTierOverride', 'createEnrollmentToken',
  'revokeEnrollmentToken', 'revokeAgent', 'agentInstallCommands'] as ConsoleMethodName[]);
const KEYS: ReadonlySet<ConsoleMethodName> = new Set(['createKey', 'revokeKey'] as ConsoleMethodName[]);
/** Methods that end what a decision allowed: a role that decides (never a viewer), on requests of their tenants. */
const DECIDE: ReadonlySet<ConsoleMethodName> = new Set(['revokeGrant', 'stopPlan'] as ConsoleMethodName[]);

type Parsed<K extends ConsoleMethodName> = Exclude<ReturnType<typeof parseConsoleInput<K>>, undefined>;
type Handlers = { [K in ConsoleMethodName]: (input: Parsed<K> | undefined) => ConsoleOutput<K> | Promise<ConsoleOutput<K>> };

/** What an account may see and do, as one text: equal texts, equal rights (the install's own console: ''). */
export const rightsOf = (t: Technician | null | undefined): string => (t ? JSON.stringify([t.name, t.role, t.tenants === 'all' ? 'all' : t.tenants.map((x) => x.id)]) : '');

/** What leaves the console service: an AppError (its own or the core's), or an INTERNAL one for a defect (logged). */
function asAppError(e: unknown, log: (msg: string, err?: unknown) => void, method: string): AppError {
  if (e instanceof AppError) return e;
  log(`console ${method} failed`, e);
  return new AppError('INTERNAL', `console ${method}: internal error`);
}

export function createConsoleService(app: App, opts: ConsoleServiceOptions = {}): ConsoleService {
  const tech = opts.technician;
  const actor = tech?.name ?? opts.actor ?? 'console-admin';
  const scope = tenantScopeOf(tech);
  const { ids: tenantIds, slugs, seesSlug, everyTenant } = scope;
  const visible = (a: Approval) => scope.reachesId(a.tenantId);
  /** The export holds every tenant's entries: an account of every tenant makes it, however it is delivered. */
  const mayExport = () => everyTenant('the audit export');
  /** A request naming a tenant the technician does not see is refused as one naming no tenant at all. */
  const inTheirTenant = <Q extends { tenant: string }>(q: Q): Q => {
    if (!seesSlug(q.tenant)) throw new AppError('BAD_INPUT', `tenant: unknown tenant ${q.tenant}`);
    return q;
  };
  /** An audit query narrowed to what the technician may see (undefined: nothing can match). */
  const narrowed = <Q extends { tenant?: string }>(q: Q): (Q & { tenants?: string[] }) | undefined => {
    if (!slugs) return q;
    if (q.tenant !== undefined) return slugs.has(q.tenant) ? q : undefined;
    // One tenant is the tenant filter itself, which the block summaries answer; several are a list.
    return slugs.size === 1 ? { ...q, tenant: [...slugs][0]! } : { ...q, tenants: [...slugs] };
  };
  // A technician's count is of the requests they can see (the desktop's tray shows it in team mode).
  const pendingCount = () => app.approvals.pendingCount(tenantIds);
  const audit = app.store.audit;
  const card = createApprovalViewer(app.store.sql);
  // A four-eyes request's card says who approved it and how many more must.
  const view = async (a: Approval, now?: Date) => {
    const c = await card(a, now);
    return a.approversRequired > 1 ? { ...c, fourEyes: await app.fourEyes.state(app.store.sql, a.id, a.approversRequired) } : c;
  };
  const auditQ = createAuditQueries(app.store.sql);
  const fleet = createFleetView(app.store.sql);
  const policy = createPolicyAdmin(app, actor, scope);
  const agents = createAgentAdmin(app, actor, () => opts.agentUrl?.() ?? null, scope);
  const deploy = createAgentDeploy(app, actor, () => opts.agentUrl?.() ?? null);
  const wholeLog = createWholeLogJobs(app);
  const checkpointView = wholeLog.checkpoint;
  const standing = createStandingAdmin(app, actor, view, tech, scope);
  const team = createTeamAdmin(app, tech, actor, scope);

  const keyState = (k: ApiKey): KeyViewT['state'] => {
    const now = new Date().toISOString();
    return k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt <= now ? 'expired' : 'active';
  };
  const keyView = async (k: ApiKey): Promise<KeyViewT> => ({ ...k, state: keyState(k), budget: await app.gate.budgets(k) });
  const approvalOr404 = async (id: string): Promise<Approval> => {
    const a = await app.approvals.get(id);
    if (!a || !visible(a)) throw new AppError('NOT_FOUND', `no approval ${id}`);
    return a;
  };
  /** Keys a technician sees: their own, or every key for an owner or admin. */
  // An admin limited to some tenants: the keys of those tenants only (a key of other tenants, or of every one, is not theirs to see or end).
  // Judged by the tenants it was issued for (what its owner's narrowing left is not where it may act again once widened);
  // a key of no tenant (a tampered row) is not a limited admin's.
  const mine = (k: ApiKey) => !tech || k.owner?.id === tech.id || (CAN.administer(tech.role) && scope.covers(k.issuedTenantIds ?? k.tenants.map((t) => t.id)));
  /** A technician's role bounds what they may call. */
  const allowed = (method: ConsoleMethodName) => {
    if (!tech) return;
    if (ADMINISTER.has(method) && !CAN.administer(tech.role)) throw new AppError('FORBIDDEN', `${tech.name} (${tech.role}) may not ${method}`, 'technician_role');
    if (KEYS.has(method) && !CAN.keys(tech.role)) throw new AppError('FORBIDDEN', `${tech.name} (${tech.role}) may not ${method}`, 'technician_role');
    if (DECIDE.has(method) && !CAN.decide(tech.role)) throw new AppError('FORBIDDEN', `${tech.name} (${tech.role}) may not ${method}`, 'technician_role');
  };

  const h: Handlers = {
    session: async () => ({
      mode: opts.mode ?? 'desktop', expiresAt: null, mcpBaseUrl: opts.mcpBaseUrl?.() ?? null, version: SERVER_INFO.version,
      serverTime: new Date().toISOString(), pendingApprovals: await pendingCount(), update: opts.update?.() ?? null,
      integrity: integrityView(),
      policy: app.policy.get().integrity,
      technician: tech ? { name: tech.name, role: tech.role, everyTenant: tech.tenants === 'all' } : null,
    }),
    lookups: async () => ({
      tenants: (await listTenants(app.store.sql)).filter((t) => seesSlug(t.slug)),
      tools: policy.tools,
      keys: (await app.keys.list()).filter(mine).map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, state: keyState(k) })),
    }),
    listApprovals: async (q) => {
      const limit = q!.limit;
      const rows = await app.approvals.list({ status: q!.status, limit: limit + 1, before: q!.before, tenantIds });
      const page = rows.slice(0, limit);
      const now = new Date();
      return {
        approvals: await standing.full(page, now),
        pendingCount: await pendingCount(),
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
    simulatePolicy: (q) => {
      everyTenant('a policy simulation');
      return standing.simulate(q!);
    },
    listKeys: async () => ({ keys: await Promise.all((await app.keys.list()).filter(mine).map(keyView)) }),
    createKey: async (q) => {
      // Another tenant's slug is unknown to an account limited to some: it learns nothing of tenants it does not act on.
      const known = new Set((await listTenants(app.store.sql)).map((t) => t.slug).filter(seesSlug));
      const unknown = q!.tenants.filter((t) => !known.has(t));
      if (unknown.length) throw new AppError('BAD_INPUT', `tenants: unknown tenant(s) ${unknown.join(', ')}`);
      // A technician's keys are theirs: never more than they may do, narrowed with them.
      const { key, secret } = await app.keys.create({ ...q!, ownerId: tech?.id }, actor);
      return { key: await keyView(key), secret };
    },
    revokeKey: async (q) => {
      const k = await app.keys.get(q!.id);
      if (!k || !mine(k)) throw new AppError('NOT_FOUND', `no API key with id ${q!.id}`);
      return { key: await keyView(await app.keys.revoke(q!.id, actor)) };
    },
    queryAudit: async (q) => {
      const scoped = narrowed(q!);
      return scoped ? auditQ.query(scoped) : { entries: [], total: 0, nextBeforeSeq: null };
    },
    getAuditEntry: async (q) => {
      const entry = await auditQ.entry(q!.seq);
      if (!entry || !seesSlug(entry.tenant)) throw new AppError('NOT_FOUND', `no audit entry ${q!.seq}`);
      return { entry };
    },
    verifyAudit: () => wholeLog.verify(),
    auditCheckpoint: async () => ({ checkpoint: await checkpointView() }),
    exportAudit: (q) => {
      mayExport();
      if (!opts.saveAs) throw new AppError('BAD_INPUT', EXPORT_IS_A_DOWNLOAD, 'export_download');
      return wholeLog.save(q?.format ?? 'jsonl', opts.saveAs, actor);
    },
    getPolicy: () => policy.view(),
    updatePolicy: (q) => policy.update(q!),
    acceptPolicy: (q) => policy.accept(q!.shown),
    listTierOverrides: () => ({ overrides: policy.listOverrides() }),
    setTierOverride: (q) => policy.setOverride(q!),
    removeTierOverride: (q) => policy.removeOverride(q!.id),
    fleet: () => fleet(new Date(), tenantIds),
    liveCalls: async (q) => {
      const scoped = narrowed(q!);
      return scoped ? auditQ.liveCalls(scoped) : { calls: [], headSeq: await auditQ.headSeq() };
    },
    listEnrollmentTokens: () => agents.listTokens(),
    createEnrollmentToken: (q) => agents.createToken(q!),
    revokeEnrollmentToken: (q) => agents.revokeToken(q!.id),
    listAgents: () => agents.listAgents(),
    revokeAgent: (q) => agents.revokeAgent(q!.id),
    agentDeployment: async () => {
      const r = await deploy.deployment();
      return { ...r, agents: r.agents.filter((a) => seesSlug(a.tenant)) };
    },
    agentInstallCommands: (q) => deploy.installCommands(inTheirTenant(q!)),
    listTechnicians: () => team.listTechnicians(),
    createTechnician: (q) => team.createTechnician(q!),
    updateTechnician: (q) => team.updateTechnician(q!),
    resetTechnicianPassphrase: (q) => team.resetTechnicianPassphrase(q!),
    removeTechnician: (q) => team.removeTechnician(q!),
    listFourEyesRules: () => team.listFourEyesRules(),
    setFourEyesRule: (q) => team.setFourEyesRule(q!),
    removeFourEyesRule: (q) => team.removeFourEyesRule(q!),
  };

  const call = async <K extends ConsoleMethodName>(method: K, input: ConsoleInput<K> | undefined): Promise<ConsoleOutput<K>> => {
    const parsed = parseConsoleInput(method, input) as Parsed<K> | undefined;
    let out: unknown;
    try {
      allowed(method);
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
    if (row.event === 'tool_call') {
      if (seesSlug(row.tenant)) emit({ type: 'call', call: toLiveCall(liveRowOf(row)) });
    }
    else if (row.event === 'key') {
      const change = { type: 'key.changed' as const, keyId: row.key_id, change: row.outcome ?? 'changed' };
      // A technician who sees only their own keys hears only of those (the key is read after the change, in order).
      if (!tech || (CAN.administer(tech.role) && !scope.ids)) emit(change);
      else if (row.key_id) {
        const id = row.key_id;
        events = events.then(async () => {
          const k = await app.keys.get(id);
          if (k && mine(k)) emit(change);
        }).catch((err: unknown) => app.log('console key.changed event failed', err));
      }
    }
    else if (row.event === 'policy') emit({ type: 'policy.changed', change: row.outcome ?? 'updated' });
  };
  // Cards are completed asynchronously (the grant offer, the decision time): one chain keeps the events in order.
  let events = Promise.resolve();
  const approvalEvent = (type: 'approval.created' | 'approval.decided') => (a: Approval) => {
    if (!visible(a)) return;
    events = events.then(async () => emit({ type, approval: await standing.one(a) })).catch((err: unknown) => app.log(`console ${type} event failed`, err));
  };
  const integrityView = () => {
    const r = app.integrity?.report;
    return r ? { state: r.state, detail: r.detail, checkedAt: r.checkedAt } : { state: 'unchecked' as const, detail: 'checked only by a running server (countersign serve, the desktop app)', checkedAt: null };
  };
  const onCreated = approvalEvent('approval.created');
  const onDecided = approvalEvent('approval.decided');
  // One more four-eyes approval of a request still pending: its card is replaced (as a created one is), showing who approved.
  const onProgress = onCreated;
  const attach = () => {
    let attached = true;
    // Each finished check (the first, still running when the console connected, and every later one) follows as an event.
    const offIntegrity = app.integrity?.onReport(() => attached && emit({ type: 'integrity.checked', integrity: integrityView() }));
    const off = audit.onAppend(onRow);
    app.approvals.events.on('created', onCreated);
    app.approvals.events.on('decided', onDecided);
    app.approvals.events.on('progress', onProgress);
    return () => {
      attached = false;
      off();
      offIntegrity?.();
      app.approvals.events.off('created', onCreated);
      app.approvals.events.off('decided', onDecided);
      app.approvals.events.off('progress', onProgress);
    };
  };

  const service = Object.fromEntries(CONSOLE_METHOD_NAMES.map((m) => [m, async (input?: unknown) => call(m, input as never)])) as unknown as ConsoleApi;
  // Services acting as technicians, kept while their account's rights are the same as when made.
  const asTechnician = new Map<string, { rights: string; service: ConsoleService }>();
  return Object.assign(service, {
    as(t: Technician): ConsoleService {
      const rights = rightsOf(t);
      const hit = asTechnician.get(t.id);
      if (hit?.rights === rights) return hit.service;
      const made = createConsoleService(app, { ...opts, technician: t });
      asTechnician.set(t.id, { rights, service: made });
      return made;
    },
    async streamExport(format: ExportFormat, sink: ExportSink): Promise<void> {
      mayExport();
      await wholeLog.stream(format, sink, actor);
    },
    canExport(): AppError | undefined {
      try {
        mayExport();
      } catch (e) {
        return e as AppError;
      }
      return wholeLog.refusal();
    },
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
