// Fills a migrated store with a believable, deterministic demo MSP fleet (tables of migration 0001 only).
import { createHash } from 'node:crypto';
import type { Store } from '../store/store.ts';
import { placeholders } from '../store/sql.ts';
import {
  ALERT_TEMPLATES, HARDWARE, PATCHES, PLATFORMS, SCRIPTS, SOFTWARE, TENANTS, TENANT_WS_SOFTWARE,
  type AlertSeverity, type AlertTemplate, type DeviceSpec, type HwModel, type Os, type Role, type SerialKind, type TenantSpec,
} from './catalog.ts';

export interface SeedOptions { seed?: number; now?: Date }
/** Rows written; `patches` is the size of the patch catalogue (device links are not counted). */
export interface SeedCounts { tenants: number; devices: number; alerts: number; patches: number; scripts: number }

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SEVERITIES: AlertSeverity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** mulberry32: tiny, fast 32-bit PRNG; the same seed always yields the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SeedRng {
  next: () => number;
  int: (lo: number, hi: number) => number;
  pick: <T>(items: readonly T[]) => T;
  chance: (p: number) => boolean;
  shuffle: <T>(items: readonly T[]) => T[];
}

/** The seeded generator the demo fleet is drawn from (tests reuse it for reproducible inputs). */
export function makeRng(seed: number): SeedRng {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next, int,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
    shuffle: (items) => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

/** A UUID v4-shaped id drawn from the PRNG (deterministic, unlike crypto.randomUUID). */
function uuidFrom(next: () => number): string {
  const b = Array.from({ length: 16 }, () => Math.floor(next() * 256));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

interface Disk { mount: string; sizeGb: number; freeGb: number }
interface Hardware {
  manufacturer: string; model: string; serial: string; cpu: { model: string; cores: number }; memoryGb: number;
  disks: Disk[]; network: { name: string; mac: string; ipv4: string | null }[]; bios?: string;
}
interface Device {
  id: string; tenantId: string; groupId: string; spec: DeviceSpec; os: Os; osVersion: string; role: Role;
  online: boolean; compliance: 'compliant' | 'non_compliant' | 'unknown'; seenAgo: number; enrolledAgo: number;
  ip: string; hw: Hardware; software: [string, string, string | null][];
}

const ALNUM = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const HEX = '0123456789abcdef';

function serialFor(kind: SerialKind, r: SeedRng): string {
  const chars = (n: number, set = ALNUM) => Array.from({ length: n }, () => r.pick([...set])).join('');
  const hexPairs = (n: number) => Array.from({ length: n }, () => chars(2, HEX)).join(' ');
  switch (kind) {
    case 'dell': return chars(7);
    case 'hp': return `5CG${chars(3, '0123456789')}${chars(4)}`;
    case 'lenovo': return `PF${chars(6)}`;
    case 'apple': return chars(10);
    case 'asus': return `BTAN${chars(8, '0123456789')}`;
    case 'vmware': return `VMware-42 ${hexPairs(7)}-${hexPairs(8)}`;
    case 'hyperv': return Array.from({ length: 6 }, () => chars(4, '0123456789')).join('-') + `-${chars(2, '0123456789')}`;
    case 'none': return 'Not Specified';
  }
}

function buildHardware(model: HwModel, os: Os, ip: string, isLaptop: boolean, r: SeedRng): Hardware {
  const mac = () => `${model.oui}:${Array.from({ length: 3 }, () => r.int(0, 255).toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
  const mounts = os === 'windows' ? ['C:', 'D:'] : os === 'macos' ? ['/'] : ['/', '/srv'];
  const disks = model.disks.slice(0, mounts.length).map((sizeGb, i) =>
    ({ mount: mounts[i]!, sizeGb, freeGb: Math.round(sizeGb * (0.18 + 0.6 * r.next())) }));
  const primary = os === 'linux' ? model.nic[1] : model.nic[0];
  const network = [{ name: primary, mac: mac(), ipv4: ip as string | null }];
  if (isLaptop && os !== 'macos') network.push({ name: os === 'windows' ? 'Ethernet' : 'enp0s31f6', mac: mac(), ipv4: null });
  const hw: Hardware = {
    manufacturer: model.mfr, model: model.model, serial: serialFor(model.serial, r),
    cpu: { model: model.cpu, cores: model.cores }, memoryGb: r.pick(model.mem), disks, network,
  };
  if (model.bios) hw.bios = model.bios;
  return hw;
}

function buildSoftware(list: string[], r: SeedRng): [string, string, string | null][] {
  const byName = new Map<string, [string, string, string | null]>();
  const add = (entry: string) => {
    const [name = '', version = '', publisher] = entry.replace(/^\?/, '').split(';');
    byName.set(name, [name, version, publisher ?? null]);
  };
  const skipped: string[] = [];
  for (const entry of list) {
    if (entry.startsWith('?') && !r.chance(0.6)) skipped.push(entry);
    else add(entry);
  }
  // Keep every inventory between 8 and 20 packages.
  for (const entry of skipped) if (byName.size < 8) add(entry);
  return [...byName.values()].slice(0, 20);
}

function buildDevices(t: TenantSpec, tenantId: string, groups: Map<string, string>, r: SeedRng, id: () => string): Device[] {
  const offline = new Set(r.shuffle(t.devices.map((_, i) => i).filter((i) => !t.devices[i]!.tags.includes('dc'))).slice(0, 3));
  let srvIp = 10;
  let wsIp = 101;
  const devices = t.devices.map((spec, i): Device => {
    const platform = PLATFORMS[spec.platform];
    const os = platform.os;
    const role: Role = os === 'linux' || spec.platform === 'ws2022' ? 'srv' : 'ws';
    const online = !offline.has(i);
    const ip = `${t.subnet}.${role === 'srv' ? srvIp++ : wsIp++}`;
    // A MacBook Pro for *-MBP* hostnames, an Air for *-MBA*.
    const macKind = spec.host.includes('-MBP') ? 'MacBook Pro' : 'MacBook Air';
    const model = spec.hw === 'vm' ? HARDWARE.vm[t.hv]
      : r.pick(spec.hw === 'mac' ? HARDWARE.mac.filter((m) => m.model.startsWith(macKind)) : HARDWARE[spec.hw]);
    const software = [
      ...SOFTWARE[platform.sw]!,
      ...(os === 'windows' && role === 'ws' ? TENANT_WS_SOFTWARE[t.slug] ?? [] : []),
      ...(os === 'windows' ? model.winSw ?? [] : []),
      ...spec.sw,
    ];
    const roll = r.next();
    return {
      id: id(), tenantId, groupId: groups.get(spec.group)!, spec, os, role, online,
      osVersion: r.pick(platform.versions),
      compliance: roll < 0.15 ? 'non_compliant' : !online && roll > 0.6 ? 'unknown' : 'compliant',
      seenAgo: online ? r.int(5, 240) * 1000 : Math.round(2 * HOUR + r.next() ** 2 * 9 * DAY),
      enrolledAgo: r.int(21, t.createdDaysAgo - 7) * DAY + r.int(0, DAY),
      ip, hw: buildHardware(model, os, ip, spec.hw === 'laptop' || spec.hw === 'mac', r), software: buildSoftware(software, r),
    };
  });
  // Every tenant shows at least one non-compliant device and one the agent cannot vouch for.
  if (!devices.some((d) => d.compliance === 'non_compliant')) r.pick(devices.filter((d) => d.online)).compliance = 'non_compliant';
  if (!devices.some((d) => d.compliance === 'unknown')) r.pick(devices.filter((d) => !d.online)).compliance = 'unknown';
  return devices;
}

interface AlertRow {
  id: string; tenantId: string; deviceId: string; sev: AlertSeverity; status: 'active' | 'acknowledged' | 'resolved';
  title: string; message: string; triggeredAgo: number; ackAgo: number | null; resolvedAgo: number | null; note: string | null;
}

function matches(tpl: AlertTemplate, d: Device): boolean {
  return (!tpl.os || tpl.os.includes(d.os)) && (!tpl.role || tpl.role === d.role)
    && (!tpl.tag || d.spec.tags.includes(tpl.tag)) && (!tpl.online || d.online);
}

function planAlerts(t: TenantSpec, devices: Device[], r: SeedRng, id: () => string): AlertRow[] {
  const used = new Set<string>();
  const chosen: { tpl: AlertTemplate; dev: Device }[] = [];
  const choose = (pool: AlertTemplate[]): boolean => {
    for (const tpl of r.shuffle(pool)) {
      if (chosen.filter((c) => c.tpl === tpl).length >= 2) continue; // no title more than twice per tenant
      const dev = r.shuffle(devices.filter((d) => matches(tpl, d) && !used.has(`${tpl.title}|${d.id}`)))[0];
      if (!dev) continue;
      used.add(`${tpl.title}|${dev.id}`);
      chosen.push({ tpl, dev });
      return true;
    }
    return false;
  };
  for (const sev of SEVERITIES) {
    if (!choose(ALERT_TEMPLATES.filter((a) => a.sev === sev))) throw new Error(`no ${sev} alert fits tenant ${t.slug}`);
  }
  while (chosen.length < t.alerts && choose(ALERT_TEMPLATES));
  const acked = Math.round(t.alerts * 0.2);
  const resolved = Math.round(t.alerts * 0.15);
  const statuses = r.shuffle(chosen.map((_, i) => (i < acked ? 'acknowledged' : i < acked + resolved ? 'resolved' : 'active') as AlertRow['status']));
  return chosen.map(({ tpl, dev }, i) => {
    const status = statuses[i]!;
    const n = r.int(tpl.n[0], tpl.n[1]);
    const triggeredAgo = dev.seenAgo + (tpl.sev === 'info' ? r.int(10, 600) * MIN : r.int(10, 4 * 24 * 60) * MIN);
    const ackAgo = status === 'active' ? null : Math.round(triggeredAgo * (0.3 + 0.6 * r.next()));
    const resolvedAgo = status === 'resolved' ? Math.round(ackAgo! * r.next() * 0.8) : null;
    const disk = dev.hw.disks[0];
    if (tpl.disk && disk && status !== 'resolved') disk.freeGb = Math.max(1, Math.round((disk.sizeGb * (tpl.disk === 'free' ? n : 100 - n)) / 100));
    return {
      id: id(), tenantId: dev.tenantId, deviceId: dev.id, sev: tpl.sev, status, title: tpl.title,
      message: tpl.msg.replaceAll('{host}', dev.spec.host).replaceAll('{n}', String(n)).replaceAll('{domain}', t.domain),
      triggeredAgo, ackAgo, resolvedAgo, note: status === 'resolved' ? tpl.fix : null,
    };
  });
}

export async function seedDemoFleet(store: Store, opts: SeedOptions = {}): Promise<SeedCounts> {
  const seed = opts.seed ?? 20241118;
  const nowMs = (opts.now ?? new Date()).getTime();
  const at = (ago: number) => new Date(nowMs - ago).toISOString();
  const r = makeRng(seed);
  const idRng = mulberry32(seed ^ 0x5eed5eed);
  const id = () => uuidFrom(idRng);

  // Plan everything in memory first (alerts adjust hardware), then write in one transaction.
  const tenants = TENANTS.map((t) => {
    const tenantId = id();
    const groups = new Map([...new Set(t.devices.map((d) => d.group))].map((g) => [g, id()] as const));
    const devices = buildDevices(t, tenantId, groups, r, id);
    return { t, tenantId, groups, devices, alerts: planAlerts(t, devices, r, id), windowId: id(), incidentIds: t.incidents.map(() => id()) };
  });
  const patches = PATCHES.map((p) => ({ ...p, id: id() }));
  const scripts = SCRIPTS.map((s) => ({ ...s, id: id(), sha256: createHash('sha256').update(s.body).digest('hex') }));

  const q = {
    tenant: 'INSERT INTO tenants (id, slug, name, created_at) VALUES (?, ?, ?, ?)',
    group: 'INSERT INTO device_groups (id, tenant_id, name) VALUES (?, ?, ?)',
    device: `INSERT INTO devices (id, tenant_id, group_id, hostname, os, os_version, status, isolated, compliance,
      last_seen_at, ip_address, hardware_json, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
    software: 'INSERT INTO device_software (device_id, name, version, publisher) VALUES (?, ?, ?, ?)',
    alert: `INSERT INTO alerts (id, tenant_id, device_id, severity, status, title, message, triggered_at,
      acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolution_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    patch: 'INSERT INTO patches (id, external_id, title, os, severity, requires_reboot, released_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    devicePatch: 'INSERT INTO device_patches (device_id, patch_id, state, detected_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    script: 'INSERT INTO scripts (id, tenant_id, name, description, language, body, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    window: `INSERT INTO maintenance_windows (id, tenant_id, name, days, start_minute, duration_minutes)
      VALUES (?, ?, ?, ?, ?, ?)`,
    incident: 'INSERT INTO incidents (id, tenant_id, title, severity, status, opened_at) VALUES (?, ?, ?, ?, ?, ?)',
  };

  let alertCount = 0;
  let deviceCount = 0;
  await store.write(async (tx) => {
    const run = (text: string, ...params: unknown[]) => tx.sql.run(text, params);
    const existing = await tx.sql.get<{ n: number }>(`SELECT count(*) AS n FROM tenants WHERE slug IN (${placeholders(TENANTS.length)})`, TENANTS.map((t) => t.slug));
    if (existing!.n > 0) throw new Error('the demo fleet is already present in this database');
    for (const p of patches) await run(q.patch, p.id, p.ext, p.title, p.os, p.sev, p.reboot ? 1 : 0, at(p.daysAgo * DAY));
    for (const { t, tenantId, groups, devices, alerts, windowId, incidentIds } of tenants) {
      await run(q.tenant, tenantId, t.slug, t.name, at(t.createdDaysAgo * DAY));
      for (const [name, groupId] of groups) await run(q.group, groupId, tenantId, name);
      for (const d of devices) {
        await run(q.device, d.id, tenantId, d.groupId, d.spec.host, d.os, d.osVersion, d.online ? 'online' : 'offline', d.compliance,
          at(d.seenAgo), d.ip, JSON.stringify(d.hw), at(d.enrolledAgo));
        for (const [name, version, publisher] of d.software) await run(q.software, d.id, name, version, publisher);
        for (const p of patches) {
          if (p.os !== d.os || !p.applies.test(d.osVersion)) continue;
          const installed = p.current
            ? p.current.test(d.osVersion)
            : r.chance(Math.min(0.85, p.daysAgo / 150) * (d.online ? 1 : 0.6));
          // Detected after release and enrolment, but no later than the device's last check-in.
          const detectedAgo = Math.max(Math.min(p.daysAgo * DAY - r.int(2, 20) * HOUR, d.enrolledAgo), d.seenAgo);
          const updatedAgo = installed ? Math.round(d.seenAgo + (detectedAgo - d.seenAgo) * (0.1 + 0.8 * r.next())) : detectedAgo;
          await run(q.devicePatch, d.id, p.id, installed ? 'installed' : 'missing', at(detectedAgo), at(updatedAgo));
        }
        deviceCount++;
      }
      for (const a of alerts) {
        await run(q.alert, a.id, a.tenantId, a.deviceId, a.sev, a.status, a.title, a.message, at(a.triggeredAgo),
          a.ackAgo === null ? null : at(a.ackAgo), a.ackAgo === null ? null : 'technician',
          a.resolvedAgo === null ? null : at(a.resolvedAgo), a.resolvedAgo === null ? null : 'technician', a.note);
        alertCount++;
      }
      await run(q.window, windowId, tenantId, t.window.name, JSON.stringify(t.window.days), t.window.startMinute, t.window.durationMinutes);
      for (const [i, inc] of t.incidents.entries()) await run(q.incident, incidentIds[i]!, tenantId, inc.title, inc.severity, inc.status, at(inc.hoursAgo * HOUR));
    }
    const tenantIds = new Map(tenants.map((x) => [x.t.slug, x.tenantId]));
    for (const s of scripts) {
      await run(q.script, s.id, s.tenant ? tenantIds.get(s.tenant)! : null, s.name, s.description, s.language, s.body, s.sha256, at(r.int(30, 300) * DAY));
    }
  });
  return { tenants: tenants.length, devices: deviceCount, alerts: alertCount, patches: patches.length, scripts: scripts.length };
}
