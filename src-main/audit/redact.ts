// Audit rows keep arguments for accountability, minus secrets and unbounded blobs.
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|authorization|cookie|credential/i;
// The id of a secret (tokenId, api_key_id) names it without revealing it: kept, so its entries can be linked.
const IDENTIFIER = /(Id|_id|Ids|_ids|ID)$/;
const MAX_STRING = 8192;
const MAX_ITEMS = 200;
const MAX_DEPTH = 8;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[truncated ${value.length - MAX_STRING} chars]` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redact(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`[truncated ${value.length - MAX_ITEMS} items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && !IDENTIFIER.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}
