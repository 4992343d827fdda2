// Missing updates from the OS package managers: apt here (`apt list --upgradable`, security origin → important, critical
// for core packages); Windows Update, winget and softwareupdate in patchParsers.ts; which of them run, in scanPatches.
import { capture } from './exec.ts';
import { AgentConfig, commandTable } from './config.ts';
import { osName } from './inventory.ts';
import { parseSoftwareUpdateList, parseWindowsUpdate, parseWingetUpgrade, type Update } from './patchParsers.ts';
import { EXTERNAL_ID, type Facts, type PatchManager, type PatchReport } from './protocol.ts';

/** Packages whose update needs a reboot to take effect. */
const REBOOT = /^(linux-image|linux-modules|linux-firmware|libc6$|systemd$|dbus$|intel-microcode$|amd64-microcode$)/;
/** Security updates of these are rated critical rather than important. */
const CORE = /^(linux-image|libc6$|openssl$|libssl|openssh-server$|openssh-client$|sudo$|systemd$)/;

// name/origin1,origin2 version arch [upgradable from: old]
const LINE = /^([a-z0-9][a-z0-9+.-]*)\/(\S+)\s+(\S+)\s+(\S+)\s+\[upgradable from: ([^\]]+)\]/;

export function parseAptUpgradable(text: string): Update[] {
  const out: Update[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const [, name, origins, version, arch, from] = m as unknown as [string, string, string, string, string, string];
    const externalId = `${name}=${version}`;
    if (!EXTERNAL_ID.test(externalId)) continue;
    const security = origins.split(',').some((o) => /-security$|\/updates$/.test(o) || o.endsWith('security'));
    out.push({
      externalId,
      title: `${name} ${from} → ${version} (${arch}, ${origins})`.slice(0, 300),
      severity: security ? (CORE.test(name) ? 'critical' : 'important') : 'low',
      requiresReboot: REBOOT.test(name),
    });
  }
  return out;
}

const PARSERS: Record<PatchManager, (text: string) => Update[] | null> = {
  apt: parseAptUpgradable,
  windows_update: parseWindowsUpdate,
  winget: parseWingetUpgrade,
  softwareupdate: parseSoftwareUpdateList,
};
const STRICT_EXIT = new Set<PatchManager>(['apt', 'windows_update']);
/** Scans can be slow: Windows Update searches online, softwareupdate asks Apple's catalog. */
const SCAN_TIMEOUT_MS = 10 * 60_000;

/**
 * The missing updates of this machine from every package manager of its OS that is present (its scan command starts and
 * its output parses), or null where there is none. A manager that is absent or fails is left out of `managers`, so the
 * console keeps its earlier findings instead of taking them as installed.
 */
export async function scanPatches(os: Facts['os'] = osName(), config: AgentConfig = AgentConfig.parse({}), log: (line: string) => void = () => {}): Promise<PatchReport | null> {
  const managers: PatchManager[] = [];
  const updates: Update[] = [];
  for (const m of commandTable(os, config).patchManagers) {
    const r = await capture(m.scan, SCAN_TIMEOUT_MS, { ...process.env, LANG: 'C', LC_ALL: 'C' });
    if (!r) continue; // not installed here
    // apt and the Windows Update script exit 0 or failed; winget and softwareupdate may exit non-zero while reporting
    // "nothing to upgrade": their parser decides.
    const found = r.status === 'timed_out' || (STRICT_EXIT.has(m.name) && r.exitCode !== 0) ? null : PARSERS[m.name](r.stdout + (m.name === 'softwareupdate' ? `\n${r.stderr}` : ''));
    if (!found) {
      log(`${m.name} scan failed (${r.status}, exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').at(-1)?.slice(0, 200) ?? ''}`);
      continue;
    }
    managers.push(m.name);
    updates.push(...found);
  }
  if (!managers.length) return null;
  return { manager: managers[0]!, managers, scannedAt: new Date().toISOString(), updates: updates.slice(0, 5000) };
}
