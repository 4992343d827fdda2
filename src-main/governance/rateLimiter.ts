/** Token buckets per (key, budget): capacity = per-minute limit, refilled continuously. In memory by design:
 *  a restart refilling every budget is harmless, and a per-call database write would cost more than the call. */
export interface Budget {
  limitPerMinute: number;
  remaining: number;
}

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number; limit: number }>();

  private readonly now: () => number = () => performance.now();
  constructor(now: () => number = () => performance.now()) {
    this.now = now;}

  private bucket(id: string, limitPerMinute: number) {
    const t = this.now();
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
