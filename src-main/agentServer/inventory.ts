// What an agent reports about its machine, stored where the fleet tools read it: devices, device_software, patches.
import { createHash } from 'node:crypto';
import type { Store, Tx } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
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
export async function noteHostnameConflict(tx: Tx, deviceId: string, detail: Record<string, unknown> = {}): Promise<boolean> {
  const others = (await tx.sql.all<{ id: string }>(`SELECT o.id FROM devices d JOIN devices o ON o.tenant_id = d.tenant_id AND lower(o.hostname) = lower(d.hostname) AND o.id != d.id
    WHERE d.id = ? LIMIT 10`, [deviceId])).map((r) => r.id);
  if (!others.length) return false;
  const d = (await tx.sql.get<{ hostname: string; slug: string }>('SELECT d.hostname, t.slug FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.id = ?', [deviceId]))!;
  await tx.audit({ event: 'session', decision: 'info', code: 'HOSTNAME_CONFLICT', rule: 'agent_inventory', tenant: d.slug,
    outcome: `device ${deviceId} reports hostname ${d.hostname}, which ${others.length === 1 ? 'another device' : `${others.length} other devices`} of the tenant also has`,
    detail: { deviceId, hostname: d.hostname, sameHostname: others, ...detail } });
  return true;
}

export async function storeInventory(store: Store, deviceId: string, inv: { facts: Facts; hardware: Hardware; software: Software; patches: PatchReport | null }): Promise<void> {
  const now = new Date().toISOString();
  await store.write(async (tx) => {
    const sql = tx.sql;
    const before = (await sql.get<{ hostname: string }>('SELECT hostname FROM devices WHERE id = ?', [deviceId]))?.hostname;
    await sql.run(`UPDATE devices SET hostname = ?, os = ?, os_version = ?, ip_address = ?, hardware_json = ?, last_seen_at = ? WHERE id = ?`,
      [inv.facts.hostname, inv.facts.os, inv.facts.osVersion, inv.facts.ip, JSON.stringify(inv.hardware), now, deviceId]);
    if (before?.toLowerCase() !== inv.facts.hostname.toLowerCase()) await noteHostnameConflict(tx, deviceId, { previousHostname: before ?? null });
    await sql.run('DELETE FROM device_software WHERE device_id = ?', [deviceId]);
    for (const s of inv.software) {
      await sql.run(`INSERT INTO device_software (device_id, name, version, publisher) VALUES (?, ?, ?, ?)
        ON CONFLICT (device_id, name) DO UPDATE SET version = excluded.version, publisher = excluded.publisher`, [deviceId, s.name, s.version, s.publisher]);
    }
    if (inv.patches) await storePatches(sql, deviceId, inv.facts.os, inv.patches, now);
  });
}

/**
 * Each scanned package manager's list is the truth for its patches: reported ones are missing, earlier ones of that manager
 * no longer reported are installed. Patches of a manager that was not scanned this time (absent, or its scan failed) stay as they were.
 */
async function storePatches(sql: Sql, deviceId: string, os: string, report: PatchReport, now: string): Promise<void> {
  const seen = new Set<string>();
  const tenantId = (await sql.get<{ tenant_id: string }>('SELECT tenant_id FROM devices WHERE id = ?', [deviceId]))!.tenant_id;
  for (const u of report.updates) {
    const id = patchIdFor(tenantId, os, u);
    seen.add(id);
    await sql.run(`INSERT INTO patches (id, external_id, title, os, severity, requires_reboot, released_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO NOTHING`, [id, u.externalId, u.title, os, u.severity, u.requiresReboot ? 1 : 0, report.scannedAt]);
    // The same patch this device reported before under another label (the vendor reclassified it): its row moves over,
    // keeping its state, rather than being taken for installed.
    const relabelled = await sql.all<{ patch_id: string }>(`SELECT dp.patch_id FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
      WHERE dp.device_id = ? AND p.external_id = ? AND p.os = ? AND dp.patch_id LIKE 'apt-%' AND dp.patch_id != ?`, [deviceId, u.externalId, os, id]);
    for (const { patch_id: old } of relabelled) {
      const taken = await sql.get('SELECT 1 AS x FROM device_patches WHERE device_id = ? AND patch_id = ?', [deviceId, id]);
      if (taken) await sql.run('DELETE FROM device_patches WHERE device_id = ? AND patch_id = ?', [deviceId, old]);
      else await sql.run('UPDATE device_patches SET patch_id = ? WHERE device_id = ? AND patch_id = ?', [id, deviceId, old]);
    }
    await sql.run(`INSERT INTO device_patches (device_id, patch_id, state, detected_at, updated_at) VALUES (?, ?, 'missing', ?, ?)
      ON CONFLICT(device_id, patch_id) DO UPDATE SET state = CASE WHEN device_patches.state = 'installed' THEN 'missing' ELSE device_patches.state END,
        updated_at = CASE WHEN device_patches.state = 'installed' THEN excluded.updated_at ELSE device_patches.updated_at END`, [deviceId, id, now, now]);
  }
  const scanned = new Set(report.managers ?? [report.manager]);
  const facts = os as Facts['os'];
  const open = await sql.all<{ patch_id: string; external_id: string }>(`SELECT dp.patch_id, p.external_id FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
    WHERE dp.device_id = ? AND dp.patch_id LIKE 'apt-%' AND dp.state IN ('missing','failed','scheduled')`, [deviceId]);
  for (const p of open) {
    if (!seen.has(p.patch_id) && scanned.has(managerFor(facts, p.external_id))) {
      await sql.run(`UPDATE device_patches SET state = 'installed', updated_at = ? WHERE device_id = ? AND patch_id = ?`, [now, deviceId, p.patch_id]);
    }
  }
  const serious = (await sql.get<{ n: number }>(`SELECT count(*) AS n FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
    WHERE dp.device_id = ? AND dp.state IN ('missing','failed') AND p.severity IN ('critical','important')`, [deviceId]))!.n;
  await sql.run('UPDATE devices SET compliance = ? WHERE id = ?', [serious > 0 ? 'non_compliant' : 'compliant', deviceId]);
}
