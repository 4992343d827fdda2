// Every wait of the suites: a budget scaled to this machine (test/helpers/slowdown.ts), a poll on a condition, a promise
// with a deadline. A wait that runs out fails naming what it waited for; none of them is a fixed sleep.
import { readFileSync } from 'node:fs';
import { slowdown } from './slowdown.ts';

export const SLOWDOWN = slowdown();

/** A time budget for something that takes `baseMs` at most on the reference machine, scaled to this one. */
export const budget = (baseMs: number): number => Math.round(baseMs * SLOWDOWN);

export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

/** What a wait is for: a text, or a function that describes it when the wait runs out (e.g. with a child's output). */
export type What = string | (() => string);
const textOf = (what: What) => (typeof what === 'function' ? what() : what);

/** Resolves with fn's first truthy value; throws naming `what` (and the last value or error) after budget(baseMs). */
export async function until<T>(what: What, fn: () => T | undefined | false | Promise<T | undefined | false>, baseMs = 20_000, everyMs = 100): Promise<T> {
  const ms = budget(baseMs);
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new WaitTimeout(`timed out after ${ms} ms waiting for ${textOf(what)} (last: ${last instanceof Error ? last.message : JSON.stringify(last)?.slice(0, 500)})`);
}

/** p, or a WaitTimeout naming `what` once budget(baseMs) has passed (p itself is left to settle on its own). */
export function within<T>(what: What, p: Promise<T>, baseMs: number): Promise<T> {
  const ms = budget(baseMs);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(`timed out after ${ms} ms waiting for ${textOf(what)}`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Whether a process is still running (signal 0 probes without sending anything). A zombie is not: a killed orphan
 * waits for init to reap it, and this machine's init reaps every few seconds.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}
