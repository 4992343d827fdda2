// Web console login throttling that slows a guesser without locking out the technician: only failed attempts count,
// each failure past a few free ones doubles the wait, and once the wait is over the right passphrase gets in. A browser
// that has signed in before carries a device cookie and is throttled on its own failures, not on its address's: a
// guesser on the same address (every local process is 127.0.0.1) cannot keep the technician out.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '../hmac.ts';

export interface BackoffOptions {
  /** Failures answered at once before waits start. */
  freeFailures: number;
  /** The first wait; each further failure doubles it, up to maxMs. */
  baseMs: number;
  maxMs: number;
}
export const DEFAULT_LOGIN_BACKOFF: BackoffOptions = { freeFailures: 3, baseMs: 1_000, maxMs: 5 * 60_000 };

const MAX_SOURCES = 10_000;
interface State { failures: number; until: number; inFlight: boolean; touched: number }

export class LoginBackoff {
  private readonly sources = new Map<string, State>();
  private readonly opts: BackoffOptions;
  private readonly now: () => number;

  constructor(opts: Partial<BackoffOptions> = {}, now: () => number = Date.now) {
    this.opts = { ...DEFAULT_LOGIN_BACKOFF, ...opts };
    this.now = now;
  }

  /**
   * May this source try a passphrase now? One attempt at a time per source (parallel guesses would skip the waits);
   * a refusal here costs nothing, so waiting out the backoff is always enough.
   */
  begin(source: string): { ok: true } | { ok: false; retryAfterMs: number } {
    const t = this.now();
    const s = this.sources.get(source);
    if (s?.inFlight) return { ok: false, retryAfterMs: 250 };
    if (s && s.until > t) return { ok: false, retryAfterMs: s.until - t };
    this.state(source, t).inFlight = true;
    return { ok: true };
  }

  /** A wrong passphrase: returns how long this source now waits (0 while its free failures last). */
  failed(source: string): number {
    const t = this.now();
    const s = this.state(source, t);
    s.inFlight = false;
    s.failures++;
    const over = s.failures - this.opts.freeFailures;
    const wait = over > 0 ? Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(over - 1, 30)) : 0;
    s.until = t + wait;
    return wait;
  }

  succeeded(source: string): void {
    this.sources.delete(source);
  }

  /** The attempt ended without a verdict (a malformed body): the source may try again at once. */
  abandoned(source: string): void {
    const s = this.sources.get(source);
    if (s) s.inFlight = false;
  }

  failuresOf(source: string): number {
    return this.sources.get(source)?.failures ?? 0;
  }

  private state(source: string, t: number): State {
    let s = this.sources.get(source);
    if (!s) {
      if (this.sources.size >= MAX_SOURCES) this.forgetIdle(t);
      this.sources.set(source, (s = { failures: 0, until: 0, inFlight: false, touched: t }));
    }
    s.touched = t;
    return s;
  }

  /** Sources idle for longer than the longest wait start over; if none is, the oldest goes. */
  private forgetIdle(t: number): void {
    for (const [k, s] of this.sources) if (!s.inFlight && t - s.touched > this.opts.maxMs) this.sources.delete(k);
    if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
  }
}

/** `<random>.<hmac>` under the install key: a browser that signed in here before. Forged or altered values are ignored. */
export class DeviceCookies {
  private readonly key: Buffer;
  constructor(hmacKey: Buffer) {
    this.key = createHmac('sha256', hmacKey).update('countersign console device cookie').digest();
  }

  issue(): string {
    const id = randomBytes(18).toString('base64url');
    return `${id}.${this.mac(id)}`;
  }

  /** The device id of a valid cookie value, else undefined. */
  check(value: string | undefined): string | undefined {
    const m = value ? /^([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!m) return undefined;
    const want = Buffer.from(this.mac(m[1]!));
    const got = Buffer.from(m[2]!);
    return want.length === got.length && timingSafeEqual(want, got) ? m[1] : undefined;
  }

  private mac(id: string): string {
    return hmacSha256(this.key).update(id).digest('base64url');
  }
}
