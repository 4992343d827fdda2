import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly rpcCode: number;
  /** The refusal already has its audit entry (the server's catch-all must not write a second one). */
  audited = false;
  constructor(status: number, message: string, rpcCode = -32000, headers: Record<string, string> = {}) {
    super(message);
    this.rpcCode = rpcCode;
    this.status = status;
    this.headers = headers;
  }
}

export const rpcError = (code: number, message: string, data?: unknown) => ({ jsonrpc: '2.0' as const, error: { code, message, ...(data === undefined ? {} : { data }) }, id: null });

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers }).end(JSON.stringify(body));
}

/** Reads a JSON body with a hard byte cap that holds even when Content-Length is missing or lies. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number, timeoutMs = 30_000): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  // A declared size past what is worth draining is refused at once; the client may then see a reset instead of the 413.
  if (Number.isFinite(declared) && declared > maxBytes && declared > DRAIN_MAX) throw new HttpError(413, `Request body over ${maxBytes} bytes`, -32600);
  const text = await readBody(req, maxBytes, timeoutMs);
  if (text.trim() === '') throw new HttpError(400, 'Parse error: empty body', -32700);
  if (nestingDepth(text) > MAX_JSON_DEPTH) throw new HttpError(400, `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`, -32600);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Parse error: body is not valid JSON', -32700);
  }
}

/**
 * An over-cap body is read and thrown away up to this many bytes before the 413 is sent. Answering while the client is
 * still writing, on a connection that then closes, resets it: the client gets EPIPE and never reads the 413 (RFC 9112
 * §9.6 asks for a lingering close for this reason). Past this, or past the read deadline, the answer goes at once.
 */
export const DRAIN_MAX = 8 * 1_048_576;

/** The body as text: plain stream events (no async iterator, one promise), the cap checked on every chunk. */
function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<string> {
  // Usually the whole body arrived with the headers and waits in the stream's buffer: taken at once, without a timer,
  // listeners or flowing mode. Anything else (still arriving, over the cap, already read from) takes the way below.
  if (req.complete && !req.readableFlowing && !req.readableEnded && req.readableEncoding === null && req.readableLength <= maxBytes) {
    const buffered = req.read() as Buffer | null;
    return Promise.resolve(buffered === null ? '' : buffered.toString('utf8'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => new HttpError(413, `Request body over ${maxBytes} bytes`, -32600);
    const done = (err?: HttpError) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (err) {
        // Stop reading what is left (an over-cap body may be huge); the error answer is still sent.
        req.resume();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
      else if (size > DRAIN_MAX) done(tooLarge());
      else chunks.length = 0; // over the cap: keep draining, keep nothing
    };
    const onEnd = () => done(size > maxBytes ? tooLarge() : undefined);
    const unreadable = () => done(size > maxBytes ? tooLarge() : new HttpError(400, 'Request body could not be read', -32700));
    const onError = unreadable;
    const onClose = unreadable;
    const timer = setTimeout(() => (size > maxBytes ? done(tooLarge()) : req.destroy(new Error('body timeout'))), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

export function remoteOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** No legitimate MCP or console message nests this deep; deeper input would only exercise recursion in validators. */
export const MAX_JSON_DEPTH = 64;

/** Bracket depth of a JSON text, ignoring brackets inside strings. Linear, no recursion. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** A request's body or query through its zod schema; a 400 naming each bad field otherwise. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}
