// The installed-software list. systeminformation has no applications list (its d.ts offers versions() of a few developer
// tools only), so each OS's own inventory is read: dpkg or rpm on Linux, the registry's Uninstall keys on Windows (what RMM
// agents read; Win32_Product is slow and triggers MSI self-repair), system_profiler on macOS. The config may override a command.
import { capture } from './exec.ts';
import type { AgentConfig } from './config.ts';
import type { Facts, Software } from './protocol.ts';

export const SOFTWARE_SOURCES = ['dpkg', 'rpm', 'windows_registry', 'system_profiler'] as const;
export type SoftwareSource = (typeof SOFTWARE_SOURCES)[number];
type Item = Software[number];

/** Tried in order; the first that starts and exits 0 is the list. */
export const OS_SOFTWARE_SOURCES: Record<Facts['os'], SoftwareSource[]> = {
  linux: ['dpkg', 'rpm'],
  windows: ['windows_registry'],
  macos: ['system_profiler'],
};

// Machine-wide installs, 64- and 32-bit views; components and updates that belong to a parent are not applications.
export const WINDOWS_SOFTWARE = `$ErrorActionPreference = 'SilentlyContinue'
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
$keys = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*', 'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*'
$apps = Get-ItemProperty -Path $keys | Where-Object { $_.DisplayName -and $_.SystemComponent -ne 1 -and -not $_.ParentKeyName -and -not $_.ReleaseType } |
  Select-Object DisplayName, DisplayVersion, Publisher
ConvertTo-Json -InputObject @($apps) -Compress`;

export const DEFAULT_SOFTWARE_COMMANDS: Record<SoftwareSource, string[]> = {
  dpkg: ['dpkg-query', '-W', '-f', '${Package}\t${Version}\t${Maintainer}\t${db:Status-Abbrev}\n'],
  rpm: ['rpm', '-qa', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\t%{VENDOR}\n'],
  windows_registry: ['powershell', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', WINDOWS_SOFTWARE],
  system_profiler: ['system_profiler', 'SPApplicationsDataType', '-json', '-detailLevel', 'mini'],
};

const clip = (s: unknown, n = 200) => String(s ?? '').trim().slice(0, n);
const item = (name: unknown, version: unknown, publisher: unknown): Item | null => {
  const n = clip(name);
  return n ? { name: n, version: clip(version), publisher: clip(publisher) || null } : null;
};

export function parseDpkg(text: string): Item[] {
  return text.split('\n').map((l) => l.split('\t')).filter((f) => f.length >= 4 && f[3]!.startsWith('ii')).map((f) => item(f[0], f[1], f[2])).filter((x) => x !== null);
}

export function parseRpm(text: string): Item[] {
  return text.split('\n').map((l) => l.split('\t')).filter((f) => f.length >= 2).map((f) => item(f[0], f[1], f[2] === '(none)' ? '' : f[2])).filter((x) => x !== null);
}

/** The registry script's JSON: DisplayName, DisplayVersion, Publisher (one object or an array). */
export function parseWindowsSoftware(text: string): Item[] {
  const start = text.search(/[[{]/);
  if (start < 0) return [];
  const raw = JSON.parse(text.slice(start)) as unknown;
  return (Array.isArray(raw) ? raw : [raw]).map((a: Record<string, unknown>) => item(a?.DisplayName, a?.DisplayVersion, a?.Publisher)).filter((x) => x !== null);
}

/** The publisher of a macOS app: Apple's own, or the name in its Developer ID certificate. */
function macPublisher(a: Record<string, unknown>): string | null {
  if (a.obtained_from === 'apple') return 'Apple';
  const signer = Array.isArray(a.signed_by) ? String(a.signed_by[0] ?? '') : '';
  return /^Developer ID Application: (.+?)(?: \([A-Z0-9]{10}\))?$/.exec(signer)?.[1] ?? null;
}

/** `system_profiler SPApplicationsDataType -json`. */
export function parseSystemProfilerApps(text: string): Item[] {
  const raw = JSON.parse(text) as { SPApplicationsDataType?: Record<string, unknown>[] };
  return (raw.SPApplicationsDataType ?? []).map((a) => item(a._name, a.version, macPublisher(a))).filter((x) => x !== null);
}

const PARSERS: Record<SoftwareSource, (text: string) => Item[]> = {
  dpkg: parseDpkg, rpm: parseRpm, windows_registry: parseWindowsSoftware, system_profiler: parseSystemProfilerApps,
};

/** The installed software of this machine by its OS's first source that works; [] when none does. One entry per name. */
export async function collectSoftware(os: Facts['os'], config?: Pick<AgentConfig, 'softwareList'>, log: (line: string) => void = () => {}): Promise<Software> {
  for (const source of OS_SOFTWARE_SOURCES[os]) {
    const r = await capture(config?.softwareList?.[source] ?? DEFAULT_SOFTWARE_COMMANDS[source], 180_000);
    if (!r || r.exitCode !== 0) continue;
    let items: Item[];
    try {
      items = PARSERS[source](r.stdout);
    } catch (e) {
      log(`software list from ${source} unreadable: ${(e as Error).message}`);
      continue;
    }
    const seen = new Map<string, Item>();
    for (const i of items) seen.set(i.name, i);
    return [...seen.values()].slice(0, 20_000);
  }
  return [];
}
