// The integrity check of a long-running process, again and again. A console left open for weeks would otherwise learn
// of a page gone bad, or of an audit summary edited to hide entries from a filter, only at its next start. Each run is
// the check of store/integrity.ts (SQLite) or audit/facetCheck.ts (PostgreSQL); between runs the last finding stands,
// so the banner and /healthz never fall back to "checking" once a first result is in.
import type { IntegrityCheck, IntegrityReport } from './integrity.ts';

/** How often a long-running process checks its database again by default: 6 hours (SQLite at a million entries: ~2 s of a worker thread). */
export const INTEGRITY_EVERY_MS = 6 * 3_600_000;

export interface RecurringIntegrityCheck extends IntegrityCheck {
  /** Called with each finished run's report, the first one included; returns the unsubscribe. */
  onReport(fn: (r: IntegrityReport) => void): () => void;
}

export function recurringIntegrityCheck(start: () => IntegrityCheck, everyMs: number, log: (msg: string) => void = () => {}): RecurringIntegrityCheck {
  const report: IntegrityReport = { state: 'checking', detail: null, checkedAt: null, ms: null };
  const listeners = new Set<(r: IntegrityReport) => void>();
  let current = start();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const settle = async (run: IntegrityCheck): Promise<IntegrityReport> => {
    const r: IntegrityReport = await run.done.then((x) => ({ ...x }), (e: unknown) => ({
      state: 'unchecked' as const, detail: e instanceof Error ? e.message : String(e), checkedAt: new Date().toISOString(), ms: null,
    }));
    // A run cut short by the stop says nothing about the database: the last finding stands.
    if (stopped) return { ...report };
    try {
      // Nor does a run that could not check (a lost connection, a worker that died): it is logged by the check, and
      // the last finding stands, so damage found earlier stays on the banner and /healthz until a run finds it gone.
      if (r.state !== 'unchecked' || report.state === 'checking' || report.state === 'unchecked') {
        if (report.state === 'damaged' && r.state === 'ok') log('the database passed its integrity check again');
        Object.assign(report, r);
        for (const fn of listeners) {
          try {
            fn(report);
          } catch (e) {
            log(`a listener of the integrity check failed: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      }
    } finally {
      schedule();
    }
    return { ...report };
  };
  const schedule = () => {
    timer = setTimeout(() => {
      try {
        current = start();
      } catch (e) {
        // Never an exception on a timer (it would end the process): the last finding stands, and the next run is tried.
        log(`the database integrity check could not start: ${e instanceof Error ? e.message : String(e)}`);
        schedule();
        return;
      }
      void settle(current);
    }, everyMs);
    timer.unref();
  };
  return {
    report,
    done: settle(current),
    onReport(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (report.state === 'checking') Object.assign(report, { state: 'unchecked', detail: 'the server stopped first', checkedAt: new Date().toISOString() });
      await current.stop();
    },
  };
}
