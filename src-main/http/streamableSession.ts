// The session era's Streamable HTTP transport (protocol versions up to 2025-11-25), on node:http directly. The SDK's
// own transport converts every request to a web Request and every answer to a ReadableStream (through
// @hono/node-server): about half the server's CPU per call. This one writes to the socket directly. The wire is the
// SDK's (each answer an SSE stream, text/event-stream), but an answer ready before anything else about its request is
// sent whole, headers and event in one write with a Content-Length; the stream is opened as it goes only once a
// notification or server request about it comes (progress, log messages, elicitation) or the call has been held for a
// keep-alive interval.
// What it does not do, as the SDK's did not here: resumable streams (no event store is configured).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isInitializeRequest, isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse, SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage, type MessageExtraInfo, type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { messageJson } from '../mcp/messageJson.ts';
import { HttpError } from './util.ts';

/** As the SDK's transport: a batch of more is refused. */
export const MAX_BATCH = 100;

const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' };

export interface StreamableSessionOptions {
  sessionIdGenerator: () => string;
  onsessioninitialized?: (sessionId: string) => void;
  /** SSE comment frames on open streams (and the delay before a held answer turns into one), ms. */
  keepAliveMs: number;
}

/** One POST that carried requests: its response stream, and the requests it answers. */
class Exchange {
  readonly ids = new Set<RequestId>();
  private readonly responses = new Map<RequestId, JSONRPCMessage>();
  private sse = false;
  private timer: NodeJS.Timeout | undefined;
  readonly res: ServerResponse;
  private readonly sessionId: string | undefined;
  private readonly keepAliveMs: number;
  constructor(res: ServerResponse, sessionId: string | undefined, keepAliveMs: number) {
    this.res = res;
    this.sessionId = sessionId;
    this.keepAliveMs = keepAliveMs;
    // A held call says it is alive: after one interval the answer becomes a stream of keep-alive comments.
    if (keepAliveMs > 0) this.timer = setTimeout(() => this.keepAlive(), keepAliveMs).unref();
  }

  get done(): boolean {
    return this.res.writableEnded;
  }

  private headers(type: Record<string, string>): Record<string, string> {
    return this.sessionId === undefined ? type : { ...type, 'mcp-session-id': this.sessionId };
  }

  private openStream(): void {
    if (this.sse) return;
    this.sse = true;
    this.res.writeHead(200, this.headers(SSE_HEADERS));
    // Responses that were ready before the stream opened (a batch) go first, in the order they came.
    for (const m of this.responses.values()) this.event(m);
  }

  private event(m: JSONRPCMessage): void {
    this.res.write(`event: message\ndata: ${messageJson(m)}\n\n`);
  }

  private keepAlive(): void {
    if (this.done) return;
    this.openStream();
    this.res.write(': keepalive\n\n');
    this.timer = setInterval(() => (this.done ? this.stop() : this.res.write(': keepalive\n\n')), this.keepAliveMs).unref();
  }

  /** A notification or server-to-client request about one of this exchange's requests. */
  notify(m: JSONRPCMessage): void {
    if (this.done) return;
    this.openStream();
    this.event(m);
  }

  /** A response; the exchange ends once every request it carried has one. Returns whether it ended. */
  answer(id: RequestId, m: JSONRPCMessage): boolean {
    if (this.done) return true;
    this.responses.set(id, m);
    if (this.sse) this.event(m);
    if (this.responses.size < this.ids.size) return false;
    this.stop();
    if (this.sse) {
      this.res.end();
    } else {
      let body = '';
      for (const i of this.ids) body += `event: message\ndata: ${messageJson(this.responses.get(i)!)}\n\n`;
      this.res.writeHead(200, this.headers({ ...SSE_HEADERS, 'Content-Length': String(Buffer.byteLength(body)) })).end(body);
    }
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  end(): void {
    this.stop();
    if (this.done) return;
    if (!this.res.headersSent) this.res.writeHead(200, this.headers(SSE_HEADERS));
    this.res.end();
  }
}

export class StreamableSessionTransport implements Transport {
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private initialized = false;
  private closed = false;
  private readonly exchanges = new Map<RequestId, Exchange>();
  private standalone: { res: ServerResponse; timer: NodeJS.Timeout | undefined } | undefined;
  private readonly opts: StreamableSessionOptions;

  constructor(opts: StreamableSessionOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {}

  /** One HTTP request of this session; `body` is the JSON-RPC message or batch the route already read and checked. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    if (this.closed) throw new HttpError(404, 'Session not found', -32001);
    if (req.method === 'POST') return this.post(req, res, body);
    if (req.method === 'GET') return this.get(req, res);
    if (req.method === 'DELETE') {
      this.checkSession(req);
      res.writeHead(200).end();
      await this.close();
      return;
    }
    throw new HttpError(405, 'Method not allowed.', -32000, { Allow: 'GET, POST, DELETE' });
  }

  private checkSession(req: IncomingMessage): void {
    if (!this.initialized) throw new HttpError(400, 'Bad Request: Server not initialized', -32000);
    const id = req.headers['mcp-session-id'];
    if (!id) throw new HttpError(400, 'Bad Request: Mcp-Session-Id header is required', -32000);
    if (id !== this.sessionId) throw new HttpError(404, 'Session not found', -32001);
    const version = req.headers['mcp-protocol-version'];
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(String(version))) {
      throw new HttpError(400, `Bad Request: Unsupported protocol version: ${String(version)} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`, -32000);
    }
  }

  private post(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const accept = String(req.headers.accept ?? '');
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      throw new HttpError(406, 'Not Acceptable: Client must accept both application/json and text/event-stream', -32000);
    }
    const batch = Array.isArray(body);
    const messages = (batch ? body : [body]) as JSONRPCMessage[];
    if (messages.length > MAX_BATCH) throw new HttpError(400, `Invalid Request: Batch must not exceed ${MAX_BATCH} messages`, -32600);
    const init = messages.some((m) => isJSONRPCRequest(m) && m.method === 'initialize' && isInitializeRequest(m));
    if (init) {
      if (this.initialized) throw new HttpError(400, 'Invalid Request: Server already initialized', -32600);
      if (messages.length > 1) throw new HttpError(400, 'Invalid Request: Only one initialization request is allowed', -32600);
      this.sessionId = this.opts.sessionIdGenerator();
      this.initialized = true;
      this.opts.onsessioninitialized?.(this.sessionId);
    } else {
      this.checkSession(req);
    }
    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    const requests = messages.filter(isJSONRPCRequest);
    if (!requests.length) {
      res.writeHead(202).end();
      for (const m of messages) this.onmessage?.(m, extra);
      return;
    }
    const exchange = new Exchange(res, this.sessionId, this.opts.keepAliveMs);
    for (const r of requests) {
      exchange.ids.add(r.id);
      this.exchanges.set(r.id, exchange);
    }
    // The client went away before every answer: the requests still waiting are cancelled (their handlers' signals
    // abort), so nothing holds on for nobody.
    res.on('close', () => {
      exchange.stop();
      for (const id of exchange.ids) {
        if (this.exchanges.get(id) !== exchange) continue;
        this.exchanges.delete(id);
        if (!res.writableFinished) this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the client closed the connection' } });
      }
    });
    for (const m of messages) this.onmessage?.(m, extra);
  }

  private get(req: IncomingMessage, res: ServerResponse): void {
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      throw new HttpError(406, 'Not Acceptable: Client must accept text/event-stream', -32000);
    }
    this.checkSession(req);
    if (this.standalone) throw new HttpError(409, 'Conflict: Only one SSE stream is allowed per session', -32000);
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId! });
    res.flushHeaders();
    const timer = this.opts.keepAliveMs > 0 ? setInterval(() => res.write(': keepalive\n\n'), this.opts.keepAliveMs).unref() : undefined;
    const stream = { res, timer };
    this.standalone = stream;
    res.on('close', () => {
      clearInterval(timer);
      if (this.standalone === stream) this.standalone = undefined;
    });
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
    const id = response ? (message as { id: RequestId }).id : options?.relatedRequestId;
    if (id === undefined) {
      if (response) throw new Error('Cannot send a response on a standalone SSE stream unless resuming a previous client request');
      // Unrelated notifications and requests go on the GET stream, if the client opened one.
      this.standalone?.res.write(`event: message\ndata: ${messageJson(message)}\n\n`);
      return;
    }
    // No exchange: the client left (its requests were cancelled) or the session closed; there is no one to tell.
    const exchange = this.exchanges.get(id);
    if (!exchange) return;
    if (!response) return exchange.notify(message);
    this.exchanges.delete(id);
    exchange.answer(id, message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of new Set(this.exchanges.values())) e.end();
    this.exchanges.clear();
    if (this.standalone) {
      clearInterval(this.standalone.timer);
      this.standalone.res.end();
      this.standalone = undefined;
    }
    this.onclose?.();
  }
}
