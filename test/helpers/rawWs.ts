// A raw WebSocket client over TLS for bad-input tests: every byte of the upgrade request and of each frame is the
// test's (unmasked frames, reserved bits and opcodes, lying lengths), from a chosen loopback source address. It records
// the HTTP status of the upgrade, every text message the server sends, and the close code of the server's close frame
// ('none' when the connection ended without one). Every wait is bounded in time.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { budget } from './wait.ts';

/**
 * The TLS client context of every connection the bad-input campaigns open (the defaults, the listener's certificate
 * not checked): one for all. Without it each connection builds its own, which was the largest CPU cost of the agent
 * campaign's own process; what goes on the wire is the same.
 */
export const clientTls = tls.createSecureContext();

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** Clients must mask; false sends an unmasked frame (a protocol error). */
  mask?: boolean;
  /** RSV1-3 bits (0-7). */
  rsv?: number;
  /** A length to declare instead of the payload's own (the payload is still what is sent). */
  declaredLength?: number;
}

export function encodeFrame(f: FrameSpec): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : f.payload ?? Buffer.alloc(0);
  const len = f.declaredLength ?? payload.length;
  const mask = f.mask ?? true;
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0xf)];
  let ext = Buffer.alloc(0);
  if (len < 126) head.push((mask ? 0x80 : 0) | len);
  else if (len < 65_536) {
    head.push((mask ? 0x80 : 0) | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push((mask ? 0x80 : 0) | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

export const text = (s: string): Buffer => encodeFrame({ opcode: 1, payload: s });

export interface RawWsOptions {
  port: number;
  path?: string;
  /** Extra header lines (name → value); undefined drops a default one (e.g. 'Sec-WebSocket-Key'). */
  headers?: Record<string, string | undefined>;
  localAddress?: string;
  timeoutMs?: number;
}

export class RawWs {
  readonly socket: tls.TLSSocket;
  /** HTTP status of the upgrade answer (0 until it came, or if none came). */
  status = 0;
  responseHead = '';
  readonly messages: any[] = [];
  /** Text frames that were not JSON. */
  readonly nonJson: string[] = [];
  closeCode: number | 'none' | undefined;
  closeReason = '';
  error: string | undefined;
  /** Resolves once the upgrade is answered (or the connection ends first). */
  readonly answered: Promise<void>;
  /** Resolves once the connection is gone. */
  readonly ended: Promise<void>;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  constructor(o: RawWsOptions) {
    const timeoutMs = budget(o.timeoutMs ?? 15_000);
    const headers: Record<string, string | undefined> = {
      Host: `127.0.0.1:${o.port}`, Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13', ...o.headers,
    };
    const request = `GET ${o.path ?? '/agent/v1/ws'} HTTP/1.1\r\n${Object.entries(headers).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    this.socket = tls.connect({ socket: net.connect({ host: '127.0.0.1', port: o.port, localAddress: o.localAddress }), rejectUnauthorized: false, secureContext: clientTls });
    let answer: () => void;
    this.answered = new Promise((r) => (answer = r));
    this.ended = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.error ??= `timeout after ${timeoutMs} ms`;
        this.socket.destroy();
      }, timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        if (this.upgraded && this.closeCode === undefined) this.closeCode = 'none';
        answer();
        this.wake(true);
        resolve();
      });
    });
    this.socket.on('error', (e) => (this.error ??= e.message));
    this.socket.once('secureConnect', () => this.socket.write(request));
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      if (!this.status) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > 65_536) this.socket.destroy();
          return;
        }
        this.responseHead = this.buf.subarray(0, end).toString('latin1');
        this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.responseHead)?.[1] ?? -1);
        this.buf = this.buf.subarray(end + 4);
        this.upgraded = this.status === 101;
        answer();
        if (!this.upgraded) return;
      }
      if (this.upgraded) this.parse();
    });
  }

  private parse(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0xf;
      let len = this.buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 1) {
        const s = payload.toString('utf8');
        try {
          this.messages.push(JSON.parse(s));
        } catch {
          this.nonJson.push(s);
        }
      } else if (opcode === 8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString('utf8');
        // Answer the close as a client should, then let the server end the connection.
        if (!this.socket.destroyed) this.socket.write(encodeFrame({ opcode: 8, payload: payload.subarray(0, 2) }));
      }
      this.wake(false);
    }
  }

  private wake(all: boolean): void {
    this.waiters = this.waiters.filter((w) => {
      if (all || w.pred()) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  /** Resolves when `pred` holds, the connection ends, or budget(baseMs) passes (whichever first); returns whether pred holds. */
  async until(pred: () => boolean, baseMs = 10_000): Promise<boolean> {
    if (pred() || this.socket.destroyed) return pred();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, budget(baseMs));
      this.waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
    });
    return pred();
  }

  get open(): boolean {
    return this.upgraded && !this.socket.destroyed && this.closeCode === undefined;
  }

  /** Writes raw bytes (frames); resolves once they are handed to the socket (or at once when it is gone). */
  write(b: Buffer): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.write(b, () => resolve());
    });
  }

  send(msg: unknown): Promise<void> {
    return this.write(text(typeof msg === 'string' ? msg : JSON.stringify(msg)));
  }

  /** A normal close (1000), then waits (up to budget(baseMs)) for the connection to end. */
  async close(baseMs = 3_000): Promise<void> {
    if (this.upgraded && !this.socket.destroyed) await this.write(encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
    await Promise.race([this.ended, new Promise((r) => setTimeout(r, budget(baseMs)).unref())]);
    this.socket.destroy();
  }
}
