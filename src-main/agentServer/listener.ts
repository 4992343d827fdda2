// The agent listener: HTTPS (self-signed, pinned by agents) on its own host/port, apart from the loopback MCP server.
// POST /agent/v1/enroll takes a token; GET /agent/v1/ws upgrades to the authenticated per-device WebSocket.
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import type { AuditInput } from '../audit/log.ts';
import { RateLimiter } from '../governance/rateLimiter.ts';
import { HttpError, readJsonBody, remoteOf, sendJson } from '../http/util.ts';
import { ENROLL_BODY_MAX, ENROLL_PATH, WS_PATH } from '../agent/protocol.ts';
import { ensureAgentCert } from './cert.ts';
import { authenticateAgent, enroll } from './enroll.ts';
import { AgentHub, type HubOptions } from './hub.ts';
import { downloadHandler, isDownloadPath } from './downloads.ts';

// Required, not imported: an ES import builds the module's facade, which loads Node's fetch (see http/server.ts).
const https = createRequire(import.meta.url)('node:https') as typeof import('node:https');

export interface AgentListenerOptions {
  host?: string;
  port?: number;
  hub?: Partial<HubOptions>;
  limits?: Partial<ListenerLimits>;
}

/** What an unauthenticated peer may hold of the one port meant to face the network. */
export interface ListenerLimits {
  /** Bytes of an enrollment body read before 413. */
  enrollBodyMax: number;
  /** TLS handshake, headers and body of an unauthenticated request must arrive within this; then the connection is cut. */
  unauthenticatedDeadlineMs: number;
  /** Connections not (yet) authenticated as an agent: per source address, and in all. Past either, new ones are closed. */
  maxUnauthenticatedPerAddress: number;
  maxUnauthenticated: number;
}
export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  enrollBodyMax: ENROLL_BODY_MAX, unauthenticatedDeadlineMs: 10_000, maxUnauthenticatedPerAddress: 16, maxUnauthenticated: 512,
};

export interface RunningAgentListener {
  url: string;
  port: number;
  /** SHA-256 of the listener's certificate: the pin inside enrollment tokens. */
  certSha256: string;
  hub: AgentHub;
  close(): Promise<void>;
}

const WS_PAYLOAD_MAX = 16 * 1_048_576;
const FAILURES_PER_MINUTE = 30;

/** Hub timings from the environment (tests shorten them); unset values keep the defaults. */
export function hubOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<HubOptions> {
  const num = (name: string) => {
    const v = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const out: Partial<HubOptions> = {};
  const map: [keyof HubOptions, string][] = [
    ['heartbeatSeconds', 'COUNTERSIGN_AGENT_HEARTBEAT_SECONDS'], ['inventorySeconds', 'COUNTERSIGN_AGENT_INVENTORY_SECONDS'],
    ['leaseGraceSeconds', 'COUNTERSIGN_AGENT_LEASE_GRACE_SECONDS'], ['expirySweepSeconds', 'COUNTERSIGN_AGENT_EXPIRY_SWEEP_SECONDS'],
  ];
  for (const [k, name] of map) {
    const v = num(name);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Listener limits from the environment (tests and unusual networks); unset values keep the defaults. */
export function listenerLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<ListenerLimits> {
  const out: Partial<ListenerLimits> = {};
  const map: [keyof ListenerLimits, string][] = [
    ['unauthenticatedDeadlineMs', 'COUNTERSIGN_AGENT_DEADLINE_MS'], ['maxUnauthenticatedPerAddress', 'COUNTERSIGN_AGENT_MAX_UNAUTH_PER_ADDRESS'],
    ['maxUnauthenticated', 'COUNTERSIGN_AGENT_MAX_UNAUTH'],
  ];
  for (const [k, name] of map) {
    const v = Number(env[name]);
    if (env[name] !== undefined && Number.isInteger(v) && v > 0) out[k] = v;
  }
  return out;
}

export async function startAgentListener(app: App, opts: AgentListenerOptions = {}): Promise<RunningAgentListener> {
  const limits = { ...DEFAULT_LISTENER_LIMITS, ...opts.limits };
  const cert = await ensureAgentCert(app.dataDir);
  const consolePublicKey = app.secrets.verifyKey.export({ type: 'spki', format: 'pem' }).toString();
  const hub = new AgentHub(app.store, app.gate, app.log, opts.hub);
  await hub.ready;
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_PAYLOAD_MAX });
  const failures = new RateLimiter();
  const download = downloadHandler(app.dataDir, app.log, async (req) => {
    const a = await authenticateAgent(app.store.sql, app.secrets.hmacKey, req);
    return a.ok ? a.agent.id : null;
  });
  const refused = (e: AuditInput): Promise<void> =>
    app.store.write((tx) => tx.audit(e), { oneWrite: true }).then(() => {}, (err: unknown) => app.log('auditing an agent listener refusal failed', err));

  const throttle = (remote: string) => {
    const t = failures.take(`fail:${remote}`, FAILURES_PER_MINUTE);
    if (!t.ok) throw new HttpError(429, 'too many failed attempts from this address', -32000, { 'Retry-After': String(t.retryAfterSeconds) });
  };
  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const remote = remoteOf(req);
    if (path === '/agent/v1/healthz' && req.method === 'GET') return sendJson(res, 200, { ok: true });
    if (path && isDownloadPath(path)) return download(req, res, path, remote);
    if (path !== ENROLL_PATH) throw new HttpError(404, 'Not found');
    if (req.method !== 'POST') throw new HttpError(405, 'Use POST', -32000, { Allow: 'POST' });
    if (!failures.peek(`fail:${remote}`, FAILURES_PER_MINUTE).remaining) throttle(remote);
    const body = await readJsonBody(req, limits.enrollBodyMax, limits.unauthenticatedDeadlineMs);
    try {
      return sendJson(res, 200, await enroll(app.store, app.secrets.hmacKey, consolePublicKey, body, remote));
    } catch (e) {
      if (e instanceof HttpError) throttle(remote);
      throw e;
    }
  };
  const deadline = limits.unauthenticatedDeadlineMs;
  const server = https.createServer({
    key: cert.key, cert: cert.cert, minVersion: 'TLSv1.2', handshakeTimeout: deadline,
    // How often Node checks the request deadlines below (its default, 30 s, would let a slow peer stay three times longer).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(deadline / 4))),
  }, (req, res) => {
    onRequest(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message }, e.headers);
      app.log('agent listener request failed', e);
      sendJson(res, 500, { error: 'internal error' });
    });
  });
  server.headersTimeout = deadline;
  server.requestTimeout = deadline;
  // An idle keep-alive socket is an unauthenticated connection too: it goes soon (agents enroll once, then use the WebSocket).
  server.keepAliveTimeout = Math.min(5_000, deadline);

  // Connections count as unauthenticated from accept until their WebSocket upgrade authenticates an agent.
  const unauthenticated = new Map<string, number>();
  const counted = new Set<string>();
  const connId = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress ?? 'unknown'}|${s.remotePort ?? 0}`;
  const release = (id: string) => {
    if (!counted.delete(id)) return;
    const addr = id.slice(0, id.lastIndexOf('|'));
    const n = (unauthenticated.get(addr) ?? 1) - 1;
    if (n <= 0) unauthenticated.delete(addr);
    else unauthenticated.set(addr, n);
  };
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? 'unknown';
    const mine = unauthenticated.get(addr) ?? 0;
    if (mine >= limits.maxUnauthenticatedPerAddress || counted.size >= limits.maxUnauthenticated) {
      void refused({ event: 'http', decision: 'throttled', code: 'AGENT_CONNECTION_CAP', rule: 'agent_listener', remote: addr,
        outcome: mine >= limits.maxUnauthenticatedPerAddress ? `${mine} unauthenticated connections from this address` : `${counted.size} unauthenticated connections in all`,
        detail: { perAddress: limits.maxUnauthenticatedPerAddress, total: limits.maxUnauthenticated } });
      socket.destroy();
      return;
    }
    const id = connId(socket);
    counted.add(id);
    unauthenticated.set(addr, mine + 1);
    socket.once('close', () => release(id));
  });

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const remote = remoteOf(req);
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    try {
      if ((req.url ?? '').split('?')[0] !== WS_PATH) return reject(404, 'Not Found');
      if (!failures.peek(`fail:${remote}`, FAILURES_PER_MINUTE).remaining) return reject(429, 'Too Many Requests');
      const auth = await authenticateAgent(app.store.sql, app.secrets.hmacKey, req);
      if (!auth.ok) {
        failures.take(`fail:${remote}`, FAILURES_PER_MINUTE);
        await refused({ event: 'auth', decision: 'denied', code: `AGENT_${auth.reason.toUpperCase()}`, rule: 'agent_auth', remote, detail: { agentId: auth.agentId ?? null } });
        return reject(401, 'Unauthorized');
      }
      if (socket.destroyed) return;
      // An authenticated agent's connection no longer counts against the caps, and is no longer bound by the deadline.
      release(connId(req.socket));
      wss.handleUpgrade(req, socket, head, (ws) => hub.attach(ws, auth.agent, remote));
    } catch (e) {
      app.log('agent upgrade failed', e);
      reject(500, 'Internal Server Error');
    }
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const host = opts.host ?? '127.0.0.1';
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    certSha256: cert.sha256,
    hub,
    async close() {
      await hub.close();
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
