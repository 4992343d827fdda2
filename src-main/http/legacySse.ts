// The legacy HTTP+SSE transport (protocol 2024-11-05): one GET stream carries every server message; the client POSTs
// its messages to the endpoint the stream names, each answered 202. On node:http directly, as the SDK's is, minus
// what the route already did (content type, body, JSON-RPC shape): each message is validated once, not twice.
//
// A request's 202 goes out with its response, not before it: a governed call answers after its audit entry commits,
// and a 202 written at once woke the client a second time for each call (two wake-ups, each costing the server's
// write more than the write itself). A call still waiting (an approval hold) gets its 202 after ACCEPT_WITHIN_MS.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { messageJson } from '../mcp/messageJson.ts';
import { HttpError } from './util.ts';

/** The longest a request's 202 waits for its response (the SDK's transport answers 202 once the handler has started). */
export const ACCEPT_WITHIN_MS = 5;

type RequestId = string | number;

export class LegacySseTransport implements Transport {
  readonly sessionId = randomUUID();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private stream: ServerResponse | undefined;
  private readonly endpoint: string;
  private readonly res: ServerResponse;
  /** POSTed requests not yet answered 202, by JSON-RPC id. */
  private readonly accepting = new Map<RequestId, { res: ServerResponse; timer: NodeJS.Timeout }>();

  /** `endpoint`: the path the client POSTs to (the session id is added as ?sessionId=). */
  constructor(endpoint: string, res: ServerResponse) {
    this.endpoint = endpoint;
    this.res = res;
  }

  async start(): Promise<void> {
    if (this.stream) throw new Error('LegacySseTransport already started');
    this.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive' });
    const url = new URL(this.endpoint, 'http://localhost');
    url.searchParams.set('sessionId', this.sessionId);
    this.res.write(`event: endpoint\ndata: ${url.pathname}${url.search}\n\n`);
    this.stream = this.res;
    this.res.on('close', () => {
      this.stream = undefined;
      this.acceptAll();
      this.onclose?.();
    });
  }

  /** One POSTed message, already read and checked as JSON-RPC by the route. */
  handlePostMessage(req: IncomingMessage, res: ServerResponse, message: JSONRPCMessage): void {
    if (!this.stream) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
    const id = requestId(message);
    // A notification or a response gets no answer of ours to wait for; nor does a request reusing an id still open.
    const waits = id !== undefined && !this.accepting.has(id);
    if (waits) this.accepting.set(id, { res, timer: setTimeout(() => this.accept(id), ACCEPT_WITHIN_MS) });
    try {
      this.onmessage?.(message, { requestInfo: { headers: req.headers } });
    } catch (e) {
      // The route answers the error instead.
      if (waits) this.forget(id);
      throw e;
    }
    if (!waits) res.writeHead(202).end('Accepted');
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.stream) throw new Error('Not connected');
    this.stream.write(`event: message\ndata: ${messageJson(message)}\n\n`);
    const answered = responseId(message);
    if (answered !== undefined) this.accept(answered);
  }

  async close(): Promise<void> {
    this.stream?.end();
    this.stream = undefined;
    this.acceptAll();
    this.onclose?.();
  }

  private accept(id: RequestId): void {
    const res = this.forget(id);
    if (res && !res.headersSent && !res.destroyed) res.writeHead(202).end('Accepted');
  }

  private forget(id: RequestId): ServerResponse | undefined {
    const a = this.accepting.get(id);
    if (!a) return undefined;
    this.accepting.delete(id);
    clearTimeout(a.timer);
    return a.res;
  }

  private acceptAll(): void {
    for (const id of [...this.accepting.keys()]) this.accept(id);
  }
}

// Told by shape, not by the SDK's isJSONRPCRequest/isJSONRPCResultResponse (a zod parse each): the route has already
// checked the message, and send() runs once per response.
function requestId(m: JSONRPCMessage): RequestId | undefined {
  const r = m as { id?: unknown; method?: unknown };
  return typeof r.method === 'string' && (typeof r.id === 'string' || typeof r.id === 'number') ? r.id : undefined;
}

function responseId(m: JSONRPCMessage): RequestId | undefined {
  const r = m as { id?: unknown; method?: unknown };
  return r.method === undefined && (typeof r.id === 'string' || typeof r.id === 'number') ? r.id : undefined;
}
