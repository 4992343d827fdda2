// The flood counter on its own, with a clock the test moves: windows are wall-clock minutes per source.
import { describe, expect, it } from 'vitest';
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
  });});
