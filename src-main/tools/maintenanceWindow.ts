// Maintenance-window math: pure functions over UTC weekdays and minutes, no database access.
// A window opens on each listed weekday (0 = Sunday, UTC) at `startMinute` after UTC midnight and stays open for
// `durationMinutes` (up to a full day, so an occurrence may run past midnight into the next day). Intervals are
// half-open: [start, start + duration).

export interface MaintenanceWindow {
  id: string;
  name: string;
  days: number[];
  startMinute: number;
  durationMinutes: number;
}

export interface Occurrence {
  window: MaintenanceWindow;
  start: Date;
  end: Date;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** Builds a window from its database row; days that are not integers 0-6 are ignored (they can never open). */
export function windowFromRow(row: { id: string; name: string; days: string; start_minute: number; duration_minutes: number }): MaintenanceWindow {
  let days: unknown;
  try {
    days = JSON.parse(row.days);
  } catch {
    days = [];
  }
  const valid = Array.isArray(days) ? days.filter((d): d is number => Number.isInteger(d) && d >= 0 && d <= 6) : [];
  return { id: row.id, name: row.name, days: [...new Set(valid)].sort((a, b) => a - b), startMinute: row.start_minute, durationMinutes: row.duration_minutes };
}

function utcMidnight(t: Date, dayOffset: number): number {
  return Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()) + dayOffset * DAY_MS;
}

function occurrenceOn(w: MaintenanceWindow, midnight: number): Occurrence | null {
  if (!w.days.includes(new Date(midnight).getUTCDay())) return null;
  const start = midnight + w.startMinute * MINUTE_MS;
  return { window: w, start: new Date(start), end: new Date(start + w.durationMinutes * MINUTE_MS) };
}

/** The occurrence of `w` that contains `now`, if any (one that began yesterday may still be open past midnight). */
export function currentOccurrence(w: MaintenanceWindow, now: Date): Occurrence | null {
  const t = now.getTime();
  for (const offset of [0, -1]) {
    const o = occurrenceOn(w, utcMidnight(now, offset));
    if (o && o.start.getTime() <= t && t < o.end.getTime()) return o;
  }
  return null;
}

/** The first occurrence of `w` that starts strictly after `now` (at most a week ahead); null when it has no days. */
export function nextOccurrence(w: MaintenanceWindow, now: Date): Occurrence | null {
  for (let offset = 0; offset <= 7; offset++) {
    const o = occurrenceOn(w, utcMidnight(now, offset));
    if (o && o.start.getTime() > now.getTime()) return o;
  }
  return null;
}

export interface WindowState {
  /** The open occurrence containing `now` (the one ending last when windows overlap). */
  inside: Occurrence | null;
  /** The earliest occurrence of any window starting after `now`. */
  next: Occurrence | null;
}

export function windowState(windows: MaintenanceWindow[], now: Date): WindowState {
  let inside: Occurrence | null = null;
  let next: Occurrence | null = null;
  for (const w of windows) {
    const cur = currentOccurrence(w, now);
    if (cur && (!inside || cur.end > inside.end)) inside = cur;
    const nx = nextOccurrence(w, now);
    if (nx && (!next || nx.start < next.start)) next = nx;
  }
  return { inside, next };
}

const hhmm = (minute: number) => `${String(Math.floor(minute / 60) % 24).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** Human schedule for an approval card, e.g. "Sat, Sun 02:00-06:00 UTC (240 min)". */
export function describeWindow(w: MaintenanceWindow): string {
  const days = w.days.length ? [...w.days].sort((a, b) => a - b).map((d) => WEEKDAYS[d]).join(', ') : 'no days';
  const endMinute = w.startMinute + w.durationMinutes;
  const nextDay = endMinute > 1440 ? ' next day' : '';
  return `${days} ${hhmm(w.startMinute)}-${hhmm(endMinute % 1440)}${nextDay} UTC (${w.durationMinutes} min)`;
}
