// Every audit entry has a size bound, whoever writes it: the log is append-only, so an unbounded column is a way to fill
// the disk for good. A refusal (denied, throttled) keeps less than an allowed call: its input was never validated.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../store/canonical.ts';
import { redact, redactText, redactUnbounded } from './redact.ts';

/** Characters of canonical JSON kept of a refusal's arguments; past it, a prefix, the SHA-256 of the whole and its size. */
export const REFUSAL_ARGS_MAX = 4096;
export const REFUSAL_DETAIL_MAX = 2048;
/** Other entries: validated input (a 64 KiB script body at most), or results. */
export const ARGS_MAX = 131_072;
export const DETAIL_MAX = 65_536;
export const OUTCOME_MAX = 1024;
/** Short columns: names, codes, ids, addresses. Well-formed values are far shorter; a client may send anything. */
export const TEXT_MAX = 256;

export const isRefusal = (decision: string) => decision === 'denied' || decision === 'throttled';

/**
 * The column text of a JSON value: redacted, and within `max` characters. Over the cap it becomes
 * `{"truncated":true,"bytes":N,"sha256":"…","prefix":"<first max characters of the canonical JSON>"}`, where N and the
 * hash are of the whole redacted value, so a copy of the original request can still be matched against the entry.
 */
export function boundedJson(value: unknown, max: number): string {
  const json = JSON.stringify(redact(value)) ?? 'null';
  if (json.length <= max) return json;
  const whole = canonicalJson(redactUnbounded(value)) ?? 'null';
  const bytes = Buffer.byteLength(whole);
  return JSON.stringify({ truncated: true, bytes, sha256: createHash('sha256').update(whole).digest('hex'), prefix: whole.slice(0, max) });
}

/** Free text (an outcome, a tool name a client made up): token shapes redacted, cut at `max` with the count of the rest. */
export function boundedText(s: string, max: number): string {
  if (s.length <= max) return redactText(s);
  return `${redactText(s.slice(0, max + 128)).slice(0, max)}…[${s.length - max} more chars]`;
}
