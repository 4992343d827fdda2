import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { isInitializeRequest, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ApiKey } from '../auth/keys.ts';
import type { AuditInput } from '../audit/log.ts';
import type { Gate } from '../governance/gate.ts';
import type { SessionServerFactory } from '../mcp/sessionServer.ts';
import type { ApprovalLinks } from '../mcp/toolCall.ts';
import { isModernVersion } from '../mcp/era.ts';
import { dispatchPlainRequests, plainRequest } from '../mcp/plainRequest.ts';
import { isStateless, serveStatelessHttp } from './statelessRoutes.ts';
import { HttpError, readJsonBody, remoteOf, rpcError, sendJson } from './util.ts';
import { LegacySseTransport } from './legacySse.ts';
import { StreamableSessionTransport } from './streamableSession.ts';

export const MCP_PATH = '/api/v1/mcp';
export const SSE_PATH = '/api/v1/mcp/sse';
export const MESSAGE_PATH = '/api/v1/mcp/message';

export interface SessionLimits {
  maxBodyBytes: number;
  maxSessions: number;
  maxSessionsPerKey: number;
  idleMs: number;
  keepAliveMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxBodyBytes: 1024 * 1024,
  maxSessions: 500,
  maxSessionsPerKey: 32,
  idleMs: 30 * 60_000,
  keepAliveMs: 15_000,
};

interface Session {
  kind: 'sse' | 'http';
  keyId: string;
  /** Why it is ending, once known (DELETE, idle, server closing); else the stream or transport closed. */
  ending?: string;
  server: McpServer;
  /**
   * What the session's server knows of its caller. The key is the one this request presented, resolved again for each
   * request: a key narrowed since the session opened (its owner lost a tenant or a scope) is narrowed at once.
   */
  who: { key: ApiKey };
  sse?: LegacySseTransport;
  http?: StreamableSessionTransport;
  open: number;
  lastActive: number;
  close(): Promise<void>;
}

/**
 * Both SDK transports behind one session table (a session belongs to the key that opened it), and the stateless
 * 2026-07-28 wire beside them on the same endpoint.
 */
export class McpSessions {
  private sessions = new Map<string, Session>();
  private reaper: NodeJS.Timeout;

  private readonly gate: Gate;
  private readonly sessionServer: SessionServerFactory;
  private readonly links: () => ApprovalLinks | undefined;
  readonly limits: SessionLimits;
  private readonly audit: (e: AuditInput) => void;
  constructor(gate: Gate, limits: SessionLimits, sessionServer: SessionServerFactory, audit: (e: AuditInput) => void = () => {}, links: () => ApprovalLinks | undefined = () => undefined) {
    this.gate = gate;
    this.limits = limits;
    this.sessionServer = sessionServer;
    this.audit = audit;
    this.links = links;
    this.reaper = setInterval(() => this.reapIdle(), Math.min(60_000, limits.idleMs)).unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Session open and close are audited: which key, from where, over which transport, and why it ended. */
  private noteSession(open: boolean, id: string, key: ApiKey, remote: string, kind: Session['kind'], extra: { client?: string | null; ending?: string } = {}): void {
    this.audit({
      event: 'session', decision: 'info', outcome: open ? 'mcp session opened' : 'mcp session closed', rule: 'mcp_session', keyId: key.id, keyName: key.name,
      sessionId: id, remote, client: extra.client ?? null, detail: { transport: kind === 'sse' ? 'sse' : 'streamable-http', ...(open ? {} : { ending: extra.ending ?? 'closed' }) },
    });
  }

  private admit(key: ApiKey): void {
    if (this.sessions.size >= this.limits.maxSessions) throw new HttpError(503, 'Too many open MCP sessions on this server; close idle clients', -32000, { 'Retry-After': '30' });
    let mine = 0;
    for (const s of this.sessions.values()) if (s.keyId === key.id) mine++;
    if (mine >= this.limits.maxSessionsPerKey) throw new HttpError(429, `This key has ${mine} open sessions (limit ${this.limits.maxSessionsPerKey}); close some`, -32000, { 'Retry-After': '30' });
  }

  /** Another key's session id answers exactly like an unknown one. */
  private owned(id: string | undefined, key: ApiKey): Session {
    const s = id ? this.sessions.get(id) : undefined;
    if (!s || s.keyId !== key.id) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
    return s;
  }

  private track(s: Session, res: ServerResponse): void {
    s.open++;
    s.lastActive = Date.now();
    res.on('close', () => {
      s.open--;
      s.lastActive = Date.now();
    });
  }

  async openLegacy(req: IncomingMessage, res: ServerResponse, key: ApiKey): Promise<void> {
    // The client may have gone while its key was checked (a round trip on PostgreSQL): its 'close' has fired already and
    // would never end a session opened now, which would hold a place in the limits until the process ends.
    if (res.destroyed || req.socket.destroyed) return;
    this.admit(key);
    res.setHeader('X-Accel-Buffering', 'no');
    const transport = new LegacySseTransport(MESSAGE_PATH, res);
    const id = transport.sessionId;
    const remote = remoteOf(req);
    const who = { key, sessionId: () => id, remote, links: this.links() };
    const server = this.sessionServer(this.gate, who);
    // The legacy transport has no keep-alive: comment frames keep proxies and idle timers from cutting the stream.
    const keepAlive = setInterval(() => res.write(': keepalive\n\n'), this.limits.keepAliveMs).unref();
    const session: Session = { kind: 'sse', keyId: key.id, server, who, sse: transport, open: 1, lastActive: Date.now(), close: () => transport.close() };
    this.sessions.set(id, session);
    this.noteSession(true, id, key, remote, 'sse');
    transport.onclose = () => {
      clearInterval(keepAlive);
      if (this.sessions.get(id) === session) {
        this.sessions.delete(id);
        this.noteSession(false, id, key, remote, 'sse', { ending: session.ending ?? 'stream closed' });
      }
    };
    res.on('close', () => void transport.close());
    await server.connect(transport);
    dispatchPlainRequests(server, transport);
  }

  /** `id`: the sessionId of the request's query. */
  async legacyMessage(req: IncomingMessage, res: ServerResponse, key: ApiKey, id: string | undefined): Promise<void> {
    const s = this.owned(id, key);
    if (s.kind !== 'sse' || !s.sse) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
    requireJson(req);
    const body = jsonRpcBody(await readJsonBody(req, this.limits.maxBodyBytes), false);
    // The stream may have closed while the body was arriving.
    if (this.sessions.get(id!) !== s) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
    s.lastActive = Date.now();
    s.who.key = key;
    s.sse.handlePostMessage(req, res, body as JSONRPCMessage);
  }

  async streamable(req: IncomingMessage, res: ServerResponse, key: ApiKey): Promise<void> {
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (req.method === 'POST') {
      requireJson(req);
      const raw = await readJsonBody(req, this.limits.maxBodyBytes);
      // A modern protocol-version header decides even with a session id (the 2026-07-28 wire ignores one).
      const modernHeader = isModernVersion(req.headers['mcp-protocol-version']);
      if (sessionId ? modernHeader : isStateless(req, raw)) {
        return serveStatelessHttp(req, res, raw, key, { gate: this.gate, sessionServer: this.sessionServer, links: this.links });
      }
      const body = jsonRpcBody(raw, true);
      if (sessionId) {
        const s = this.owned(sessionId, key);
        if (s.kind !== 'http' || !s.http) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
        this.track(s, res);
        s.who.key = key;
        return s.http.handleRequest(req, res, body);
      }
      if (!isInitializeRequest(body)) throw new HttpError(400, 'Bad Request: no Mcp-Session-Id header; the first request must be initialize', -32000);
      this.admit(key);
      let id: string | undefined;
      let session: Session | undefined;
      const remote = remoteOf(req);
      const info = (body as { params?: { clientInfo?: { name?: unknown; version?: unknown } } }).params?.clientInfo;
      const client = typeof info?.name === 'string' ? `${info.name}${typeof info.version === 'string' ? ` ${info.version}` : ''}` : null;
      const who = { key, sessionId: () => id, remote, links: this.links() };
      const server = this.sessionServer(this.gate, who);
      const transport: StreamableSessionTransport = new StreamableSessionTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => {
          id = sid;
          session = { kind: 'http', keyId: key.id, server, who, http: transport, open: 0, lastActive: Date.now(), close: () => transport.close() };
          this.sessions.set(sid, session);
          this.noteSession(true, sid, key, remote, 'http', { client });
        },
        keepAliveMs: this.limits.keepAliveMs,
      });
      transport.onclose = () => {
        if (id && session && this.sessions.get(id) === session) {
          this.sessions.delete(id);
          this.noteSession(false, id, key, remote, 'http', { client, ending: session.ending });
        }
        void server.close();
      };
      await server.connect(transport);
      dispatchPlainRequests(server, transport);
      return transport.handleRequest(req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sessionId) throw new HttpError(400, 'Bad Request: Mcp-Session-Id header is required', -32000);
      const s = this.owned(sessionId, key);
      if (s.kind !== 'http' || !s.http) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
      this.track(s, res);
      if (req.method === 'DELETE') s.ending = 'DELETE';
      return s.http.handleRequest(req, res);
    }
    throw new HttpError(405, `Method ${req.method} not allowed`, -32000, { Allow: 'GET, POST, DELETE' });
  }

  /** Streamable sessions end only on DELETE, which few clients send: reap the idle ones. */
  reapIdle(now = Date.now()): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.kind === 'http' && s.open === 0 && now - s.lastActive > this.limits.idleMs) {
        s.ending = 'idle';
        void s.close();
        n++;
      }
    }
    return n;
  }

  async closeAll(): Promise<void> {
    clearInterval(this.reaper);
    for (const s of this.sessions.values()) s.ending = 'server closing';
    await Promise.all([...this.sessions.values()].map((s) => s.close().catch(() => {})));
    this.sessions.clear();
  }
}

export function sendHttpError(res: ServerResponse, e: HttpError): void {
  sendJson(res, e.status, rpcError(e.rpcCode, e.message), e.headers);
}

function requireJson(req: IncomingMessage): void {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'Unsupported Media Type: Content-Type must be application/json', -32000);
}

/** Only JSON-RPC messages reach the SDK (a batch only where the protocol version allows one): everything else is -32600. */
function jsonRpcBody(body: unknown, batchAllowed: boolean): unknown {
  const messages = Array.isArray(body) ? body : [body];
  if (Array.isArray(body) && (!batchAllowed || body.length === 0)) throw new HttpError(400, 'Invalid Request: batches are not accepted here', -32600);
  for (const m of messages) {
    if (!plainRequest(m) && !JSONRPCMessageSchema.safeParse(m).success) throw new HttpError(400, 'Invalid Request: not a JSON-RPC 2.0 message', -32600);
  }
  return body;
}

/** The sessionId query parameter (its first value, as URLSearchParams gives it). */
export function sessionIdOf(url: URL): string | undefined {
  return url.searchParams.get('sessionId') ?? undefined;
}

// The endpoint we hand out, exactly (LegacySseTransport names it with a random UUID): no dot segment, escape or other
// parameter, so parsing it as a URL would give MESSAGE_PATH and this session id.
const PLAIN_LEGACY_POST = new RegExp(`^${MESSAGE_PATH}\\?sessionId=([0-9a-f-]{36})$`);

/** The session id of a request to exactly the legacy endpoint we hand out; undefined for any other request target. */
export function plainLegacySession(target: string | undefined): string | undefined {
  return target === undefined ? undefined : PLAIN_LEGACY_POST.exec(target)?.[1];
}
