import { describe, expect, it } from 'vitest';
import {
  currentOccurrence, describeWindow, nextOccurrence, windowFromRow, windowState, type MaintenanceWindow,
} from '../../src-main/tools/maintenanceWindow.ts';

// 2026-11-20 is a Friday (UTC weekday 5); 2026-11-22 a Sunday.
const at = (iso: string) => new Date(iso);
const win = (days: number[], startMinute: number, durationMinutes: number, name = 'w'): MaintenanceWindow =>
  ({ id: name, name, days, startMinute, durationMinutes });

describe('maintenance window math', () => {
  const weekend = win([6, 0], 120, 240, 'Weekend'); // Sat + Sun 02:00-06:00 UTC

  it('is inside during an occurrence, with start and end of that occurrence', () => {
    const o = currentOccurrence(weekend, at('2026-11-22T03:30:00Z'));
    expect(o?.start.toISOString()).toBe('2026-11-22T02:00:00.000Z');
    expect(o?.end.toISOString()).toBe('2026-11-22T06:00:00.000Z');
  });

  it('treats the interval as half-open: the start minute is inside, the end minute is not', () => {
    expect(currentOccurrence(weekend, at('2026-11-21T02:00:00Z'))).not.toBeNull();
    expect(currentOccurrence(weekend, at('2026-11-21T05:59:59.999Z'))).not.toBeNull();
    expect(currentOccurrence(weekend, at('2026-11-21T06:00:00Z'))).toBeNull();
  });

  it('before the window on a window day: not inside, next is later that day', () => {
    const now = at('2026-11-21T01:59:00Z');
    expect(currentOccurrence(weekend, now)).toBeNull();
    expect(nextOccurrence(weekend, now)?.start.toISOString()).toBe('2026-11-21T02:00:00.000Z');
  });

  it('after the window on a window day: next is the following window day', () => {
    const now = at('2026-11-21T07:00:00Z'); // Saturday after the window
    expect(currentOccurrence(weekend, now)).toBeNull();
    expect(nextOccurrence(weekend, now)?.start.toISOString()).toBe('2026-11-22T02:00:00.000Z');
  });

  it('on a weekday outside any window day: next is the coming Saturday', () => {
    expect(nextOccurrence(weekend, at('2026-11-20T12:00:00Z'))?.start.toISOString()).toBe('2026-11-21T02:00:00.000Z');
  });

  it('next start is strictly after now, even inside a window', () => {
    expect(nextOccurrence(weekend, at('2026-11-21T02:00:00Z'))?.start.toISOString()).toBe('2026-11-22T02:00:00.000Z');
  });

  it('wraps past midnight: Wednesday 22:00 for 3 h is still open early Thursday', () => {
    const wed = win([3], 1320, 180, 'Wed evening');
    const thu = currentOccurrence(wed, at('2026-11-19T00:30:00Z')); // Thursday 00:30
    expect(thu?.start.toISOString()).toBe('2026-11-18T22:00:00.000Z');
    expect(thu?.end.toISOString()).toBe('2026-11-19T01:00:00.000Z');
    expect(currentOccurrence(wed, at('2026-11-19T01:00:00Z'))).toBeNull();
    expect(currentOccurrence(wed, at('2026-11-18T21:59:00Z'))).toBeNull();
    expect(currentOccurrence(wed, at('2026-11-18T23:59:00Z'))).not.toBeNull();
  });

  it('a full-day window is open all day and closes at the next midnight', () => {
    const sunday = win([0], 0, 1440);
    expect(currentOccurrence(sunday, at('2026-11-22T23:59:59Z'))).not.toBeNull();
    expect(currentOccurrence(sunday, at('2026-11-23T00:00:00Z'))).toBeNull();
    expect(currentOccurrence(sunday, at('2026-11-21T23:59:59Z'))).toBeNull();
  });

  it('next week: a single-day window that just closed reopens seven days later', () => {
    const sun = win([0], 240, 120);
    expect(nextOccurrence(sun, at('2026-11-22T06:00:00Z'))?.start.toISOString()).toBe('2026-11-29T04:00:00.000Z');
    expect(nextOccurrence(sun, at('2026-11-22T04:00:00Z'))?.start.toISOString()).toBe('2026-11-29T04:00:00.000Z');
  });

  it('next week across a year end', () => {
    const thu = win([4], 60, 60);
    expect(nextOccurrence(thu, at('2026-12-31T03:00:00Z'))?.start.toISOString()).toBe('2027-01-07T01:00:00.000Z');
  });

  it('a window without days never opens', () => {
    const none = win([], 0, 60);
    expect(currentOccurrence(none, at('2026-11-22T00:30:00Z'))).toBeNull();
    expect(nextOccurrence(none, at('2026-11-22T00:30:00Z'))).toBeNull();
  });

  it('windowState picks the open window and the earliest next start across windows', () => {
    const a = win([6], 120, 240, 'A');
    const b = win([5], 1380, 120, 'B'); // Friday 23:00-01:00
    const s = windowState([a, b], at('2026-11-20T12:00:00Z'));
    expect(s.inside).toBeNull();
    expect(s.next?.window.name).toBe('B');
    expect(s.next?.start.toISOString()).toBe('2026-11-20T23:00:00.000Z');
    const inside = windowState([a, b], at('2026-11-21T00:30:00Z'));
    expect(inside.inside?.window.name).toBe('B');
    expect(inside.next?.window.name).toBe('A');
    expect(windowState([], at('2026-11-21T00:30:00Z'))).toEqual({ inside: null, next: null });
  });

  it('reads rows, ignoring invalid weekday values', () => {
    const w = windowFromRow({ id: 'x', name: 'X', days: '[0, 6, 7, -1, 2.5, "3", 6]', start_minute: 90, duration_minutes: 60 });
    expect(w.days).toEqual([0, 6]);
    expect(windowFromRow({ id: 'y', name: 'Y', days: 'not json', start_minute: 0, duration_minutes: 60 }).days).toEqual([]);
  });

  it('describes schedules for the approval card', () => {
    expect(describeWindow(weekend)).toBe('Sun, Sat 02:00-06:00 UTC (240 min)');
    expect(describeWindow(win([3], 1320, 180))).toBe('Wed 22:00-01:00 next day UTC (180 min)');
  });
});
