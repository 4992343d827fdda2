// Audit rows keep arguments for accountability, minus secrets and unbounded blobs. Secrets are found two ways: by the
// name of the field that holds them, and by the shape of the value wherever it appears (a key pasted into a note).
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key|^pw$|^pwd$/i;
// The id of a secret (tokenId, api_key_id) names it without revealing it: kept, so its entries can be linked.
const IDENTIFIER = /(Id|_id|Ids|_ids|ID)$/;
const MAX_STRING = 8192;
const MAX_ITEMS = 200;
const MAX_DEPTH = 8;
// Request bodies nest at most 64 levels (the HTTP layer refuses deeper ones).
const UNBOUNDED_DEPTH = 100;

/**
 * Token shapes redacted in any string. Each keeps a short label so a reader knows what was there. Ordered so that a
 * longer match (a PEM block, a JWT) wins over a shorter one inside it.
 */
const SECRET_SHAPES: readonly [label: string, pattern: string][] = [
  ['private-key', '-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)'],
  ['jwt', '\\beyJ[A-Za-z0-9_-]{4,}\\.eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*'],
  ['bearer', '\\b[Bb]earer[ \\t]+[A-Za-z0-9._~+/=-]{8,}'],
  // Countersign's own secrets: API keys, agent secrets, enrollment tokens.
  ['countersign-key', '\\bcsk_[A-Za-z0-9_-]{16,}'],
  ['countersign-agent-secret', '\\bcsa_[A-Za-z0-9_-]{16,}'],
  ['countersign-enrollment-token', '\\bcset\\.[A-Za-z0-9_-]{16,}(?:\\.[A-Za-z0-9_-]+)?'],
  ['aws-access-key', '\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}\\b'],
  ['aws-secret', '\\baws_secret_access_key[\'"]?\\s*[:=]\\s*[\'"]?[A-Za-z0-9/+=]{40}'],
  ['azure-account-key', '\\bAccountKey=[A-Za-z0-9/+=]{20,}'],
  ['azure-sas', '\\bsig=[A-Za-z0-9%/+=]{20,}'],
  ['azure-client-secret', '\\b[A-Za-z0-9_~.-]{3}\\dQ~[A-Za-z0-9_~.-]{31,34}'],
  ['gcp-api-key', '\\bAIza[0-9A-Za-z_-]{35}'],
  ['gcp-oauth-token', '\\bya29\\.[0-9A-Za-z_-]{20,}'],
  ['github-token', '\\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})'],
  ['slack-token', '\\bxox[abposr]-[A-Za-z0-9-]{10,}'],
];
const SHAPES = new RegExp(SECRET_SHAPES.map(([, p]) => `(${p})`).join('|'), 'g');
// Cheap gate: every shape above contains one of these; most audit strings contain none and skip the big regex.
const MAYBE = /-----BEGIN|eyJ|earer|cs[ak]_|cset\.|A[KSGIRNP3][A-Z0-9]{2}|aws_secret|AccountKey|sig=|Q~|AIza|ya29\.|gh[pousr]_|github_pat_|xox/;

/** The string with every recognised token shape replaced by `[redacted:<kind>]`. */
export function redactText(s: string): string {
  if (!MAYBE.test(s)) return s;
  return s.replace(SHAPES, (...m: unknown[]) => {
    const groups = m.slice(1, SECRET_SHAPES.length + 1);
    const i = groups.findIndex((g) => g !== undefined);
    return `[redacted:${SECRET_SHAPES[i]?.[0] ?? 'secret'}]`;
  });
}

export function redact(value: unknown, depth = 0): unknown {
  return redactWith(value, depth, true);
}

/** Secrets removed as by `redact`, nothing cut: the basis of the hash of a value too large to store whole. */
export function redactUnbounded(value: unknown): unknown {
  return redactWith(value, 0, false);
}

function redactWith(value: unknown, depth: number, bounded: boolean): unknown {
  if (typeof value === 'string') {
    if (!bounded || value.length <= MAX_STRING) return redactText(value);
    // Redact a little past the cut, so a token straddling it is still recognised, then cut.
    return `${redactText(value.slice(0, MAX_STRING + 128)).slice(0, MAX_STRING)}…[truncated ${value.length - MAX_STRING} chars]`;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= (bounded ? MAX_DEPTH : UNBOUNDED_DEPTH)) return '[nested too deep]';
  if (Array.isArray(value)) {
    const items = (bounded ? value.slice(0, MAX_ITEMS) : value).map((v) => redactWith(v, depth + 1, bounded));
    if (bounded && value.length > MAX_ITEMS) items.push(`[truncated ${value.length - MAX_ITEMS} items]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[redactText(k)] = SECRET_KEY.test(k) && !IDENTIFIER.test(k) ? '[redacted]' : redactWith(v, depth + 1, bounded);
  return out;
}
