// What an agent reports about its machine, stored where the fleet tools read it: devices, device_software, patches.
import { createHash } from 'node:crypto';
import type { Db } from '../store/db.ts';
import { auditLogFor } from '../audit/log.ts';
import { writeTx } from '../store/tx.ts';
import type { Facts, Hardware, PatchReport, Software } from '../agent/protocol.ts';
import { managerFor } from '../agent/patchManagers.ts';

/**
 * Every agent-reported patch (any package manager) has an `apt-` id: the prefix predates the other managers and marks agent
 * findings. The id is the hash of the tenant and of everything the agent reported about the patch (title, severity, reboot):
 * a catalogue entry is never changed by a later report, so what one device's agent says cannot relabel the patch another
 * device of the tenant reported. Devices that report the same patch the same way share the entry.
 */
export const patchIdFor = (tenantId: string, os: string, u: { externalId: string; title: string; severity: string; requiresReboot: boolean }) =>
  `apt-${createHash('sha256').update(JSON.stringify([tenantId, os, u.externalId, u.title, u.severity, u.requiresReboot])).digest('hex').slice(0, 24)}`;

/** A device (newly enrolled, or renamed by its agent) now shares its hostname with another device of the tenant: audited. */
export function noteHostnameConflict(db: Db, deviceId: string, detail: Record<string, unknown> = {}): boolean {
  const others = db.prepare(`SELECT o.id FROM devices d JOIN devices o ON o.tenant_id = d.tenant_id AND o.hostname = d.hostname COLLATE NOCASE AND o.id != d.id
    WHERE d.id = ? LIMIT 10`).pluck().all(deviceId) as string[];
  if (!others.length) return false;
  const d = db.prepare('SELECT d.hostname, t.slug FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.id = ?').get(deviceId) as { hostname: string; slug: string };
  auditLogFor(db).append({ event: 'session', decision: 'info', code: 'HOSTNAME_CONFLICT', rule: 'agent_inventory', tenant: d.slug,
    outcome: `device ${deviceId} reports hostname ${d.hostname}, which ${others.length === 1 ? 'another device' : `${others.length} other devices`} of the tenant also has`,
    detail: { deviceId, hostname: d.hostname, sameHostname: others, ...detail } });
  return true;
}

export function storeInventory(db: Db, deviceId: string, inv: { facts: Facts; hardware: Hardware; software: Software; patches: PatchReport | null }): void {
  const now = new Date().toISOString();
  writeTx(db, () => {
    const before = db.prepare('SELECT hostname FROM devices WHERE id = ?').pluck().get(deviceId) as string | undefined;
    db.prepare(`UPDATE devices SET hostname = ?, os = ?, os_version = ?, ip_address = ?, hardware_json = ?, last_seen_at = ? WHERE id = ?`)
      .run(inv.facts.hostname, inv.facts.os, inv.facts.osVersion, inv.facts.ip, JSON.stringify(inv.hardware), now, deviceId);
    if (before?.toLowerCase() !== inv.facts.hostname.toLowerCase()) noteHostnameConflict(db, deviceId, { previousHostname: before ?? null });
    db.prepare('DELETE FROM device_software WHERE device_id = ?').run(deviceId);
    const sw = db.prepare('INSERT OR REPLACE INTO device_software (device_id, name, version, publisher) VALUES (?, ?, ?, ?)');
    for (const s of inv.software) sw.run(deviceId, s.name, s.version, s.publisher);
    if (inv.patches) storePatches(db, deviceId, inv.facts.os, inv.patches, now);
  });
}

/**
 * Each scanned package manager's list is the truth for its patches: reported ones are missing, earlier ones of that manager
 * no longer reported are installed. Patches of a manager that was not scanned this time (absent, or its scan failed) stay as they were.
 */
function storePatches(db: Db, deviceId: string, os: string, report: PatchReport, now: string): void {
  const insertPatch = db.prepare(`INSERT INTO patches (id, external_id, title, os, severity, requires_reboot, released_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(id) DO NOTHING`);
  // The same patch this device reported before under another label (the vendor reclassified it): its row moves over,
  // keeping its state, rather than being taken for installed.
  const relabelled = db.prepare(`SELECT dp.patch_id FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
    WHERE dp.device_id = ? AND p.external_id = ? AND p.os = ? AND dp.patch_id LIKE 'apt-%' AND dp.patch_id != ?`).pluck();
  const moveRow = db.prepare(`UPDATE OR IGNORE device_patches SET patch_id = ? WHERE device_id = ? AND patch_id = ?`);
  const dropRow = db.prepare(`DELETE FROM device_patches WHERE device_id = ? AND patch_id = ?`);
  const upsert = db.prepare(`INSERT INTO device_patches (device_id, patch_id, state, detected_at, updated_at) VALUES (?, ?, 'missing', ?, ?)
    ON CONFLICT(device_id, patch_id) DO UPDATE SET state = CASE WHEN state = 'installed' THEN 'missing' ELSE state END,
      updated_at = CASE WHEN state = 'installed' THEN excluded.updated_at ELSE updated_at END`);
  const seen = new Set<string>();
  const tenantId = (db.prepare('SELECT tenant_id FROM devices WHERE id = ?').get(deviceId) as { tenant_id: string }).tenant_id;
  for (const u of report.updates) {
    const id = patchIdFor(tenantId, os, u);
    seen.add(id);
    insertPatch.run(id, u.externalId, u.title, os, u.severity, u.requiresReboot ? 1 : 0, report.scannedAt);
    for (const old of relabelled.all(deviceId, u.externalId, os, id) as string[]) {
      if (moveRow.run(id, deviceId, old).changes === 0) dropRow.run(deviceId, old);
    }
    upsert.run(deviceId, id, now, now);
  }
  const scanned = new Set(report.managers ?? [report.manager]);
  const facts = os as Facts['os'];
  const open = db.prepare(`SELECT dp.patch_id, p.external_id FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
    WHERE dp.device_id = ? AND dp.patch_id LIKE 'apt-%' AND dp.state IN ('missing','failed','scheduled')`).all(deviceId) as { patch_id: string; external_id: string }[];
  const installed = db.prepare(`UPDATE device_patches SET state = 'installed', updated_at = ? WHERE device_id = ? AND patch_id = ?`);
  for (const p of open) if (!seen.has(p.patch_id) && scanned.has(managerFor(facts, p.external_id))) installed.run(now, deviceId, p.patch_id);
  const serious = (db.prepare(`SELECT count(*) AS n FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
    WHERE dp.device_id = ? AND dp.state IN ('missing','failed') AND p.severity IN ('critical','important')`).get(deviceId) as { n: number }).n;
  db.prepare('UPDATE devices SET compliance = ? WHERE id = ?').run(serious > 0 ? 'non_compliant' : 'compliant', deviceId);
}
