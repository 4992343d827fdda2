import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.ts';
import type { ApiKey } from '../auth/keys.ts';
import type { AuditInput } from '../audit/log.ts';
import { RateLimiter } from '../governance/rateLimiter.ts';
import { hostOriginGuard, LOOPBACK_HOSTNAMES } from './guards.ts';
import { DEFAULT_SESSION_LIMITS, McpSessions, MCP_PATH, MESSAGE_PATH, plainLegacySession, sessionIdOf, SSE_PATH, sendHttpError, type SessionLimits } from './mcpRoutes.ts';
import { CONSOLE_PREFIX, ConsoleApi, type ConsoleApiOptions } from './consoleApi.ts';
import { StaticRenderer } from './staticRenderer.ts';
import { readiness } from './readiness.ts';
import { HttpError, remoteOf, rpcError, sendJson } from './util.ts';
import { createSessionServer, type SessionServerFactory } from '../mcp/sessionServer.ts';
import { requestStateCodec, requestStateKey } from '../mcp/mrtr.ts';
import type { ApprovalLinks } from '../mcp/toolCall.ts';
import type { RelyingParty } from '../auth/passkeys.ts';

// Required, not imported: an ES import of node:http builds its module facade, which reads every export, and one of
// them loads Node's fetch (undici): about 30 ms of every start for nothing.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** What a request's handling learned that its refusal's audit entry names: the key it presented. */
interface Seen {
  key?: ApiKey;
}

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Extra hostnames accepted in Host/Origin besides localhost, 127.0.0.1 and [::1]. */
  allowedHosts?: string[];
  limits?: Partial<SessionLimits>;
  /** The built console served at / (default: out/renderer of this checkout). */
  rendererDir?: string;
  /** Web console options: a shared ConsoleService, the SSE keep-alive interval. */
  console?: Omit<ConsoleApiOptions, 'mcpBaseUrl' | 'relyingParty'>;
  /**
   * The origin browsers reach this node's console at (team mode behind a proxy: https://countersign.msp.example). Passkeys
   * are bound to it, and its hostname is allowed in Host and Origin. Without it: http://localhost:<port>.
   */
  publicUrl?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  sessions: McpSessions;
  close(): Promise<void>;
}

const AUTH_FAILURES_PER_MINUTE = 60;

/** A 404 for a path that is no route (an OAuth probe, a stray URL): nothing was refused, nothing is audited. */
class RoutineError extends HttpError {}

/** The signed-out console asks whether it has a session on every load: that 401 is the normal sign-in path. */
const isSessionProbe = (req: IncomingMessage, e: HttpError) =>
  e.status === 401 && /^\/console\/api\/(rpc\/)?session$/.test((req.url ?? '').split('?')[0]!);

/**
 * The HTTP server: MCP on both transports, the web console and its API. Every MCP session is built by `sessionServer`:
 * the product's (tools, resources and prompts through the gate) unless a test build composes its own.
 */
export async function startServer(app: App, opts: ServeOptions = {}, sessionServer: SessionServerFactory = createSessionServer): Promise<RunningServer> {
  const publicOrigin = opts.publicUrl === undefined ? undefined : publicOriginOf(opts.publicUrl);
  const allowed = new Set([...LOOPBACK_HOSTNAMES, ...(opts.allowedHosts ?? []).map((h) => h.toLowerCase()), ...(publicOrigin ? [publicOrigin.hostname] : [])]);
  const checkHostOrigin = hostOriginGuard(allowed);
  let baseUrl: string | null = null;
  // URL elicitations send the user to the approval's card in this server's console (which asks for sign-in).
  const stateCodec = requestStateCodec(requestStateKey(app.secrets.hmacKey));
  const links = (): ApprovalLinks | undefined => (baseUrl ? { cardUrl: (id) => `${baseUrl}/#/approvals/${encodeURIComponent(id)}`, requestState: stateCodec } : undefined);
  const sessions = new McpSessions(app.gate, { ...DEFAULT_SESSION_LIMITS, ...opts.limits }, sessionServer, (e) => {
    app.store.write((tx) => tx.audit(e), { oneWrite: true }).catch((err: unknown) => app.log('auditing an MCP session failed', err));
  }, links);
  let port = 0;
  // WebAuthn binds a passkey to a hostname (no IP address): on loopback that is localhost, at the port this server got.
  const relyingParty = (): RelyingParty | null => publicOrigin ? { id: publicOrigin.hostname, origin: publicOrigin.origin }
    : port ? { id: 'localhost', origin: `http://localhost:${port}` } : null;
  const consoleApi = new ConsoleApi(app, { ...opts.console, mcpBaseUrl: () => baseUrl, relyingParty });
  const renderer = new StaticRenderer(opts.rendererDir);
  const failures = new RateLimiter();
  const flood = new RateLimiter();
  // Every refusal is audited; the audit writer itself counts a flood of them instead of storing each (see audit/flood.ts).
  // The refusal is answered once its entry has committed (or failed to).
  const auditRejection = async (req: IncomingMessage, e: AuditInput): Promise<void> => {
    refused.add(req);
    await app.store.write((tx) => tx.audit(e), { oneWrite: true }).catch((err: unknown) => app.log('auditing a refused request failed', err));
  };
  // Requests whose refusal is already audited.
  const refused = new WeakSet<IncomingMessage>();

  /** `seen`: where the key goes, for the audit entry of a refusal after it (a WeakMap set per request cost more). */
  const authenticate = async (req: IncomingMessage, seen: Seen): Promise<ApiKey> => {
    const remote = remoteOf(req);
    const header = req.headers['x-api-key'];
    const presented = Array.isArray(header) ? header[0] : header;
    const check = await app.keys.check(presented);
    if (check.ok) {
      const rps = app.policy.values.httpRequestsPerSecond;
      const gate = flood.take(`http:${check.key.id}`, rps * 60);
      if (!gate.ok) {
        await auditRejection(req, { event: 'http', decision: 'throttled', code: 'HTTP_RATE_LIMITED', rule: 'http_rate', keyId: check.key.id, keyName: check.key.name, remote });
        throw new HttpError(429, `Too many requests for this key (${rps}/s); retry after ${gate.retryAfterSeconds} s`, -32000, { 'Retry-After': String(gate.retryAfterSeconds) });
      }
      seen.key = check.key;
      return check.key;
    }
    const probe = failures.take(`auth:${remote}`, AUTH_FAILURES_PER_MINUTE);
    // An attempt answered 429 is recorded as throttled (its own cause), with the key check's reason beside it.
    await auditRejection(req, {
      event: 'auth', decision: probe.ok ? 'denied' : 'throttled', code: probe.ok ? `KEY_${check.reason.toUpperCase()}` : 'KEY_THROTTLED', rule: 'api_key',
      keyId: check.ok ? null : check.keyId ?? null, keyName: check.ok ? null : check.keyName ?? null, remote,
      detail: { path: req.url?.split('?')[0], ...(probe.ok ? {} : { reason: check.reason }) },
    });
    if (!probe.ok) throw new HttpError(429, 'Too many failed API-key attempts from this address', -32001, { 'Retry-After': String(probe.retryAfterSeconds) });
    const why = { missing: 'missing X-API-Key header', malformed: 'malformed API key', unknown: 'invalid API key', revoked: 'API key revoked', expired: 'API key expired' }[check.reason];
    throw new HttpError(401, `Unauthorized: ${why}`, -32001);
  };

  const route = async (req: IncomingMessage, res: ServerResponse, seen: Seen): Promise<void> => {
    // A legacy POST to the endpoint exactly as we hand it out is not parsed (about a microsecond a call): the WHATWG
    // parse of that text gives that path and that session id. Anything else is parsed, and routed by its parsed path.
    const plainSession = plainLegacySession(req.url);
    const url = plainSession === undefined ? parseTarget(req) : undefined;
    const path = url?.pathname ?? MESSAGE_PATH;
    const bad = checkHostOrigin(req);
    if (bad) {
      await auditRejection(req, { event: 'http', decision: 'denied', code: 'HOST_ORIGIN_REJECTED', rule: 'dns_rebinding', remote: remoteOf(req), outcome: bad, detail: { host: req.headers.host, origin: req.headers.origin, path } });
      throw new HttpError(403, `Forbidden: ${bad}`, -32000);
    }
    // OAuth discovery probes: a fast 404 makes OAuth-capable clients report the bad key instead of waiting on a browser flow.
    if (path.includes('/.well-known/') || path === '/register') throw new RoutineError(404, 'Not found: this server uses X-API-Key, not OAuth');
    if (path === '/healthz' && req.method === 'GET') {
      // The integrity check runs after start: "checking" is healthy; a damaged database is not.
      const integrity = app.integrity?.report ?? { state: 'unchecked', detail: null, checkedAt: null };
      const damaged = integrity.state === 'damaged';
      // A policy that fails its binding is served (reads run, changes pause: decide.ts), and said here for monitoring.
      return sendJson(res, damaged ? 503 : 200, { ok: !damaged, integrity: { state: integrity.state, detail: integrity.detail, checkedAt: integrity.checkedAt },
        policy: app.policy.get().integrity });
    }
    if (path === '/readyz' && req.method === 'GET') {
      const r = await readiness(app);
      return sendJson(res, r.ready ? 200 : 503, r);
    }
    if (path.startsWith(`${CONSOLE_PREFIX}/`)) return consoleApi.handle(req, res, url ?? parseTarget(req));
    if (path === SSE_PATH && req.method === 'GET' && req.headers['mcp-session-id'] === undefined) {
      return sessions.openLegacy(req, res, await authenticate(req, seen));
    }
    if (path === MESSAGE_PATH) {
      if (req.method !== 'POST') throw new HttpError(405, 'Use POST', -32000, { Allow: 'POST' });
      return sessions.legacyMessage(req, res, await authenticate(req, seen), plainSession ?? sessionIdOf(url ?? parseTarget(req)));
    }
    // Streamable HTTP on its own path, and on the seed URL for clients configured with /sse and the http transport.
    if (path === MCP_PATH || path === SSE_PATH) return sessions.streamable(req, res, await authenticate(req, seen));
    // The web console's own files (web mode): /, /assets/…
    if (!path.startsWith('/api/') && renderer.serve(req, res, path)) return;
    throw new RoutineError(404, 'Not found');
  };

  /** A refused request that no earlier step audited (a 400, 404 session, 405, 413, 415, 429 …) leaves an entry here. */
  const auditRefusal = async (req: IncomingMessage, e: HttpError, seen: Seen): Promise<void> => {
    if (e.audited || refused.has(req) || e instanceof RoutineError || isSessionProbe(req, e)) return;
    const key = seen.key;
    const path = (req.url ?? '/').split('?')[0]!;
    const session = req.headers['mcp-session-id'] ?? querySessionId(req.url);
    await auditRejection(req, {
      event: 'http', decision: e.status === 429 || e.status === 503 ? 'throttled' : 'denied', code: `HTTP_${e.status}`, rule: 'http',
      keyId: key?.id ?? null, keyName: key?.name ?? null, remote: remoteOf(req), outcome: e.message,
      sessionId: Array.isArray(session) ? session[0] : session ?? null,
      detail: { method: req.method, path, contentType: req.headers['content-type'] ?? null, contentLength: req.headers['content-length'] ?? null },
    });
  };

  const server = http.createServer((req, res) => {
    const seen: Seen = {};
    route(req, res, seen).catch(async (e: unknown) => {
      if (e instanceof HttpError) {
        // The refusal is answered whatever its audit does: nothing here may reject (an unhandled rejection ends the process).
        await auditRefusal(req, e, seen).catch((err: unknown) => app.log('auditing a refused request failed', err));
        return sendHttpError(res, e);
      }
      app.log('request failed', e);
      sendJson(res, 500, rpcError(-32603, 'Internal error'));
    });
  });
  server.headersTimeout = 20_000;
  // Idle keep-alive sockets live longer than clients' pools usually keep them, so a client never reuses a socket
  // in the same instant the server closes it (which surfaces as "socket hang up").
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  baseUrl = url;
  return {
    url,
    port,
    sessions,
    async close() {
      await sessions.closeAll();
      consoleApi.closeStreams();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The sessionId query parameter of a request target, or undefined (also for a target that is not a URL, such as `//`). */
function querySessionId(target: string | undefined): string | undefined {
  try {
    return sessionIdOf(new URL(target ?? '/', 'http://localhost'));
  } catch {
    return undefined;
  }
}

/** The request's target as a URL (a bad one is the client's mistake: 400). */
function parseTarget(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'Malformed request URL');
  }
}

/** A public URL must be https (or http on localhost, where browsers allow WebAuthn) and name a host, not an address. */
export function publicOriginOf(value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`public URL ${JSON.stringify(value)} is not a URL`);
  }
  const local = u.hostname === 'localhost';
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && local)) throw new Error(`public URL ${value} must be https (or http://localhost)`);
  if (/^[\d.]+$|^\[/.test(u.hostname)) throw new Error(`public URL ${value} must name a host, not an IP address: passkeys are bound to a hostname`);
  if (u.pathname !== '/' || u.search || u.hash || u.username) throw new Error(`public URL ${value} must be an origin only (scheme, host, port)`);
  return u;
}
