// The legacy HTTP+SSE transport (protocol 2024-11-05): one GET stream carries every server message; the client POSTs
// its messages to the endpoint the stream names, each answered 202. On node:http directly, as the SDK's is, minus
// what the route already did (content type, body, JSON-RPC shape): each message is validated once, not twice.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { messageJson } from '../mcp/messageJson.ts';
import { HttpError } from './util.ts';

export class LegacySseTransport implements Transport {
  readonly sessionId = randomUUID();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  private stream: ServerResponse | undefined;
  private readonly endpoint: string;
  private readonly res: ServerResponse;

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
      this.onclose?.();
    });
  }

  /** One POSTed message, already read and checked as JSON-RPC by the route. */
  handlePostMessage(req: IncomingMessage, res: ServerResponse, message: JSONRPCMessage): void {
    if (!this.stream) throw new HttpError(404, 'Session not found; initialize a new session', -32001);
    this.onmessage?.(message, { requestInfo: { headers: req.headers } });
    res.writeHead(202).end('Accepted');
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.stream) throw new Error('Not connected');
    this.stream.write(`event: message\ndata: ${messageJson(message)}\n\n`);
  }

  async close(): Promise<void> {
    this.stream?.end();
    this.stream = undefined;
    this.onclose?.();
  }
}
