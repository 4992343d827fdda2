// The flood counter on its own, with a clock the test moves: windows are wall-clock minutes per source.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RefusalAggregator } from '../../src-main/audit/flood.ts';

describe('the refusal counter', () => {
  it('windows are wall-clock minutes: a new minute gives the source its allowance again, and the old count is handed out once', () => {
    let t = Date.UTC(2030, 0, 1, 12, 0, 0);
    const agg = new RefusalAggregator({ perMinute: 2, now: () => t });
    const e = { event: 'http' as const, decision: 'denied' as const, code: 'HTTP_413', remote: '1.2.3.4' };
    expect([1, 2, 3, 4].map(() => agg.admit(e))).toEqual([true, true, false, false]);
    expect(agg.take()).toEqual([]);
    t += 60_000;
    const [counted, ...rest] = agg.take();
    expect(rest).toEqual([]);
    expect(counted).toMatchObject({ code: 'HTTP_413', remote: '1.2.3.4', detail: { aggregated: true, count: 2, minute: '2030-01-01T12:00:00.000Z' } });
    expect(agg.take()).toEqual([]);
    expect(agg.admit(e)).toBe(true);
  });

  afterEach(() => vi.useRealTimers());

  it('by default it reads the clock at each refusal, as the log stamps its entries: a clock set after it was made is the one it counts by', () => {
    const agg = new RefusalAggregator({ perMinute: 1 });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 0, 30));
    const e = { event: 'tool_call' as const, decision: 'denied' as const, code: 'NOT_ALLOWLISTED', keyId: 'k' };
    expect([1, 2, 3].map(() => agg.admit(e))).toEqual([true, false, false]);
    expect(agg.take()).toEqual([]);
    vi.setSystemTime(Date.UTC(2030, 0, 1, 12, 1, 0));
    const [counted, ...rest] = agg.take();
    expect(rest).toEqual([]);
    expect(counted).toMatchObject({ detail: { aggregated: true, count: 2, minute: '2030-01-01T12:00:00.000Z', first: '2030-01-01T12:00:30.000Z' } });
    expect(agg.admit(e)).toBe(true);
  });
});
