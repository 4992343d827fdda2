// Parsers for the missing-update lists of Windows Update (the scan script's JSON), winget (`winget upgrade`, a fixed-width
// table) and macOS (`softwareupdate --list`), into the same records the apt parser makes. Each returns null when the
// output is not what the tool prints (the scan then counts as failed), and [] when the tool reports nothing missing.
import { EXTERNAL_ID, type PatchReport } from './protocol.ts';

export type Update = PatchReport['updates'][number];
type Severity = Update['severity'];
const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// ---- Windows Update -------------------------------------------------------------------------------------------------

const MSRC: Record<string, Severity> = { critical: 'critical', important: 'important', moderate: 'moderate', low: 'low' };

/** The scan script's JSON array: MsrcSeverity where Microsoft rates the update; otherwise security/critical categories are important. */
export function parseWindowsUpdate(text: string): Update[] | null {
  const start = text.search(/[[{]/);
  if (start < 0) return null; // the script always prints an array, [] when nothing is missing
  let raw: unknown;
  try {
    raw = JSON.parse(text.slice(start).trim());
  } catch {
    return null;
  }
  const list = Array.isArray(raw) ? raw : [raw];
  const out: Update[] = [];
  for (const u of list as Record<string, unknown>[]) {
    if (!u || typeof u.Title !== 'string' || typeof u.UpdateID !== 'string') continue;
    const kbs = (Array.isArray(u.KBArticleIDs) ? u.KBArticleIDs : [u.KBArticleIDs]).filter((k): k is string | number => k !== null && k !== undefined && k !== '');
    const id = kbs.length ? `KB${String(kbs[0]).replace(/^KB/i, '')}` : u.UpdateID;
    const externalId = `${id}=${Number.isInteger(u.RevisionNumber) ? u.RevisionNumber : 1}`;
    if (!EXTERNAL_ID.test(externalId)) continue;
    const categories = (Array.isArray(u.Categories) ? u.Categories : []).map(String);
    const rated = MSRC[String(u.MsrcSeverity ?? '').toLowerCase()];
    const severity: Severity = rated ?? (categories.some((c) => /^(Security Updates|Critical Updates)$/i.test(c)) ? 'important'
      : categories.some((c) => /^(Definition Updates|Drivers|Feature Packs)$/i.test(c)) ? 'low' : 'moderate');
    // RebootBehavior: 0 never reboots, 1 always requires a reboot, 2 may request one.
    out.push({ externalId, title: clip(u.Title), severity, requiresReboot: Number(u.RebootBehavior) > 0 });
  }
  return out;
}

// ---- winget ---------------------------------------------------------------------------------------------------------

/** Terminal columns of a character: East Asian wide and fullwidth forms take two (winget pads by columns, not characters). */
function width(cp: number): number {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff)
    || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff)
    || (cp >= 0x20000 && cp <= 0x3fffd) ? 2 : 1;
}

/** Cuts a line into fields at the given terminal columns. */
function fields(line: string, starts: number[]): string[] {
  const out = starts.map(() => '');
  let col = 0;
  for (const ch of line) {
    let i = starts.length - 1;
    while (i > 0 && col < starts[i]!) i--;
    out[i] += ch;
    col += width(ch.codePointAt(0)!);
  }
  return out.map((f) => f.trim());
}

const TRUNCATED = /…$/;
const SKIPPED_SECTION = /\bpin/i;

/**
 * `winget upgrade`: one or more tables (the second lists packages that need explicit targeting, still upgradable by id).
 * Column positions come from each table's header line (the line above the dashes), so localized headers work. Rows whose
 * Id or Available version winget truncated (…, older winget at 120 columns when redirected) are skipped: they cannot be
 * installed exactly. Tables of pinned packages are skipped: a pin is the administrator's decision.
 */
export function parseWingetUpgrade(text: string): Update[] | null {
  // Progress spinners rewrite the line with \r: keep what was printed last.
  const lines = text.replace(/^\uFEFF/, '').split('\n').map((l) => l.split('\r').filter((p) => p.trim() !== '').at(-1) ?? '');
  const out: Update[] = [];
  let tables = 0;
  for (let i = 1; i < lines.length; i++) {
    if (!/^-{10,}\s*$/.test(lines[i]!)) continue;
    const header = lines[i - 1]!;
    const starts = [...header.matchAll(/\S+/g)].map((m) => [...header.slice(0, m.index)].reduce((n, ch) => n + width(ch.codePointAt(0)!), 0));
    if (starts.length < 4) continue;
    tables++;
    const skip = SKIPPED_SECTION.test(lines[i - 2] ?? '');
    for (let j = i + 1; j < lines.length && lines[j]!.trim() !== ''; j++) {
      const [name = '', id = '', version = '', available = ''] = fields(lines[j]!, starts);
      if (skip || !id || !available || /\s/.test(id) || TRUNCATED.test(id) || TRUNCATED.test(available)) continue;
      const externalId = `${id}=${available}`;
      if (!EXTERNAL_ID.test(externalId)) continue;
      out.push({ externalId, title: clip(`${name || id} ${version || '?'} → ${available} (winget)`), severity: 'low', requiresReboot: false });
    }
  }
  if (tables) return out;
  // No table: either winget's "nothing to upgrade" message, or output this parser does not understand.
  return /No (installed package found|applicable upgrade|available upgrade)|No upgrades? (are )?available/i.test(text) ? [] : null;
}

// ---- macOS softwareupdate -------------------------------------------------------------------------------------------

const MAC_SECURITY = /Security|Rapid Security Response|Background Security|XProtect|MRT|Gatekeeper/i;

function macSeverity(title: string, recommended: boolean, restart: boolean): Severity {
  if (MAC_SECURITY.test(title)) return 'important';
  if (recommended && restart) return 'important'; // macOS point releases: they carry the security content
  return recommended ? 'moderate' : 'low';
}

/**
 * `softwareupdate --list`, both formats: macOS 10.15+ (`* Label: L` then `Title: T, Version: V, Size: …, Recommended: YES, Action: restart,`)
 * and earlier (`   * L` then `T (V), 1886000K [recommended] [restart]`). The externalId is `label=version`, the label being what
 * `softwareupdate --install` takes.
 */
export function parseSoftwareUpdateList(text: string): Update[] | null {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const out: Update[] = [];
  let sawHeader = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/Software Update found the following/i.test(line)) sawHeader = true;
    const m = /^\s*\*\s+(?:Label:\s*)?(.+?)\s*$/.exec(line);
    if (!m) continue;
    const label = m[1]!;
    const detail = (lines[i + 1] ?? '').trim();
    let title = label;
    let version = '';
    let recommended = false;
    let restart = false;
    if (/^Title:/.test(detail)) {
      const kv = Object.fromEntries(detail.split(/,\s*(?=[A-Z][A-Za-z ]*:)/).map((p) => {
        const k = p.indexOf(':');
        return [p.slice(0, k).trim().toLowerCase(), p.slice(k + 1).replace(/,\s*$/, '').trim()];
      }));
      title = kv.title || label;
      version = kv.version ?? '';
      recommended = /^yes$/i.test(kv.recommended ?? '');
      restart = /restart|shut ?down/i.test(kv.action ?? '');
    } else if (detail) {
      const old = /^(.*?)\s*\(([^()]+)\),\s*\d+K(.*)$/.exec(detail);
      title = old ? old[1]! : detail;
      version = old ? old[2]! : '';
      recommended = /\[recommended\]/i.test(detail);
      restart = /\[restart\]/i.test(detail);
    }
    version ||= /-([0-9][0-9A-Za-z.]*)$/.exec(label)?.[1] ?? '0';
    const externalId = `${label}=${version.replace(/[^A-Za-z0-9+._~:-]/g, '')}`;
    if (!EXTERNAL_ID.test(externalId)) continue;
    const size = /Size:\s*(\d+)\s*Ki?B/i.exec(detail)?.[1];
    const extra = [size ? `${Math.round(Number(size) / 1024)} MB` : null, restart ? 'restart' : null].filter(Boolean).join(', ');
    const named = title.includes(version) ? title : `${title} ${version}`;
    out.push({ externalId, title: clip(`${named}${extra ? ` (${extra})` : ''}`), severity: macSeverity(`${title} ${label}`, recommended, restart), requiresReboot: restart });
  }
  if (out.length || sawHeader) return out;
  return /No new software available|No updates are available/i.test(text) ? [] : null;
}
