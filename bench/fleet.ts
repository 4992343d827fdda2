// Synthetic fleet growth for scale figures: N extra devices spread over the demo tenants, in one transaction.
import { randomUUID } from 'node:crypto';
import type { Db } from '../src-main/store/db.ts';

const OS = ['windows', 'macos', 'linux'] as const;

export function growFleet(db: Db, devices: number): void {
  const tenants = db.prepare('SELECT id FROM tenants ORDER BY slug').all() as { id: string }[];
  const groups = db.prepare('SELECT id, tenant_id FROM device_groups').all() as { id: string; tenant_id: string }[];
  const insert = db.prepare(`INSERT INTO devices (id, tenant_id, group_id, hostname, os, os_version, status, isolated, compliance, last_seen_at, ip_address, hardware_json, enrolled_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`);
  const now = new Date().toISOString();
  const hw = JSON.stringify({ manufacturer: 'Dell Inc.', model: 'OptiPlex 7010', cpu: { model: 'Intel Core i5-13500', cores: 14 }, memoryGb: 16, disks: [{ mount: 'C:', sizeGb: 512, freeGb: 210 }] });
  db.transaction(() => {
    for (let i = 0; i < devices; i++) {
      const t = tenants[i % tenants.length]!;
      const g = groups.filter((x) => x.tenant_id === t.id)[i % 4];
      insert.run(randomUUID(), t.id, g?.id ?? null, `SYN-${String(i).padStart(6, '0')}`, OS[i % 3], '1.0', i % 4 === 0 ? 'offline' : 'online',
        i % 7 === 0 ? 'non_compliant' : 'compliant', now, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, hw, now);
    }
  })();
}
