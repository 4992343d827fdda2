// Characters that make the text a technician reads differ from the text that runs (Trojan Source): bidirectional
// controls, zero-width and other invisible characters, control characters, unusual spaces, non-ASCII look-alikes in
// hostnames and words that mix scripts. One scanner for the gate (the flag on the approval record and its audit entry),
// the console service (the card's warning, the second confirmation) and the renderer (the escaped code points).
// Pure: no imports, so the console contract and the renderer share it.

export const HIDDEN_KINDS = ['bidi', 'invisible', 'control', 'space', 'confusable', 'mixed-script'] as const;
export type HiddenKind = (typeof HIDDEN_KINDS)[number];

export interface HiddenFinding {
  /** Where in the request: `script.body`, `devices[2].hostname`, `summary`, `ticket.id`, … */
  field: string;
  kind: HiddenKind;
  /** `U+202E` */
  codePoint: string;
  name: string;
  /** UTF-16 offset in the field's text. */
  index: number;
}

/** A run of text to show as it is, or one character to show escaped and highlighted. */
export type Segment = { text: string; flag?: undefined } | { text: string; flag: { kind: HiddenKind; codePoint: string; name: string } };

const NAMES: Record<number, string> = {
  0x061c: 'ARABIC LETTER MARK', 0x200e: 'LEFT-TO-RIGHT MARK', 0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING', 0x202b: 'RIGHT-TO-LEFT EMBEDDING', 0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE', 0x202e: 'RIGHT-TO-LEFT OVERRIDE', 0x2066: 'LEFT-TO-RIGHT ISOLATE', 0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE', 0x2069: 'POP DIRECTIONAL ISOLATE', 0x200b: 'ZERO WIDTH SPACE', 0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER', 0x2060: 'WORD JOINER', 0xfeff: 'ZERO WIDTH NO-BREAK SPACE', 0x00ad: 'SOFT HYPHEN', 0x034f: 'COMBINING GRAPHEME JOINER',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR', 0x00a0: 'NO-BREAK SPACE', 0x2028: 'LINE SEPARATOR', 0x2029: 'PARAGRAPH SEPARATOR', 0x3000: 'IDEOGRAPHIC SPACE',
  0x202f: 'NARROW NO-BREAK SPACE', 0x205f: 'MEDIUM MATHEMATICAL SPACE', 0x0085: 'NEXT LINE', 0x007f: 'DELETE', 0x3164: 'HANGUL FILLER',
  0x115f: 'HANGUL CHOSEONG FILLER', 0x1160: 'HANGUL JUNGSEONG FILLER', 0xffa0: 'HALFWIDTH HANGUL FILLER',
};

const BIDI = new Set([0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);
const FILLERS = new Set([0x034f, 0x115f, 0x1160, 0x3164, 0xffa0]);
const FORMAT = /\p{Cf}/u;
const CONTROL = /\p{Cc}/u;
const ODD_SPACE = /[\p{Zs}\p{Zl}\p{Zp}]/u;
const LETTER = /[\p{L}\p{M}]/u;
const WORD = /[\p{L}\p{M}\p{Nd}_]+/gu;
const PLAIN = /[^\x20-\x7e\t\n\r]/;
// Scripts a look-alike of a Latin letter usually comes from; any other script counts as one more "other".
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee', 'Coptic', 'Georgian', 'Hebrew', 'Arabic', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Thai', 'Devanagari']
  .map((s) => [s, new RegExp(`\\p{Script=${s}}`, 'u')] as const);

export const codePointOf = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
export const nameOf = (cp: number) => NAMES[cp] ?? (cp >= 0xe0000 && cp <= 0xe007f ? 'TAG CHARACTER' : (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef) ? 'VARIATION SELECTOR' : codePointOf(cp));

/** The kind of one code point on its own (look-alikes and mixed scripts need the word around them). */
function kindOf(cp: number, ch: string): HiddenKind | undefined {
  if (BIDI.has(cp)) return 'bidi';
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return undefined;
  if (CONTROL.test(ch)) return 'control';
  if (FORMAT.test(ch) || FILLERS.has(cp) || (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef)) return 'invisible';
  if (cp !== 0x20 && ODD_SPACE.test(ch)) return 'space';
  return undefined;
}

function scriptOf(ch: string): string {
  for (const [name, re] of SCRIPTS) if (re.test(ch)) return name;
  return 'other';
}

/**
 * Every suspicious character of `text`. `hostname`: any non-ASCII character is a look-alike (hostnames are ASCII in an
 * RMM; `DC01` and `DС01` differ by one Cyrillic letter). Elsewhere a word whose letters come from more than one script
 * flags its letters outside the word's first script.
 */
export function scanText(text: string, field: string, opts: { hostname?: boolean } = {}): HiddenFinding[] {
  // Printable ASCII with tabs and line breaks (nearly every script body): nothing to find, without a walk.
  if (!PLAIN.test(text)) return [];
  const out: HiddenFinding[] = [];
  const flagged = new Set<number>();
  let i = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const kind = kindOf(cp, ch) ?? (opts.hostname && cp > 0x7e ? 'confusable' : undefined);
    if (kind) {
      const name = kind === 'confusable' ? `NON-ASCII ${scriptOf(ch).toUpperCase()} CHARACTER IN A HOSTNAME` : nameOf(cp);
      out.push({ field, kind, codePoint: codePointOf(cp), name, index: i });
      flagged.add(i);
    }
    i += ch.length;
  }
  if (!opts.hostname && /[^\x00-\x7f]/.test(text)) {
    for (const m of text.matchAll(WORD)) {
      let first: string | undefined;
      let mixed = false;
      const letters: [number, string, string][] = [];
      let at = m.index;
      for (const ch of m[0]) {
        if (LETTER.test(ch) && !/\p{M}/u.test(ch)) {
          const s = scriptOf(ch);
          first ??= s;
          if (s !== first) mixed = true;
          letters.push([at, ch, s]);
        }
        at += ch.length;
      }
      if (!mixed) continue;
      for (const [pos, ch, s] of letters) {
        if (s === first || flagged.has(pos)) continue;
        const cp = ch.codePointAt(0)!;
        out.push({ field, kind: 'mixed-script', codePoint: codePointOf(cp), name: `${s.toUpperCase()} LETTER IN A ${first!.toUpperCase()} WORD`, index: pos });
      }
    }
    out.sort((a, b) => a.index - b.index);
  }
  return out;
}

/** `text` cut into plain runs and flagged characters, for rendering each flagged one as an escaped code point. */
export function visibleSegments(text: string, opts: { hostname?: boolean } = {}): Segment[] {
  const findings = scanText(text, '', opts);
  if (!findings.length) return [{ text }];
  const out: Segment[] = [];
  let at = 0;
  for (const f of findings) {
    if (f.index < at) continue;
    if (f.index > at) out.push({ text: text.slice(at, f.index) });
    const ch = String.fromCodePoint(text.codePointAt(f.index)!);
    out.push({ text: ch, flag: { kind: f.kind, codePoint: f.codePoint, name: f.name } });
    at = f.index + ch.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** Whether a flagged character is invisible on screen (shown only as its code point) or a visible look-alike (shown with it). */
export const isInvisibleKind = (k: HiddenKind) => k !== 'confusable' && k !== 'mixed-script';

const MAX_DEPTH = 8;
const FIELD_HOSTNAME = /(^|\.)hostname$/i;

/** Every string inside a value (card detail, arguments), each field named by its path. Keys are scanned too. */
export function scanTree(value: unknown, path: string, out: HiddenFinding[] = [], depth = 0): HiddenFinding[] {
  if (typeof value === 'string') {
    out.push(...scanText(value, path, { hostname: FIELD_HOSTNAME.test(path) }));
  } else if (Array.isArray(value) && depth < MAX_DEPTH) {
    value.forEach((v, i) => scanTree(v, `${path}[${i}]`, out, depth + 1));
  } else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH) {
    for (const [k, v] of Object.entries(value)) {
      const p = path ? `${path}.${k}` : k;
      out.push(...scanText(k, `${p} (name)`));
      scanTree(v, p, out, depth + 1);
    }
  }
  return out;
}

/** What a request shows a technician: its summary, the card's facts and the ticket it carries. At most `limit` findings. */
export function requestFindings(r: { summary: string; detail: unknown; ticket?: unknown }, limit = 100): { count: number; findings: HiddenFinding[] } {
  const all = [...scanText(r.summary, 'summary'), ...scanTree(r.detail, ''), ...(r.ticket === undefined ? [] : scanTree(r.ticket, 'ticket'))];
  return { count: all.length, findings: all.slice(0, limit) };
}
