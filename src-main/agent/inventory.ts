// The real machine, as systeminformation sees it; the installed software comes from software.ts.
import { hostname as osHostname } from 'node:os';
import si from 'systeminformation';
import { AGENT_VERSION, type Facts, type Hardware } from './protocol.ts';

const GB = 1024 ** 3;
const round1 = (n: number) => Math.round(n * 10) / 10;
const clip = (s: unknown, n = 200) => String(s ?? '').slice(0, n);

export function osName(platform = process.platform): Facts['os'] {
  if (platform === 'win32') return 'windows';
  if (platform === 'darwin') return 'macos';
  return 'linux';
}

export async function collectHardware(hostnameOverride?: string): Promise<{ facts: Facts; hardware: Hardware }> {
  const [os, cpu, mem, disks, nets, sys, bios] = await Promise.all([
    si.osInfo(), si.cpu(), si.mem(), si.fsSize().catch(() => []), si.networkInterfaces().catch(() => []), si.system(), si.bios().catch(() => null),
  ]);
  const ifaces = (Array.isArray(nets) ? nets : [nets]).filter((n) => n && !n.internal);
  const ip = ifaces.find((n) => n.ip4)?.ip4 || null;
  const hardware: Hardware = {
    manufacturer: clip(sys.manufacturer || 'unknown'), model: clip(sys.model || 'unknown'), serial: clip(sys.serial || os.serial || ''),
    cpu: { model: clip(`${cpu.manufacturer} ${cpu.brand}`.trim()), cores: cpu.cores },
    memoryGb: round1(mem.total / GB),
    disks: disks.slice(0, 200).map((d) => ({ mount: clip(d.mount, 500), sizeGb: round1(d.size / GB), freeGb: round1((d.available ?? d.size - d.used) / GB), fs: clip(d.type, 100) })),
    network: ifaces.slice(0, 200).map((n) => ({ name: clip(n.iface), mac: clip(n.mac, 64), ipv4: n.ip4 ? clip(n.ip4, 64) : null, ipv6: n.ip6 ? clip(n.ip6, 100) : null })),
    ...(bios && (bios.vendor || bios.version) ? { bios: clip(`${bios.vendor} ${bios.version}`.trim()) } : {}),
    os: { platform: clip(os.platform, 50), distro: clip(os.distro), release: clip(os.release, 100), codename: clip(os.codename, 100), kernel: clip(os.kernel), arch: clip(os.arch, 50) },
    virtual: sys.virtual,
    agentVersion: AGENT_VERSION,
    collectedAt: new Date().toISOString(),
  };
  const osVersion = clip(`${os.distro} ${os.release}${os.codename ? ` (${os.codename})` : ''}`.trim() || os.kernel);
  return { facts: { hostname: clip(hostnameOverride || os.hostname || osHostname(), 253), os: osName(), osVersion, ip: ip ? clip(ip, 64) : null }, hardware };
}

export { collectSoftware } from './software.ts';
