// Every audit entry has a size bound, whoever writes it: the log is append-only, so an unbounded column is a way to fill
// the disk for good. A refusal (denied, throttled) keeps less than an allowed call: its input was never validated.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../store/canonical.ts';
import { redact, redactText, redactUnbounded } from './redact.ts';

// Every cap is in UTF-8 bytes of the stored column, so the worst case of an entry is the sum of the caps.
/** A refusal's arguments column; past it, a prefix of the canonical JSON, the SHA-256 of the whole and its size. */
export const REFUSAL_ARGS_MAX = 4096;
export const REFUSAL_DETAIL_MAX = 2048;
/** Other entries: validated input (a 64 KiB script body at most), or results. */
export const ARGS_MAX = 131_072;
export const DETAIL_MAX = 65_536;
export const OUTCOME_MAX = 1024;
/** Short columns: names, codes, ids, addresses. Well-formed values are far shorter; a client may send anything. */
export const TEXT_MAX = 256;

export const isRefusal = (decision: string) => decision === 'denied' || decision === 'throttled';

/** The longest prefix of `s` whose UTF-8 encoding fits in `maxBytes`, never splitting a character. */
export function sliceToBytes(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  const buf = Buffer.from(s.length > maxBytes ? s.slice(0, maxBytes) : s);
  if (buf.length <= maxBytes) return buf.toString('utf8');
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/**
 * The column text of a JSON value: redacted, and at most `maxBytes` bytes. Over the cap it becomes
 * `{"truncated":true,"bytes":N,"sha256":"…","prefix":"<the start of the canonical JSON>"}`, where N and the hash are of
 * the whole redacted value, so a copy of the original request can still be matched against the entry.
 */
export function boundedJson(value: unknown, maxBytes: number): string {
  const json = JSON.stringify(redact(value)) ?? 'null';
  if (json.length <= maxBytes / 3 || Buffer.byteLength(json) <= maxBytes) return json;
  const whole = canonicalJson(redactUnbounded(value)) ?? 'null';
  const head = { truncated: true, bytes: Buffer.byteLength(whole), sha256: createHash('sha256').update(whole).digest('hex') };
  // The prefix is stored inside a JSON string, where escaping may lengthen it: shrink until the whole column fits.
  let budget = maxBytes - Buffer.byteLength(JSON.stringify({ ...head, prefix: '' }));
  for (;;) {
    const out = JSON.stringify({ ...head, prefix: sliceToBytes(whole, budget) });
    const over = Buffer.byteLength(out) - maxBytes;
    if (over <= 0) return out;
    budget -= Math.max(over, 16);
  }
}

/** Free text (an outcome, a tool name a client made up): token shapes redacted, cut to `maxBytes` with the count of the rest. */
export function boundedText(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return redactText(s);
  const kept = sliceToBytes(redactText(s.slice(0, maxBytes + 128)), maxBytes - 32);
  return `${kept}…[${s.length - kept.length} more chars]`;
}
