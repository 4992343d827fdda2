// Raw HTTP for high-volume tests: keep-alive connections (bounded by maxSockets), every header under the test's
// control, bounded response sizes and times; plus a legacy SSE session that collects JSON-RPC answers by id, and a
// slow-drip writer for clients that send a request a few bytes at a time.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { parseSse } from './raw.ts';
import { budget } from './wait.ts';

export interface PoolResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Bytes of the body (the text is cut at maxBodyBytes). */
  bytes: number;
  ms: number;
}

export interface PoolRequest {
  method?: string;
  path: string;
  /** `host` defaults to 127.0.0.1:PORT; a header set to undefined is not sent. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
  /** Use a connection of its own, closed afterwards (for answers that end the connection, e.g. 413 before the body). */
  fresh?: boolean;
  timeoutMs?: number;
}

export class HttpPool {
  readonly agent: Agent;
  readonly port: number;
  readonly maxBodyBytes: number;
  constructor(port: number, o: { maxSockets?: number; maxBodyBytes?: number } = {}) {
    this.port = port;
    this.maxBodyBytes = o.maxBodyBytes ?? 4 * 1024 * 1024;
    this.agent = new Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 16, maxFreeSockets: o.maxSockets ?? 16 });
  }

  request(o: PoolRequest): Promise<PoolResponse> {
    const started = performance.now();
    const lower: Record<string, string | undefined> = { host: `127.0.0.1:${this.port}` };
    for (const [k, v] of Object.entries(o.headers ?? {})) lower[k.toLowerCase()] = v;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(lower)) if (v !== undefined) headers[k] = v;
    const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body, 'utf8');
    if (body !== undefined && !o.chunked && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    const timeoutMs = budget(o.timeoutMs ?? 15_000);
    return new Promise<PoolResponse>((resolve, reject) => {
      let settled = false;
      const req = request({ host: '127.0.0.1', port: this.port, method: o.method ?? 'GET', path: o.path, headers, setHost: false, agent: o.fresh ? false : this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes <= this.maxBodyBytes) chunks.push(c);
        });
        res.on('error', (e) => done(() => reject(e)));
        res.on('end', () => done(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), bytes, ms: performance.now() - started })));
      });
      const timer = setTimeout(() => {
        done(() => reject(new Error(`timeout: no complete answer in ${timeoutMs} ms`)));
        req.destroy();
      }, timeoutMs);
      const done = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      req.on('error', (e) => done(() => reject(e)));
      if (body === undefined) req.end();
      else if (o.chunked) {
        for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
        req.end();
      } else req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A key for a JSON-RPC id that survives the JSON round trip: "string:abc", "number:5". */
export const idKey = (id: unknown): string => `${typeof id}:${String(id)}`;

/** A legacy HTTP+SSE session opened by hand: the endpoint to POST to, and every JSON-RPC answer that came on the stream. */
export class LegacySession {
  endpoint = '';
  sessionId = '';
  ended = false;
  readonly answers = new Map<string, any>();
  private waiters = new Map<string, (m: any) => void>();
  private destroy: () => void = () => {};

  static async open(port: number, key: string, baseMs = 10_000): Promise<LegacySession> {
    const timeoutMs = budget(baseMs);
    const s = new LegacySession();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/mcp/sse', method: 'GET', agent: false, headers: { accept: 'text/event-stream', 'x-api-key': key } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`legacy SSE GET answered ${res.statusCode}`));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          const cut = buf.lastIndexOf('\n\n');
          if (cut < 0) return;
          const complete = buf.slice(0, cut + 2);
          buf = buf.slice(cut + 2);
          for (const f of parseSse(complete)) {
            if (f.event === 'endpoint') {
              s.endpoint = f.data;
              s.sessionId = new URL(f.data, 'http://x').searchParams.get('sessionId') ?? '';
              resolve();
            } else if (f.event === 'message') {
              let m: any;
              try {
                m = JSON.parse(f.data);
              } catch {
                continue;
              }
              if (m && 'id' in m && ('result' in m || 'error' in m)) {
                const k = idKey(m.id);
                s.answers.set(k, m);
                s.waiters.get(k)?.(m);
                s.waiters.delete(k);
              }
            }
          }
        });
        res.on('close', () => {
          s.ended = true;
          for (const w of s.waiters.values()) w(undefined);
          s.waiters.clear();
        });
      });
      s.destroy = () => req.destroy();
      req.setTimeout(timeoutMs, () => req.destroy(new Error('legacy SSE: no endpoint event')));
      req.on('error', reject);
      req.end();
    });
    return s;
  }

  /** Resolves with the answer to `id` once it arrived on the stream, or undefined after budget(baseMs) or when the stream ends. */
  answer(id: unknown, baseMs: number): Promise<any> {
    const ms = budget(baseMs);
    const k = idKey(id);
    if (this.answers.has(k)) return Promise.resolve(this.answers.get(k));
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(k);
        resolve(undefined);
      }, ms);
      this.waiters.set(k, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  /** Headers for a POST to this session's endpoint. */
  static headers(key: string): Record<string, string> {
    return { 'content-type': 'application/json', 'x-api-key': key };
  }

  close(): void {
    this.destroy();
  }
}

export interface DripResult {
  /** Everything the server sent back (headers and body) before the socket closed or we gave up. */
  response: string;
  status: number | undefined;
  /** True when the whole request was written. */
  sentAll: boolean;
  /** Milliseconds until the first byte of the answer (undefined without one). */
  answeredMs: number | undefined;
  ms: number;
}

/**
 * Writes `raw` (a whole HTTP request, head and body) a few bytes at a time on its own TCP connection (the first
 * `sendAtOnce` bytes at once, e.g. the head). Stops writing once `giveUp` settles, or after budget(giveUp) ms (then the
 * connection is destroyed: an abandoned request), or once everything is written and the answer has come (or
 * budget(answerMs) passed since the last byte). The ticks are the fault's shape; every wait scales with the machine.
 */
export function slowDrip(port: number, raw: string | Buffer, o: { bytesPerTick: number; tickMs: number; giveUp: number | Promise<unknown>; answerMs?: number; sendAtOnce?: number }): Promise<DripResult> {
  const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
  const started = performance.now();
  return new Promise((resolve) => {
    let sent = Math.min(o.sendAtOnce ?? 0, data.length);
    const s = connect(port, '127.0.0.1');
    // Written before any tick (a socket queues writes until it is connected, in order).
    if (sent > 0) s.write(data.subarray(0, sent));
    let out = '';
    let finished = false;
    let answeredMs: number | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(giveUp);
      s.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1];
      resolve({ response: out, status: status ? Number(status) : undefined, sentAll: sent >= data.length, answeredMs, ms: performance.now() - started });
    };
    const ticker = setInterval(() => {
      if (sent >= data.length || s.destroyed) return;
      const next = data.subarray(sent, sent + o.bytesPerTick);
      sent += next.length;
      s.write(next);
      if (sent >= data.length) setTimeout(finish, budget(o.answerMs ?? 5_000)).unref();
    }, o.tickMs);
    const giveUp = typeof o.giveUp === 'number' ? setTimeout(finish, budget(o.giveUp)) : undefined;
    if (typeof o.giveUp !== 'number') void o.giveUp.then(finish, finish);
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      answeredMs ??= performance.now() - started;
      out += c;
      // A complete answer with Content-Length: done.
      const m = /\r\ncontent-length: (\d+)\r\n/i.exec(out);
      const head = out.indexOf('\r\n\r\n');
      if (m && head >= 0 && Buffer.byteLength(out.slice(head + 4)) >= Number(m[1])) finish();
      // ... or the last chunk of a chunked answer.
      else if (head >= 0 && out.endsWith('\r\n0\r\n\r\n')) finish();
    });
    s.on('error', finish);
    s.on('close', finish);
  });
}
