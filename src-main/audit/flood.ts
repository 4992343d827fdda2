// Refusals are audited one by one until a source makes too many in a minute; past that they are counted, and the count
// is written as one entry per source, cause and minute. A flood then costs the log a bounded number of bytes a minute,
// and still leaves a trace of its size.
import type { AuditInput } from './log.ts';

/**
 * Refusals a source gets as full entries per wall-clock minute, besides the first of each cause; the rest of that minute
 * are counted. Causes are our own refusal codes (a bounded set), so a source writes a bounded number of entries a minute.
 */
export const FULL_REFUSALS_PER_MINUTE = 20;
/** Sources tracked at once; past it, new sources share one bucket (memory stays bounded under a spoofed-address flood). */
const MAX_SOURCES = 10_000;
// The counted entry names the most frequent tools, briefly: it must stay within a refusal's detail cap.
const MAX_TOOLS = 5;
const TOOL_NAME_MAX = 64;
const OVERFLOW = '(other sources)';

interface Cause { sample: AuditInput; count: number; first: number; last: number; tools: Map<string, number> }
interface Window { minute: number; full: number; causes: Map<string, Cause> }

export const sourceOf = (e: AuditInput) => (e.keyId ? `key ${e.keyId}` : e.remote ? `address ${e.remote}` : 'anonymous');
const causeOf = (e: AuditInput) => `${e.event}:${e.code ?? e.rule ?? 'refused'}`;

export class RefusalAggregator {
  private readonly windows = new Map<string, Window>();
  private readonly closed: AuditInput[] = [];
  private readonly perMinute: number;
  private readonly now: () => number;

  constructor(opts: { perMinute?: number; now?: () => number } = {}) {
    this.perMinute = opts.perMinute ?? FULL_REFUSALS_PER_MINUTE;
    // Read at each call, not captured: the same clock as the entries' own timestamps (new Date() in the log), faked or not.
    this.now = opts.now ?? (() => Date.now());
  }

  /** True: write this refusal in full. False: it was counted. */
  admit(e: AuditInput): boolean {
    const t = this.now();
    const minute = Math.floor(t / 60_000);
    let source = sourceOf(e);
    if (!this.windows.has(source) && this.windows.size >= MAX_SOURCES) source = OVERFLOW;
    let w = this.windows.get(source);
    if (w && w.minute !== minute) {
      this.close(source, w);
      w = undefined;
    }
    if (!w) this.windows.set(source, (w = { minute, full: 0, causes: new Map() }));
    const key = causeOf(e);
    let c = w.causes.get(key);
    // The allowance, and the first of each cause in the minute (so a new kind of refusal shows at once).
    if (w.full < this.perMinute || !c) {
      w.full++;
      if (!c) w.causes.set(key, { sample: e, count: 0, first: t, last: t, tools: new Map() });
      return true;
    }
    if (c.count++ === 0) c.first = t;
    c.last = t;
    const tool = e.tool?.slice(0, TOOL_NAME_MAX);
    if (tool && (c.tools.has(tool) || c.tools.size < MAX_TOOLS)) c.tools.set(tool, (c.tools.get(tool) ?? 0) + 1);
    return false;
  }

  /** Counts of minutes that have ended (all of them with `all`), as entries to append; each is handed out once. */
  take(all = false): AuditInput[] {
    const minute = Math.floor(this.now() / 60_000);
    // Called on every append: the windows are looked at once a minute, not every time.
    if (!all && minute === this.scanned && !this.closed.length) return [];
    this.scanned = minute;
    for (const [source, w] of this.windows) if (all || w.minute < minute) this.close(source, w);
    return this.closed.splice(0);
  }

  /** Counts taken whose write did not commit: handed out again, first, by the next take. */
  giveBack(entries: readonly AuditInput[]): void {
    this.closed.unshift(...entries);
  }

  private scanned = -1;

  get pending(): boolean {
    if (this.closed.length) return true;
    for (const w of this.windows.values()) for (const c of w.causes.values()) if (c.count) return true;
    return false;
  }

  private close(source: string, w: Window): void {
    this.windows.delete(source);
    const from = new Date(w.minute * 60_000).toISOString();
    for (const c of w.causes.values()) {
      if (c.count === 0) continue;
      const s = c.sample;
      const tools = Object.fromEntries([...c.tools].sort((a, b) => b[1] - a[1]));
      const tool = c.tools.size === 1 ? [...c.tools.keys()][0]! : null;
      this.closed.push({
        event: s.event, decision: s.decision, code: s.code ?? null, rule: s.rule ?? null, keyId: s.keyId ?? null, keyName: s.keyName ?? null,
        remote: source === OVERFLOW ? null : s.remote ?? null, client: s.client ?? null, tool,
        outcome: `${c.count} more like this from ${source} in the minute from ${from}: counted, not stored one by one`,
        detail: { aggregated: true, count: c.count, source, minute: from, first: new Date(c.first).toISOString(), last: new Date(c.last).toISOString(), tools },
      });
    }
  }
}
