// When a link counts as silent (src-main/agent/silence.ts), on a clock the test moves: three heartbeat intervals with
// nothing heard, judged at a tick that came on time; a tick that came late (this process was busy) gives no verdict.
import { describe, expect, it } from 'vitest';
import { lateFirings, SilenceWatch } from '../../src-main/agent/silence.ts';

const S = 1000;

describe('SilenceWatch', () => {
  it('a link that answers is never silent; one that stops answering is, at the first on-time tick past three intervals', () => {
    const w = new SilenceWatch(S, 0);
    for (let t = S; t <= 10 * S; t += S) {
      w.heardAt(t - 100);
      expect(w.tick(t), `tick at ${t}`).toBe(false);
    }
    // Last heard at 9.9 s: 12.9 s is three intervals later; the tick at 13 s is the first to say so.
    expect([11, 12].map((s) => w.tick(s * S))).toEqual([false, false]);
    expect(w.tick(13 * S)).toBe(true);
  });

  it('a late tick (the process was stopped or busy past 1.5 intervals) gives no verdict; the next on-time tick does', () => {
    const w = new SilenceWatch(S, 0);
    w.heardAt(500);
    expect(w.tick(S)).toBe(false);
    // Stopped for 4 s: the tick at 5 s sees 4.5 s without a word, but what the console sent may still be unread.
    expect(w.tick(5 * S)).toBe(false);
    // The socket is read right after: a pong was there, and the link lives on.
    w.heardAt(5 * S + 1);
    expect(w.tick(6 * S)).toBe(false);
    // Nothing was there: the next on-time tick drops the link.
    const quiet = new SilenceWatch(S, 0);
    quiet.heardAt(500);
    expect([quiet.tick(S), quiet.tick(5 * S), quiet.tick(6 * S)]).toEqual([false, false, true]);
  });

  it('ticks a little late (timer jitter under 1.5 intervals) still judge', () => {
    const w = new SilenceWatch(S, 0);
    expect([w.tick(1.4 * S), w.tick(2.8 * S), w.tick(4.2 * S)]).toEqual([false, false, true]);
  });
});

describe('lateFirings (the hub judges its 1 s timer by it)', () => {
  it('a firing more than 1.5 periods after the last one is late; the ones after it are on time again', () => {
    const late = lateFirings(S, 0);
    expect([1, 2, 3.4, 5, 6].map((s) => late(s * S))).toEqual([false, false, false, true, false]);
  });
});
