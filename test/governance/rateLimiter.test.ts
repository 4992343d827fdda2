import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src-main/governance/rateLimiter.ts';

describe('rate limiter', () => {
  it('spends and refills a per-minute budget continuously', () => {
    let now = 0;
    const r = new RateLimiter(() => now);
    for (let i = 0; i < 60; i++) expect(r.take('k', 60).ok).toBe(true);
    expect(r.take('k', 60)).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 10_000;
    expect(r.peek('k', 60).remaining).toBe(10);
  });

  it('forgets buckets idle for a minute (they are full again), so many one-off addresses do not pile up', () => {
    let now = 0;
    const r = new RateLimiter(() => now);
    for (let i = 0; i < 5000; i++) r.take(`auth:10.0.${i >> 8}.${i & 255}`, 60);
    r.take('busy', 2);
    expect(r.size).toBe(5001);
    now += 30_000;
    r.take('busy', 2);
    now += 30_000;
    // The sweep runs on the first use a minute after the last one: only 'busy' was used within that minute.
    expect(r.take('busy', 2)).toEqual({ ok: true, remaining: 1 });
    expect(r.size).toBe(1);
    // A forgotten address starts full, as it would have been had it been kept.
    expect(r.peek('auth:10.0.0.1', 60).remaining).toBe(60);
  });
});
