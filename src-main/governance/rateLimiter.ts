/** Token buckets per (key, budget): capacity = per-minute limit, refilled continuously. In memory by design:
 *  a restart refilling every budget is harmless, and a per-call database write would cost more than the call. */
export interface Budget {
  limitPerMinute: number;
  remaining: number;
}

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/**
 * The key budgets the gate spends: this process's buckets (RateLimiter), or in team mode buckets every node shares
 * (store/pg/budgets.ts), which answer asynchronously.
 */
export interface Budgets {
  take(id: string, limitPerMinute: number, cost?: number): TakeResult | Promise<TakeResult>;
  peek(id: string, limitPerMinute: number): Budget | Promise<Budget>;
}

export class RateLimiter implements Budgets {
  private buckets = new Map<string, { tokens: number; at: number; limit: number }>();

  private readonly now: () => number = () => performance.now();
  private lastSweep: number;
  constructor(now: () => number = () => performance.now()) {
    this.now = now;
    this.lastSweep = now();
  }

  /** Buckets held (one per key budget or client address seen within the last minute or so). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * A bucket untouched for a minute has refilled to capacity, exactly what a new one holds: forgetting it changes
   * nothing, and keeps a stream of one-off client addresses from growing the map without end.
   */
  private sweep(t: number): void {
    this.lastSweep = t;
    for (const [id, b] of this.buckets) if (t - b.at >= 60_000) this.buckets.delete(id);
  }

  private bucket(id: string, limitPerMinute: number) {
    const t = this.now();
    if (t - this.lastSweep >= 60_000) this.sweep(t);
    let b = this.buckets.get(id);
    if (!b || b.limit !== limitPerMinute) {
      b = { tokens: limitPerMinute, at: t, limit: limitPerMinute };
      this.buckets.set(id, b);
    }
    b.tokens = Math.min(limitPerMinute, b.tokens + ((t - b.at) / 60_000) * limitPerMinute);
    b.at = t;
    return b;
  }

  take(id: string, limitPerMinute: number, cost = 1): TakeResult {
    const b = this.bucket(id, limitPerMinute);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((cost - b.tokens) * 60) / limitPerMinute)) };
  }

  peek(id: string, limitPerMinute: number): Budget {
    return { limitPerMinute, remaining: Math.floor(this.bucket(id, limitPerMinute).tokens) };
  }
}
