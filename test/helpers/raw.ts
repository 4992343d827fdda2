// Raw HTTP against a running Countersign: node:http so that every header (Host included) is under the test's control.
import { expect } from 'vitest';
import { connect } from 'node:net';
import { request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { budget } from './wait.ts';

export interface RawRequestOptions {
  port: number;
  method?: string;
  path: string;
  /** Header names are case-insensitive. `host` defaults to 127.0.0.1:PORT; a header set to undefined is not sent. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Send the body in pieces without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
  chunkSize?: number;
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  /** Milliseconds from sending the request to the end of the response. */
  ms: number;
}

function buildHeaders(port: number, headers: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (!('host' in lower)) lower.host = `127.0.0.1:${port}`;
  for (const [k, v] of Object.entries(lower)) if (v !== undefined) out[k] = v;
  return out;
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function writeBody(req: ClientRequest, body: Buffer, chunkSize: number): Promise<void> {
  for (let i = 0; i < body.length; i += chunkSize) {
    if (req.destroyed) return;
    const ok = req.write(body.subarray(i, i + chunkSize));
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          req.off('drain', done);
          req.off('close', done);
          resolve();
        };
        req.once('drain', done);
        req.once('close', done);
      });
    }
  }
  if (!req.destroyed) req.end();
}

/** One request on a fresh connection; resolves when the whole response has arrived. */
export function rawRequest(o: RawRequestOptions): Promise<RawResponse> {
  const started = performance.now();
  const headers = buildHeaders(o.port, o.headers);
  const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body, 'utf8');
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        fn();
      }
    };
    const req = request({ host: '127.0.0.1', port: o.port, method: o.method ?? 'GET', path: o.path, headers, setHost: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => settle(() => reject(e)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: parseJson(text), ms: performance.now() - started }));
        req.destroy();
      });
    });
    const ms = budget(o.timeoutMs ?? 10_000);
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`rawRequest ${o.method ?? 'GET'} ${o.path}: no complete response in ${ms} ms`)));
      req.destroy();
    }, ms);
    req.on('error', (e) => settle(() => reject(e)));
    if (body === undefined) req.end();
    else if (o.chunked) void writeBody(req, body, o.chunkSize ?? 64 * 1024);
    else req.end(body);
  });
}

export interface SseFrame {
  event: string;
  data: string;
}

/** Splits an SSE body into frames; comment lines (": ...") are dropped. */
export function parseSse(text: string): SseFrame[] {
  const frames: SseFrame[] = [];
  for (const block of text.replace(/\r\n/g, '\n').split('\n\n')) {
    let event = 'message';
    const data: string[] = [];
    let any = false;
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) {
        event = line.slice(6).trim();
        any = true;
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
        any = true;
      }
    }
    if (any) frames.push({ event, data: data.join('\n') });
  }
  return frames;
}

/** The JSON-RPC messages in a response body, whether it is plain JSON or an SSE stream of `message` events. */
export function rpcMessages(r: RawResponse): any[] {
  if (String(r.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    return parseSse(r.body).filter((f) => f.event === 'message').map((f) => JSON.parse(f.data));
  }
  return r.json === undefined ? [] : Array.isArray(r.json) ? r.json : [r.json];
}

export interface OpenStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Everything received so far, raw. */
  text(): string;
  /** Resolves with the text received so far once it matches `pattern` (fails after budget(baseMs), 5 s by default). */
  waitFor(pattern: string | RegExp, baseMs?: number): Promise<string>;
  /** Resolves when the server ends or drops the stream. */
  ended: Promise<void>;
  close(): void;
}

export interface LegacySse extends OpenStream {
  /** The `endpoint` event's data, e.g. /api/v1/mcp/message?sessionId=… (undefined when the GET was refused). */
  endpoint: string | undefined;
  sessionId: string | undefined;
  /** The response body when the GET was refused (status not 200). */
  body: string;
  json: any;
}

/** Opens a long-lived GET; resolves once the response headers arrived. */
export function openStream(o: { port: number; path: string; headers?: Record<string, string | undefined>; timeoutMs?: number }): Promise<OpenStream & { res: IncomingMessage }> {
  const headers = buildHeaders(o.port, o.headers);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: o.port, method: 'GET', path: o.path, headers, setHost: false, agent: false }, (res) => {
      let buf = '';
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (const w of [...waiters]) w();
      });
      const ended = new Promise<void>((r) => {
        res.on('close', () => {
          for (const w of [...waiters]) w();
          r();
        });
      });
      let isEnded = false;
      void ended.then(() => (isEnded = true));
      resolve({
        res,
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => buf,
        ended,
        waitFor(pattern, baseMs = 5_000) {
          const timeoutMs = budget(baseMs);
          const matches = () => (typeof pattern === 'string' ? buf.includes(pattern) : pattern.test(buf));
          return new Promise<string>((ok, fail) => {
            const check = () => {
              if (matches()) {
                cleanup();
                ok(buf);
              } else if (isEnded || res.destroyed) {
                cleanup();
                fail(new Error(`stream ended before ${String(pattern)}; got: ${buf.slice(0, 500)}`));
              }
            };
            const t = setTimeout(() => {
              cleanup();
              fail(new Error(`no ${String(pattern)} within ${timeoutMs} ms; got: ${buf.slice(0, 500)}`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(t);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        close() {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.setTimeout(budget(o.timeoutMs ?? 10_000), () => req.destroy(new Error(`openStream ${o.path}: no response headers`)));
    req.on('error', reject);
    req.end();
  });
}

/** Opens the legacy SSE stream (GET /api/v1/mcp/sse) and waits for its first `endpoint` event. */
export async function openLegacySse(o: { port: number; key?: string; path?: string; headers?: Record<string, string | undefined> }): Promise<LegacySse> {
  const stream = await openStream({ port: o.port, path: o.path ?? '/api/v1/mcp/sse', headers: { accept: 'text/event-stream', ...(o.key ? { 'x-api-key': o.key } : {}), ...o.headers } });
  if (stream.status !== 200) {
    await stream.ended;
    const body = stream.text();
    return { ...stream, endpoint: undefined, sessionId: undefined, body, json: parseJson(body) };
  }
  const text = await stream.waitFor(/event: endpoint\ndata: [^\n]*\n\n/);
  const endpoint = parseSse(text).find((f) => f.event === 'endpoint')?.data;
  const sessionId = endpoint ? new URL(endpoint, 'http://x').searchParams.get('sessionId') ?? undefined : undefined;
  return { ...stream, endpoint, sessionId, body: '', json: undefined };
}

// ---- Streamable HTTP by hand ----

export const PROTOCOL_VERSION = '2025-06-18';

export const initializeRequest = (id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw-test', version: '1.0.0' } },
});

/** Headers a Streamable HTTP client sends with a POST. */
export function mcpHeaders(key: string | undefined, sessionId?: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(key === undefined ? {} : { 'x-api-key': key }),
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId, 'mcp-protocol-version': PROTOCOL_VERSION }),
    ...extra,
  };
}

/** POST initialize + notifications/initialized on a fresh Streamable HTTP session; returns the session id. */
export async function initStreamable(port: number, key: string, path = '/api/v1/mcp'): Promise<string> {
  const r = await rawRequest({ port, method: 'POST', path, headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) });
  if (r.status !== 200) throw new Error(`initialize failed: ${r.status} ${r.body}`);
  const sessionId = r.headers['mcp-session-id'];
  if (typeof sessionId !== 'string') throw new Error('initialize gave no mcp-session-id');
  const n = await rawRequest({ port, method: 'POST', path, headers: mcpHeaders(key, sessionId), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  if (n.status !== 202) throw new Error(`notifications/initialized failed: ${n.status} ${n.body}`);
  return sessionId;
}

/** One JSON-RPC message to a Streamable HTTP session; the response and the messages it carried. */
export async function streamablePost(port: number, key: string, sessionId: string | undefined, message: unknown, path = '/api/v1/mcp'): Promise<RawResponse & { messages: any[] }> {
  const r = await rawRequest({ port, method: 'POST', path, headers: mcpHeaders(key, sessionId), body: JSON.stringify(message) });
  return { ...r, messages: r.status === 200 ? rpcMessages(r) : [] };
}

/** Initialize a legacy SSE session by hand: POST initialize + initialized to the endpoint, reading the answer off the stream. */
export async function initLegacy(port: number, sse: LegacySse, key: string): Promise<void> {
  const post = (m: unknown) => rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(m) });
  const r = await post(initializeRequest('init-1'));
  if (r.status !== 202) throw new Error(`legacy initialize POST: ${r.status} ${r.body}`);
  await sse.waitFor('"id":"init-1"');
  const n = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  if (n.status !== 202) throw new Error(`legacy initialized POST: ${n.status} ${n.body}`);
}

/** Asserts the status and the JSON-RPC error body every refusal from this server has: {jsonrpc:'2.0', error:{code, message}, id:null}. */
export function expectRpcError(r: RawResponse, status: number, code?: number): { code: number; message: string } {
  expect(r.status, `status of ${r.body.slice(0, 300)}`).toBe(status);
  expect(String(r.headers['content-type'] ?? ''), 'content-type').toMatch(/^application\/json/);
  expect(r.json, `body ${r.body.slice(0, 300)}`).toMatchObject({ jsonrpc: '2.0', error: { code: code ?? expect.any(Number), message: expect.any(String) }, id: null });
  return r.json.error;
}

/** Writes `text` verbatim on a TCP connection and returns everything the server sent until it closed (or budget(baseMs) passed). */
export function rawSocket(port: number, text: string, baseMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    const timer = setTimeout(() => s.destroy(), budget(baseMs));
    s.setEncoding('utf8');
    s.on('data', (c: string) => (out += c));
    s.on('end', () => s.end());
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
