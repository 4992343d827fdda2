// The queries behind each report type: one tenant, read from the live tables, shaped as titled tables every format renders.
import type { Sql } from '../store/sql.ts';
import type { Tenant } from '../auth/keys.ts';

export const REPORT_TYPES = ['compliance', 'security', 'inventory', 'executive'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];
export const REPORT_FORMATS = ['csv', 'html', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export type Cell = string | number | null;
export interface ReportTable {
  heading: string;
  columns: string[];
  rows: Cell[][];
  /** Shown under the table, e.g. when a list was cut to its first entries. */
  note?: string;
}
export interface ReportDoc {
  type: ReportType;
  title: string;
  tenant: Tenant;
  generatedAt: string;
  headline: { label: string; value: string | number }[];
  sections: ReportTable[];
  /** The one table a CSV export holds (one header row, one row per item). */
  primary: ReportTable;
}

const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const PATCH_SEVERITIES = ['critical', 'important', 'moderate', 'low'] as const;
/** Longer lists in HTML/PDF sections are cut to this many rows, with a note saying so. */
const LIST_CAP = 100;

interface Device {
  id: string; hostname: string; os: string; os_version: string; status: string; isolated: number; compliance: string;
  last_seen_at: string; ip_address: string | null; hardware_json: string; group_name: string | null;
}

const pct = (n: number, of: number) => (of === 0 ? '0%' : `${Math.round((n / of) * 1000) / 10}%`);

function capped(heading: string, columns: string[], rows: Cell[][], total: number): ReportTable {
  return { heading, columns, rows, note: total > rows.length ? `Showing the first ${rows.length} of ${total}.` : undefined };
}

/** A one-line hardware summary from the device's hardware JSON: maker/model, CPU, memory, disks; other shapes as key: value pairs. */
export function hardwareSummary(json: string): string {
  let hw: unknown;
  try {
    hw = JSON.parse(json);
  } catch {
    return '';
  }
  if (!hw || typeof hw !== 'object' || Array.isArray(hw)) return '';
  const h = hw as {
    manufacturer?: unknown; model?: unknown; cpu?: { model?: unknown; cores?: unknown }; memoryGb?: unknown;
    disks?: { sizeGb?: unknown; freeGb?: unknown }[];
  };
  const parts: string[] = [];
  const mfr = typeof h.manufacturer === 'string' ? h.manufacturer : '';
  const model = typeof h.model === 'string' ? h.model : '';
  // "HP" + "HP EliteDesk 800" reads as "HP EliteDesk 800", not "HP HP EliteDesk 800".
  const maker = mfr && model.toLowerCase().startsWith(mfr.toLowerCase()) ? model : [mfr, model].filter(Boolean).join(' ');
  if (maker) parts.push(maker);
  if (h.cpu && typeof h.cpu === 'object' && typeof h.cpu.model === 'string') {
    parts.push(typeof h.cpu.cores === 'number' ? `${h.cpu.model} (${h.cpu.cores} cores)` : h.cpu.model);
  }
  if (typeof h.memoryGb === 'number') parts.push(`${h.memoryGb} GB RAM`);
  if (Array.isArray(h.disks) && h.disks.length) {
    const sum = (k: 'sizeGb' | 'freeGb') => h.disks!.reduce((a, d) => a + (typeof d?.[k] === 'number' ? d[k] : 0), 0);
    parts.push(`${h.disks.length} disk(s) ${sum('sizeGb')} GB, ${sum('freeGb')} GB free`);
  }
  if (parts.length) return parts.join('; ');
  return Object.entries(hw).filter(([, v]) => v !== null && typeof v !== 'object').map(([k, v]) => `${k}: ${String(v)}`).join('; ');
}

class Queries {
  readonly sql: Sql;
  readonly tenant: Tenant;
  constructor(sql: Sql, tenant: Tenant) {
    this.sql = sql;
    this.tenant = tenant;
  }
  all<T>(text: string, ...params: unknown[]): Promise<T[]> {
    return this.sql.all<T>(text, [this.tenant.id, ...params]);
  }
  devices(): Promise<Device[]> {
    return this.all<Device>(`SELECT d.*, g.name AS group_name FROM devices d LEFT JOIN device_groups g ON g.id = d.group_id
      WHERE d.tenant_id = ? ORDER BY d.hostname, d.id`);
  }
  /** device id → severity → open alert count */
  async openAlertsByDevice(): Promise<Map<string, Record<string, number>>> {
    const m = new Map<string, Record<string, number>>();
    for (const r of await this.all<{ device_id: string; severity: string; n: number }>(`SELECT device_id, severity, count(*) AS n FROM alerts
        WHERE tenant_id = ? AND status != 'resolved' GROUP BY device_id, severity`)) {
      const e = m.get(r.device_id) ?? {};
      e[r.severity] = r.n;
      m.set(r.device_id, e);
    }
    return m;
  }
  /** device id → patch severity (or 'failed') → count of missing/failed patches */
  async missingPatchesByDevice(): Promise<Map<string, Record<string, number>>> {
    const m = new Map<string, Record<string, number>>();
    for (const r of await this.all<{ device_id: string; severity: string; state: string; n: number }>(`SELECT dp.device_id, p.severity, dp.state, count(*) AS n
        FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id
        WHERE d.tenant_id = ? AND dp.state IN ('missing','failed') GROUP BY dp.device_id, p.severity, dp.state`)) {
      const e = m.get(r.device_id) ?? {};
      e[r.severity] = (e[r.severity] ?? 0) + r.n;
      if (r.state === 'failed') e.failed = (e.failed ?? 0) + r.n;
      m.set(r.device_id, e);
    }
    return m;
  }
  async alertsBySeverity(): Promise<Record<string, { active: number; acknowledged: number }>> {
    const out = Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, { active: 0, acknowledged: 0 }])) as Record<string, { active: number; acknowledged: number }>;
    for (const r of await this.all<{ severity: string; status: 'active' | 'acknowledged'; n: number }>(`SELECT severity, status, count(*) AS n FROM alerts
        WHERE tenant_id = ? AND status != 'resolved' GROUP BY severity, status`)) out[r.severity]![r.status] = r.n;
    return out;
  }
  async patchesBySeverity(): Promise<Record<string, { missing: number; devices: number }>> {
    const out = Object.fromEntries(PATCH_SEVERITIES.map((s) => [s, { missing: 0, devices: 0 }])) as Record<string, { missing: number; devices: number }>;
    for (const r of await this.all<{ severity: string; n: number; devices: number }>(`SELECT p.severity, count(*) AS n, count(DISTINCT dp.device_id) AS devices
        FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id
        WHERE d.tenant_id = ? AND dp.state IN ('missing','failed') GROUP BY p.severity`)) out[r.severity] = { missing: r.n, devices: r.devices };
    return out;
  }
  async topMissingPatches(severity?: string): Promise<{ rows: Cell[][]; total: number }> {
    const filter = severity ? 'AND p.severity = ?' : '';
    const params = severity ? [severity] : [];
    const total = (await this.all<{ n: number }>(`SELECT count(DISTINCT dp.patch_id) AS n FROM device_patches dp JOIN devices d ON d.id = dp.device_id
      JOIN patches p ON p.id = dp.patch_id WHERE d.tenant_id = ? AND dp.state IN ('missing','failed') ${filter}`, ...params))[0]!.n;
    const rows = await this.all<{ external_id: string; title: string; os: string; severity: string; n: number }>(`SELECT p.external_id, p.title, p.os, p.severity,
        count(*) AS n FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id
        WHERE d.tenant_id = ? AND dp.state IN ('missing','failed') ${filter}
        GROUP BY p.id ORDER BY n DESC, p.external_id LIMIT ?`, ...params, LIST_CAP);
    return { rows: rows.map((r) => [r.external_id, r.title, r.os, r.severity, r.n]), total };
  }
}

async function inventory(q: Queries): Promise<Omit<ReportDoc, 'type' | 'title' | 'tenant' | 'generatedAt'>> {
  const devices = await q.devices();
  const sw = new Map((await q.all<{ device_id: string; n: number }>(`SELECT s.device_id, count(*) AS n FROM device_software s JOIN devices d ON d.id = s.device_id
    WHERE d.tenant_id = ? GROUP BY s.device_id`)).map((r) => [r.device_id, r.n]));
  const byOs = await q.all<{ os: string; os_version: string; n: number }>(`SELECT os, os_version, count(*) AS n FROM devices WHERE tenant_id = ?
    GROUP BY os, os_version ORDER BY os, os_version`);
  const swTotal = (await q.all<{ n: number }>(`SELECT count(DISTINCT s.name) AS n FROM device_software s JOIN devices d ON d.id = s.device_id WHERE d.tenant_id = ?`))[0]!.n;
  const topSw = await q.all<{ name: string; n: number }>(`SELECT s.name, count(*) AS n FROM device_software s JOIN devices d ON d.id = s.device_id
    WHERE d.tenant_id = ? GROUP BY s.name ORDER BY n DESC, s.name LIMIT ?`, LIST_CAP);
  const primary: ReportTable = {
    heading: 'Devices',
    columns: ['hostname', 'os', 'os_version', 'status', 'group', 'ip_address', 'hardware', 'software_count', 'last_seen_at'],
    rows: devices.map((d) => [d.hostname, d.os, d.os_version, d.status, d.group_name, d.ip_address, hardwareSummary(d.hardware_json), sw.get(d.id) ?? 0, d.last_seen_at]),
  };
  const online = devices.filter((d) => d.status === 'online').length;
  return {
    headline: [
      { label: 'Devices', value: devices.length },
      { label: 'Online', value: `${online} (${pct(online, devices.length)})` },
      { label: 'Distinct software titles', value: swTotal },
    ],
    sections: [
      { heading: 'Operating systems', columns: ['os', 'version', 'devices'], rows: byOs.map((r) => [r.os, r.os_version, r.n]) },
      primary,
      capped('Most installed software', ['software', 'devices'], topSw.map((r) => [r.name, r.n]), swTotal),
    ],
    primary,
  };
}

async function compliance(q: Queries): Promise<Omit<ReportDoc, 'type' | 'title' | 'tenant' | 'generatedAt'>> {
  const devices = await q.devices();
  const missing = await q.missingPatchesByDevice();
  const posture = { compliant: 0, non_compliant: 0, unknown: 0 } as Record<string, number>;
  for (const d of devices) posture[d.compliance] = (posture[d.compliance] ?? 0) + 1;
  const bySev = await q.patchesBySeverity();
  const top = await q.topMissingPatches();
  const primary: ReportTable = {
    heading: 'Compliance by device',
    columns: ['hostname', 'os', 'compliance', ...PATCH_SEVERITIES.map((s) => `missing_${s}`), 'failed_installs', 'last_seen_at'],
    rows: devices.map((d) => {
      const m = missing.get(d.id) ?? {};
      return [d.hostname, d.os, d.compliance, ...PATCH_SEVERITIES.map((s) => m[s] ?? 0), m.failed ?? 0, d.last_seen_at];
    }),
  };
  return {
    headline: [
      { label: 'Devices', value: devices.length },
      { label: 'Compliant', value: `${posture.compliant} (${pct(posture.compliant!, devices.length)})` },
      { label: 'Non-compliant', value: posture.non_compliant! },
      { label: 'Missing patches', value: Object.values(bySev).reduce((a, b) => a + b.missing, 0) },
    ],
    sections: [
      { heading: 'Compliance posture', columns: ['posture', 'devices', 'share'], rows: Object.entries(posture).map(([k, n]) => [k, n, pct(n, devices.length)]) },
      { heading: 'Missing patches by severity', columns: ['severity', 'missing', 'devices_affected'], rows: PATCH_SEVERITIES.map((s) => [s, bySev[s]!.missing, bySev[s]!.devices]) },
      primary,
      capped('Most missing patches', ['patch', 'title', 'os', 'severity', 'devices'], top.rows, top.total),
    ],
    primary,
  };
}

async function security(q: Queries): Promise<Omit<ReportDoc, 'type' | 'title' | 'tenant' | 'generatedAt'>> {
  const devices = await q.devices();
  const alerts = await q.openAlertsByDevice();
  const missing = await q.missingPatchesByDevice();
  const bySev = await q.alertsBySeverity();
  const severe = await q.all<{ severity: string; title: string; hostname: string; status: string; triggered_at: string }>(`SELECT a.severity, a.title,
      d.hostname, a.status, a.triggered_at FROM alerts a JOIN devices d ON d.id = a.device_id
      WHERE a.tenant_id = ? AND a.status != 'resolved' AND a.severity IN ('critical','high')
      ORDER BY a.severity = 'critical' DESC, a.triggered_at DESC, a.id LIMIT ?`, LIST_CAP);
  const severeTotal = bySev.critical!.active + bySev.critical!.acknowledged + bySev.high!.active + bySev.high!.acknowledged;
  const crit = await q.topMissingPatches('critical');
  const isolated = devices.filter((d) => d.isolated === 1);
  const offline = devices.filter((d) => d.status === 'offline');
  const primary: ReportTable = {
    heading: 'Security by device',
    columns: ['hostname', 'os', 'status', 'isolated', ...ALERT_SEVERITIES.map((s) => `open_${s}`), 'critical_patches_missing'],
    rows: devices.map((d) => {
      const a = alerts.get(d.id) ?? {};
      return [d.hostname, d.os, d.status, d.isolated === 1 ? 'yes' : 'no', ...ALERT_SEVERITIES.map((s) => a[s] ?? 0), missing.get(d.id)?.critical ?? 0];
    }),
  };
  const openTotal = Object.values(bySev).reduce((a, b) => a + b.active + b.acknowledged, 0);
  const deviceList = (ds: Device[]) => ds.map((d): Cell[] => [d.hostname, d.os, d.status, d.last_seen_at]);
  return {
    headline: [
      { label: 'Open alerts', value: openTotal },
      { label: 'Open critical alerts', value: bySev.critical!.active + bySev.critical!.acknowledged },
      { label: 'Isolated devices', value: isolated.length },
      { label: 'Offline devices', value: offline.length },
      { label: 'Devices missing critical patches', value: devices.filter((d) => (missing.get(d.id)?.critical ?? 0) > 0).length },
    ],
    sections: [
      { heading: 'Open alerts by severity', columns: ['severity', 'active', 'acknowledged'], rows: ALERT_SEVERITIES.map((s) => [s, bySev[s]!.active, bySev[s]!.acknowledged]) },
      capped('Open critical and high alerts', ['severity', 'title', 'hostname', 'status', 'triggered_at'],
        severe.map((r) => [r.severity, r.title, r.hostname, r.status, r.triggered_at]), severeTotal),
      { heading: 'Isolated devices', columns: ['hostname', 'os', 'status', 'last_seen_at'], rows: deviceList(isolated) },
      { heading: 'Offline devices', columns: ['hostname', 'os', 'status', 'last_seen_at'], rows: deviceList(offline) },
      capped('Critical patches missing', ['patch', 'title', 'os', 'severity', 'devices'], crit.rows, crit.total),
      primary,
    ],
    primary,
  };
}

async function executive(q: Queries): Promise<Omit<ReportDoc, 'type' | 'title' | 'tenant' | 'generatedAt'>> {
  const inv = await inventory(q);
  const comp = await compliance(q);
  const sec = await security(q);
  const devices = await q.devices();
  const online = devices.filter((d) => d.status === 'online').length;
  const compliant = devices.filter((d) => d.compliance === 'compliant').length;
  const alertSev = await q.alertsBySeverity();
  const patchSev = await q.patchesBySeverity();
  const open = (s: string) => alertSev[s]!.active + alertSev[s]!.acknowledged;
  const figures: [string, string | number][] = [
    ['Managed devices', devices.length],
    ['Online devices', `${online} (${pct(online, devices.length)})`],
    ['Compliant devices', `${compliant} (${pct(compliant, devices.length)})`],
    ['Open alerts', ALERT_SEVERITIES.reduce((a, s) => a + open(s), 0)],
    ['Open critical alerts', open('critical')],
    ['Open high alerts', open('high')],
    ['Missing patches', PATCH_SEVERITIES.reduce((a, s) => a + patchSev[s]!.missing, 0)],
    ['Missing critical patches', patchSev.critical!.missing],
    ['Devices missing critical patches', patchSev.critical!.devices],
    ['Isolated devices', devices.filter((d) => d.isolated === 1).length],
    ['Offline devices', devices.length - online],
  ];
  const primary: ReportTable = { heading: 'Key figures', columns: ['metric', 'value'], rows: figures.map(([k, v]) => [k, String(v)]) };
  return {
    headline: [...inv.headline.slice(0, 2), comp.headline[1]!, sec.headline[1]!],
    sections: [primary, comp.sections[0]!, comp.sections[1]!, sec.sections[0]!, inv.sections[0]!],
    primary,
  };
}

const BUILDERS = { inventory, compliance, security, executive };
const TITLES: Record<ReportType, string> = {
  inventory: 'Inventory report', compliance: 'Compliance report', security: 'Security report', executive: 'Executive summary',
};

export async function collectReport(sql: Sql, tenant: Tenant, type: ReportType, now: Date): Promise<ReportDoc> {
  const body = await BUILDERS[type](new Queries(sql, tenant));
  return { type, title: TITLES[type], tenant, generatedAt: now.toISOString(), ...body };
}

/** "2026-11-20 12:00:00 UTC" */
export const humanTime = (iso: string) => `${iso.replace('T', ' ').slice(0, 19)} UTC`;

const ISO = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?Z$/;
/** Stored ISO times as "2026-11-20 12:00" (UTC) for people; CSV keeps the exact ISO value. */
export const displayTime = (s: string) => s.replace(ISO, '$1 $2');
