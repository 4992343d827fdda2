import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { App } from '../app.ts';
import { APPROVAL_STATUSES } from '../governance/approvals.ts';
import type { AuditInput } from '../audit/log.ts';
import { ConsoleAuth, readCookie } from './consoleAuth.ts';
import { HttpError, parseWith as parse, readJsonBody, remoteOf, rpcError, sendJson } from './util.ts';
import { DeviceCookies, LoginBackoff, type BackoffOptions } from './loginBackoff.ts';
import { createConsoleService, rightsOf, type ConsoleService } from '../console/service.ts';
import { AUDIT_EXPORT_PATH, EXPORT_IS_A_DOWNLOAD, isConsoleMethod, type ConsoleEvent } from '../console/contract.ts';
import { AppError } from '../errors.ts';
import type { Technician } from '../auth/technicians.ts';
import { PasskeyService, type RelyingParty } from '../auth/passkeys.ts';
import { PasskeyRoutes } from './passkeyRoutes.ts';
import { sendAuditExport } from './exportDownload.ts';

export const CONSOLE_PREFIX = '/console/api';
const MAX_BODY = 64 * 1024;

const LoginBody = z.object({ passphrase: z.string().min(1).max(1024), name: z.string().trim().min(1).max(100).optional() }).strict();
const DenyBody = z.object({ reason: z.string().trim().min(1, 'a reason is required: it goes back to the model').max(2000) }).strict();
const ApproveBody = z.object({}).strict();
const ApprovalQuery = z.object({
  status: z.string().optional().transform((s) => (s ? s.split(',') : undefined)).pipe(z.array(z.enum(APPROVAL_STATUSES)).optional()),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const ID = /^[0-9a-f-]{36}$/;
/** Open console event streams in all, and per session: one session (any role) cannot take every place. */
const MAX_STREAMS = 64;
const MAX_STREAMS_PER_SESSION = 8;
const DEVICE_COOKIE = 'cs_device';
const DEVICE_COOKIE_SECONDS = 400 * 24 * 3600;
const MAX_STREAM_BUFFER = 1 << 20;

export interface ConsoleApiOptions {
  /** Shared with another transport (the Electron shell); by default the console API makes its own. */
  service?: ConsoleService;
  /** The MCP base URL once the server listens, for the key page's connection snippets. */
  mcpBaseUrl?: () => string | null;
  /** Interval of SSE keep-alive comments, which also re-check the session. */
  keepAliveMs?: number;
  /** How long an audit export download may take nothing before it is ended (exportDownload.ts; tests shorten it). */
  exportStallMs?: number;
  /** Waits after failed logins (tests shorten them). */
  loginBackoff?: Partial<BackoffOptions>;
  /** The passkeys' relying party once the server listens (see server.ts); null: passkeys are not offered. */
  relyingParty?: () => RelyingParty | null;
  /** Passkey challenge lifetime (tests shorten it). */
  passkeyChallengeTtlMs?: number;
}

type SignInOutcome =
  | { ok: true; session: { token: string; expiresAt: string; technician: Technician | null }; detail?: Record<string, unknown> }
  | { ok: false; code: string; message: string; detail: Record<string, unknown> };

interface Stream {
  res: ServerResponse;
  tokenHash: string;
  end(reason: string): void;
  /** Reads the session again: ends the stream if it expired, closes it if the account's rights changed. */
  recheck(): void;
}

/** The technician's side: the only place approvals are decided. MCP keys are refused here. */
export class ConsoleApi {
  private readonly auth: ConsoleAuth;
  private readonly backoff: LoginBackoff;
  private readonly devices: DeviceCookies;
  private readonly passkeys: PasskeyRoutes;

  private readonly app: App;
  readonly service: ConsoleService;
  private readonly keepAliveMs: number;
  private readonly exportStallMs: number | undefined;
  private readonly streams = new Set<Stream>();
  constructor(app: App, opts: ConsoleApiOptions = {}) {
    this.app = app;
    this.auth = new ConsoleAuth(app.store, app.technicians, app.secrets.hmacKey);
    this.service = opts.service ?? createConsoleService(app, { mode: 'web', mcpBaseUrl: opts.mcpBaseUrl });
    this.keepAliveMs = opts.keepAliveMs ?? 15_000;
    this.exportStallMs = opts.exportStallMs;
    this.backoff = new LoginBackoff(opts.loginBackoff);
    this.devices = new DeviceCookies(app.secrets.hmacKey);
    const passkeys = new PasskeyService(app.store, app.technicians, app.secrets.hmacKey, { challengeTtlMs: opts.passkeyChallengeTtlMs });
    this.passkeys = new PasskeyRoutes(passkeys, opts.relyingParty ?? (() => null));
  }

  /** Ends every event stream (server shutdown). */
  private readonly onAccountsChanged = () => {
    for (const s of [...this.streams]) s.recheck();
  };

  closeStreams(): void {
    for (const s of [...this.streams]) s.end('server closing');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.headers['x-api-key'] !== undefined) {
      throw new HttpError(401, 'The console API does not accept MCP API keys; log in with the admin passphrase.', -32001);
    }
    const path = url.pathname.slice(CONSOLE_PREFIX.length);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // A JSON content type forces a CORS preflight, which this server never grants: no cross-site form posts.
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'Content-Type must be application/json');
    }
    if (path === '/login' && req.method === 'POST') return this.login(req, res);
    // Before sign-in the page asks whether it takes a technician name (team mode) or the single passphrase.
    if (path === '/login' && req.method === 'GET') return sendJson(res, 200, { accounts: (await this.app.technicians.count()) > 0 });
    if (path.startsWith('/login/passkey')) {
      return this.passkeys.signedOut(req, res, path, async () => (await this.app.technicians.count()) > 0, (attempt) => this.signIn(req, res, async () => {
        const r = await attempt();
        return r.ok ? { ok: true, session: await this.auth.openSession(r.technician), detail: r.detail } : r;
      }));
    }
    const session = await this.auth.session(req);
    if (!session) throw new HttpError(401, 'Not logged in to the console', -32001);
    if (path === '/passkeys' || path.startsWith('/passkeys/')) return this.passkeys.signedIn(req, res, path, session.technician, session.tokenHash);
    if (path === '/logout' && req.method === 'POST') {
      await this.auth.logout(session.tokenHash);
      for (const s of [...this.streams]) if (s.tokenHash === session.tokenHash) s.end('logged out');
      return sendJson(res, 200, { ok: true }, { 'Set-Cookie': this.auth.clearCookie() });
    }
    if (path === '/session' && req.method === 'GET') return sendJson(res, 200, { authenticated: true, expiresAt: session.expiresAt, technician: session.technician && { name: session.technician.name, role: session.technician.role } });
    // A technician's requests go through a console service acting as them (their name in the audit log, their rights).
    const service = session.technician ? this.service.as(session.technician) : this.service;
    if (path === '/events' && req.method === 'GET') return this.events(req, res, session.tokenHash, service, rightsOf(session.technician));
    if (path === AUDIT_EXPORT_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      return this.viaService(() => sendAuditExport(req, res, url, service, (msg, err) => this.app.log(msg, err), this.exportStallMs));
    }
    const rpc = /^\/rpc\/([A-Za-z]+)$/.exec(path);
    if (rpc && req.method === 'POST') return this.rpc(req, res, rpc[1]!, session.expiresAt, service);
    // The documented REST routes, served by the same console service as the RPC methods (same checks, same actor).
    if (path === '/approvals' && req.method === 'GET') {
      const q = parse(ApprovalQuery, Object.fromEntries(url.searchParams));
      const { approvals } = await this.viaService(() => service.listApprovals({ status: q.status, limit: q.limit }));
      return sendJson(res, 200, { approvals });
    }
    const m = /^\/approvals\/([^/]+)(?:\/(approve|deny))?$/.exec(path);
    if (m) {
      const id = m[1]!;
      if (!ID.test(id)) throw new HttpError(404, 'No such approval');
      if (!m[2] && req.method === 'GET') return sendJson(res, 200, await this.viaService(() => service.getApproval({ id })));
      if (m[2] && req.method === 'POST') {
        const body = await readJsonBody(req, MAX_BODY).catch((e) => {
          if (m[2] === 'approve' && e instanceof HttpError && e.message.includes('empty body')) return {};
          throw e;
        });
        const out = m[2] === 'approve'
          ? (parse(ApproveBody, body), await this.viaService(() => service.approve({ id })))
          : await this.viaService(() => service.deny({ id, reason: parse(DenyBody, body).reason }));
        return sendJson(res, 200, out);
      }
    }
    throw new HttpError(404, 'Not found');
  }

  /** A console error on a REST route is an HTTP error with its status. */
  private async viaService<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof AppError) throw new HttpError(e.status, e.message);
      throw e;
    }
  }

  /** POST /console/api/rpc/<method> {input}: one contract method; an error is a JSON-RPC error whose data is the AppError's shape. */
  private async rpc(req: IncomingMessage, res: ServerResponse, method: string, expiresAt: string, service: ConsoleService): Promise<void> {
    if (!isConsoleMethod(method)) throw new HttpError(404, `No console method '${method}'`);
    const input = await readJsonBody(req, MAX_BODY).catch((e) => {
      if (e instanceof HttpError && e.message.includes('empty body')) return undefined;
      throw e;
    });
    try {
      // The web console downloads the export (exportDownload.ts): here it would open the desktop's save dialog, on the
      // desktop whose console service this server shares.
      if (method === 'exportAudit') throw new AppError('BAD_INPUT', EXPORT_IS_A_DOWNLOAD, 'export_download');
      const call = service[method] as (i: unknown) => Promise<unknown>;
      let result = await call(input);
      if (method === 'session') result = { ...(result as object), mode: 'web', expiresAt };
      sendJson(res, 200, { result });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      sendJson(res, e.status, rpcError(e.code === 'BAD_INPUT' ? -32602 : -32000, e.message, e.toJSON()));
    }
  }

  /**
   * GET /console/api/events: server push (SSE) of ConsoleEvents while the session lasts; keep-alive comments re-check it.
   * `rights`: the technician's as the stream opened; once they change, the stream closes (no session-ended: the client
   * reconnects, and its new stream carries what the account may see now).
   */
  private events(req: IncomingMessage, res: ServerResponse, tokenHash: string, service: ConsoleService, rights: string): void {
    // The client left while its session was read (a database round trip): its close has fired, nothing would end this.
    if (res.destroyed || req.socket.destroyed) return;
    if (this.streams.size >= MAX_STREAMS) throw new HttpError(429, 'Too many open console event streams', -32000, { 'Retry-After': '5' });
    if ([...this.streams].filter((s) => s.tokenHash === tokenHash).length >= MAX_STREAMS_PER_SESSION) {
      throw new HttpError(429, `Too many open console event streams for this session (${MAX_STREAMS_PER_SESSION})`, -32000, { 'Retry-After': '5' });
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff', 'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
    let ended = false;
    const send = (chunk: string) => {
      if (ended) return;
      if (res.writableLength > MAX_STREAM_BUFFER) return stream.end('client too slow');
      res.write(chunk);
    };
    const stream: Stream = {
      res, tokenHash, recheck: () => {},
      end: (reason: string) => {
        if (ended) return;
        ended = true;
        // A slow client gets no last word: its buffer is already full.
        if (res.writableLength <= MAX_STREAM_BUFFER) res.write(`event: session-ended\ndata: ${JSON.stringify({ reason })}\n\n`);
        cleanup();
        res.end();
      },
    };
    const unsubscribe = service.subscribe((e: ConsoleEvent) => send(`data: ${JSON.stringify(e)}\n\n`));
    const check = (keepAlive: boolean) => {
      this.auth.session(req).then((alive) => {
        if (ended) return;
        if (!alive) return stream.end('session expired');
        if (rightsOf(alive.technician) !== rights) {
          cleanup();
          return void res.end();
        }
        if (keepAlive) send(': keep-alive\n\n');
      }, (e: unknown) => this.app.log('checking a console session failed', e));
    };
    const timer = setInterval(() => check(true), this.keepAliveMs);
    timer.unref();
    stream.recheck = () => check(false);
    const cleanup = () => {
      ended = true;
      clearInterval(timer);
      unsubscribe();
      this.streams.delete(stream);
      if (this.streams.size === 0) this.app.technicians.events.off('changed', this.onAccountsChanged);
    };
    // An account changed in this process (its role, its tenants): every stream checks at once rather than at its next
    // keep-alive. One listener for all of them, there while any stream is open.
    if (this.streams.size === 0) this.app.technicians.events.on('changed', this.onAccountsChanged);
    this.streams.add(stream);
    res.on('close', cleanup);
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.signIn(req, res, async () => {
      const { passphrase, name } = parse(LoginBody, await readJsonBody(req, MAX_BODY));
      const session = await this.auth.login(passphrase, name);
      return session ? { ok: true, session } : { ok: false, code: 'BAD_PASSPHRASE', message: 'Wrong passphrase', detail: { name: name ?? null } };
    });
  }

  /**
   * One sign-in attempt, by passphrase or passkey, under the same throttling and audit. `attempt` reads the body and
   * checks the credential; throwing (a malformed body) is no verdict: the source may try again at once.
   */
  private async signIn(req: IncomingMessage, res: ServerResponse, attempt: () => Promise<SignInOutcome>): Promise<void> {
    const remote = remoteOf(req);
    const audit = (e: AuditInput) => this.app.store.write((tx) => tx.audit(e), { oneWrite: true });
    const device = this.devices.check(readCookie(req, DEVICE_COOKIE));
    // A browser that signed in here before waits only on its own failures; anyone else on this address shares a wait.
    const source = device ? `device ${device.slice(0, 8)}` : `address ${remote}`;
    const gate = this.backoff.begin(source);
    if (!gate.ok) {
      await audit({ event: 'console', decision: 'throttled', code: 'LOGIN_THROTTLED', rule: 'console_login', remote,
        detail: { source, retryAfterMs: gate.retryAfterMs, failures: this.backoff.failuresOf(source) } });
      const seconds = Math.max(1, Math.ceil(gate.retryAfterMs / 1000));
      throw audited(new HttpError(429, `Too many failed logins; retry in ${seconds} s`, -32000, { 'Retry-After': String(seconds) }));
    }
    let outcome: SignInOutcome;
    try {
      outcome = await attempt();
    } catch (e) {
      this.backoff.abandoned(source);
      if (e instanceof AppError && e.code === 'BAD_INPUT') throw new HttpError(400, e.message);
      throw e;
    }
    if (!outcome.ok) {
      const waitMs = this.backoff.failed(source);
      await audit({ event: 'console', decision: 'denied', code: outcome.code, rule: 'console_login', remote,
        detail: { source, failures: this.backoff.failuresOf(source), waitMs, ...outcome.detail } });
      throw audited(new HttpError(401, outcome.message, -32001));
    }
    const { session } = outcome;
    this.backoff.succeeded(source);
    await audit({ event: 'console', decision: 'allowed', outcome: session.technician ? `login: ${session.technician.name}` : 'login', rule: 'console_login', remote,
      detail: { source, technician: session.technician?.name ?? null, ...outcome.detail } });
    const cookies = [this.auth.cookie(session.token, false)];
    if (!device) cookies.push(`${DEVICE_COOKIE}=${this.devices.issue()}; HttpOnly; SameSite=Strict; Path=${CONSOLE_PREFIX}/login; Max-Age=${DEVICE_COOKIE_SECONDS}`);
    sendJson(res, 200, { ok: true, expiresAt: session.expiresAt }, { 'Set-Cookie': cookies });
  }
}

function audited(e: HttpError): HttpError {
  e.audited = true;
  return e;
}
