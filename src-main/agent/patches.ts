// Missing updates from the OS package manager. apt: `apt list --upgradable`, security origin → important (critical for core packages).
import { capture } from './exec.ts';
import { EXTERNAL_ID, type PatchReport } from './protocol.ts';

type Update = PatchReport['updates'][number];

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

/** The missing updates of this machine, or null where no supported package manager is present. */
export async function scanPatches(): Promise<PatchReport | null> {
  if (process.platform !== 'linux') return null;
  const r = await capture(['apt', 'list', '--upgradable']);
  if (!r || r.exitCode !== 0) return null;
  return { manager: 'apt', scannedAt: new Date().toISOString(), updates: parseAptUpgradable(r.stdout).slice(0, 5000) };
}
