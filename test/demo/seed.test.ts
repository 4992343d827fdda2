import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { openDatabase, type Db } from '../../src-main/store/db.ts';
import { seedDemoFleet, type SeedCounts } from '../../src-main/demo/seed.ts';
import { storeOver } from '../helpers/store.ts';

const NOW = new Date('2024-11-18T09:30:00.000Z');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-'));
const opened: Db[] = [];

async function seeded(name: string, seed = 7): Promise<{ db: Db; counts: SeedCounts }> {
  const db = openDatabase(path.join(dir, name), { create: true });
  opened.push(db);
  return { db, counts: await seedDemoFleet(storeOver(db), { seed, now: NOW }) };
}

afterAll(() => {
  for (const db of opened) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let db: Db;
let counts: SeedCounts;
beforeAll(async () => {
  ({ db, counts } = await seeded('countersign.db'));
});
const all = <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[];
const one = <T>(sql: string, ...params: unknown[]) => db.prepare(sql).get(...params) as T;
const count = (sql: string, ...params: unknown[]) => one<{ n: number }>(sql, ...params).n;

describe('seedDemoFleet', () => {
  it('reports what it wrote', async () => {
    expect(counts).toEqual({
      tenants: count('SELECT count(*) AS n FROM tenants'),
      devices: count('SELECT count(*) AS n FROM devices'),
      alerts: count('SELECT count(*) AS n FROM alerts'),
      patches: count('SELECT count(*) AS n FROM patches'),
      scripts: count('SELECT count(*) AS n FROM scripts'),
    });
    expect(counts.alerts).toBeGreaterThanOrEqual(35);
    expect(counts.patches).toBeGreaterThanOrEqual(12);
  });

  it('creates the three demo tenants with 12 devices each', async () => {
    const rows = all<{ slug: string; name: string; n: number }>(
      'SELECT t.slug, t.name, count(d.id) AS n FROM tenants t LEFT JOIN devices d ON d.tenant_id = t.id GROUP BY t.id ORDER BY t.slug');
    expect(rows).toEqual([
      { slug: 'acme-dental', name: 'Acme Dental Group', n: 12 },
      { slug: 'globex-logistics', name: 'Globex Logistics', n: 12 },
      { slug: 'northwind-legal', name: 'Northwind Legal LLP', n: 12 },
    ]);
    expect(count('SELECT count(*) AS n FROM devices')).toBeGreaterThanOrEqual(30);
    expect(count('SELECT count(DISTINCT hostname) AS n FROM devices')).toBe(36);
  });

  it('covers all OSes, online and offline, compliance states and private IPs', async () => {
    expect(all<{ os: string }>('SELECT DISTINCT os FROM devices ORDER BY os').map((r) => r.os)).toEqual(['linux', 'macos', 'windows']);
    const online = count("SELECT count(*) AS n FROM devices WHERE status = 'online'");
    const offline = count("SELECT count(*) AS n FROM devices WHERE status = 'offline'");
    expect(online).toBeGreaterThan(0);
    expect(offline).toBeGreaterThan(0);
    expect(online / (online + offline)).toBeGreaterThan(0.6);
    expect(count("SELECT count(*) AS n FROM devices WHERE compliance = 'non_compliant'")).toBeGreaterThan(0);
    expect(count("SELECT count(*) AS n FROM devices WHERE compliance = 'unknown'")).toBeGreaterThan(0);
    expect(count("SELECT count(*) AS n FROM devices WHERE ip_address NOT LIKE '10.%' AND ip_address NOT LIKE '192.168.%'")).toBe(0);
    const newestOffline = one<{ t: string }>("SELECT max(last_seen_at) AS t FROM devices WHERE status = 'offline'").t;
    const oldestOnline = one<{ t: string }>("SELECT min(last_seen_at) AS t FROM devices WHERE status = 'online'").t;
    expect(newestOffline < oldestOnline).toBe(true);
    expect(count('SELECT count(*) AS n FROM devices WHERE group_id IS NULL')).toBe(0);
  });

  it('stores complete hardware inventories', async () => {
    for (const { hardware_json } of all<{ hardware_json: string }>('SELECT hardware_json FROM devices')) {
      const hw = JSON.parse(hardware_json);
      expect(hw).toMatchObject({ manufacturer: expect.any(String), model: expect.any(String), serial: expect.any(String), memoryGb: expect.any(Number) });
      expect(hw.cpu.cores).toBeGreaterThan(0);
      expect(hw.disks.length).toBeGreaterThan(0);
      for (const disk of hw.disks) expect(disk.freeGb).toBeLessThanOrEqual(disk.sizeGb);
      expect(hw.network[0].mac).toMatch(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
    }
    expect(count("SELECT count(*) AS n FROM devices WHERE os = 'macos' AND json_extract(hardware_json, '$.manufacturer') <> 'Apple Inc.'")).toBe(0);
  });

  it('installs 8-20 OS-appropriate packages on every device', async () => {
    const perDevice = all<{ n: number }>('SELECT count(s.name) AS n FROM devices d LEFT JOIN device_software s ON s.device_id = d.id GROUP BY d.id');
    expect(perDevice).toHaveLength(36);
    for (const { n } of perDevice) {
      expect(n).toBeGreaterThanOrEqual(8);
      expect(n).toBeLessThanOrEqual(20);
    }
    expect(count("SELECT count(*) AS n FROM device_software s JOIN devices d ON d.id = s.device_id WHERE d.os = 'linux' AND s.name = 'openssh-server'"))
      .toBe(count("SELECT count(*) AS n FROM devices WHERE os = 'linux'"));
    expect(count("SELECT count(*) AS n FROM device_software s JOIN devices d ON d.id = s.device_id JOIN tenants t ON t.id = d.tenant_id WHERE s.name = 'Dentrix' AND t.slug <> 'acme-dental'")).toBe(0);
    expect(count("SELECT count(*) AS n FROM device_software WHERE name = 'Dentrix'")).toBeGreaterThan(0);
    expect(count("SELECT count(*) AS n FROM device_software s JOIN devices d ON d.id = s.device_id WHERE d.os <> 'windows' AND s.name LIKE '7-Zip%'")).toBe(0);
  });

  it('has every alert severity in every tenant, on devices of that tenant', async () => {
    const rows = all<{ slug: string; n: number }>(
      'SELECT t.slug, count(DISTINCT a.severity) AS n FROM tenants t JOIN alerts a ON a.tenant_id = t.id GROUP BY t.id');
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r.n, r.slug).toBe(5);
    expect(count('SELECT count(*) AS n FROM alerts a JOIN devices d ON d.id = a.device_id WHERE d.tenant_id <> a.tenant_id')).toBe(0);
    const byStatus = Object.fromEntries(all<{ status: string; n: number }>('SELECT status, count(*) AS n FROM alerts GROUP BY status').map((r) => [r.status, r.n]));
    expect(byStatus.active).toBeGreaterThan((byStatus.acknowledged ?? 0) + (byStatus.resolved ?? 0));
    expect(byStatus.acknowledged).toBeGreaterThan(0);
    expect(byStatus.resolved).toBeGreaterThan(0);
    expect(count(`SELECT count(*) AS n FROM alerts WHERE status = 'resolved'
      AND (resolved_at IS NULL OR resolved_by <> 'technician' OR resolution_note IS NULL OR resolved_at < triggered_at)`)).toBe(0);
    expect(count("SELECT count(*) AS n FROM alerts WHERE status = 'active' AND (resolved_at IS NOT NULL OR acknowledged_at IS NOT NULL)")).toBe(0);
    expect(count("SELECT count(*) AS n FROM alerts WHERE triggered_at > ?", NOW.toISOString())).toBe(0);
    expect(count("SELECT count(*) AS n FROM alerts WHERE message LIKE '%{%'")).toBe(0);
  });

  it('links only OS-matching patches, mostly missing, across severities', async () => {
    expect(count('SELECT count(*) AS n FROM device_patches dp JOIN devices d ON d.id = dp.device_id JOIN patches p ON p.id = dp.patch_id WHERE p.os <> d.os')).toBe(0);
    const missing = count("SELECT count(*) AS n FROM device_patches WHERE state = 'missing'");
    const installed = count("SELECT count(*) AS n FROM device_patches WHERE state = 'installed'");
    expect(installed).toBeGreaterThan(0);
    expect(missing).toBeGreaterThan(installed);
    expect(count("SELECT count(DISTINCT p.severity) AS n FROM device_patches dp JOIN patches p ON p.id = dp.patch_id WHERE dp.state = 'missing'")).toBeGreaterThanOrEqual(2);
    expect(all<{ os: string }>('SELECT DISTINCT os FROM patches ORDER BY os').map((r) => r.os)).toEqual(['linux', 'macos', 'windows']);
    expect(count('SELECT count(*) AS n FROM device_patches WHERE updated_at < detected_at')).toBe(0);
  });

  it('ships a script library in all three languages with correct hashes', async () => {
    const scripts = all<{ tenant_id: string | null; language: string; body: string; sha256: string }>('SELECT tenant_id, language, body, sha256 FROM scripts');
    expect(scripts.length).toBeGreaterThanOrEqual(8);
    expect([...new Set(scripts.map((s) => s.language))].sort()).toEqual(['bash', 'powershell', 'python']);
    for (const s of scripts) expect(s.sha256).toBe(createHash('sha256').update(s.body).digest('hex'));
    const shared = scripts.filter((s) => s.tenant_id === null).length;
    expect(shared).toBeGreaterThan(scripts.length / 2);
    expect(shared).toBeLessThan(scripts.length);
  });

  it('gives each tenant one maintenance window and two incidents', async () => {
    const windows = all<{ slug: string; days: string; start_minute: number; duration_minutes: number }>(
      'SELECT t.slug, w.days, w.start_minute, w.duration_minutes FROM maintenance_windows w JOIN tenants t ON t.id = w.tenant_id ORDER BY t.slug');
    expect(windows.map((w) => [w.slug, JSON.parse(w.days), w.start_minute, w.duration_minutes])).toEqual([
      ['acme-dental', [6, 0], 120, 240],
      ['globex-logistics', [0], 240, 120],
      ['northwind-legal', [3], 1320, 180],
    ]);
    const incidents = all<{ n: number }>('SELECT count(*) AS n FROM incidents GROUP BY tenant_id');
    expect(incidents.map((r) => r.n)).toEqual([2, 2, 2]);
  });

  it('is deterministic for the same seed and time, and varies with the seed', async () => {
    const snapshot = (d: Db) => d.prepare('SELECT id, hostname, status, compliance, hardware_json FROM devices ORDER BY id').all();
    const a = await seeded('a.db');
    const b = await seeded('b.db');
    expect(snapshot(a.db)).toEqual(snapshot(b.db));
    expect(a.db.prepare('SELECT id, message FROM alerts ORDER BY id').all()).toEqual(b.db.prepare('SELECT id, message FROM alerts ORDER BY id').all());
    const c = await seeded('c.db', 8);
    expect(snapshot(c.db)).not.toEqual(snapshot(a.db));
    for (const { id } of all<{ id: string }>('SELECT id FROM devices')) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('refuses to seed twice', async () => {
    await expect(seedDemoFleet(storeOver(db), { seed: 7, now: NOW })).rejects.toThrow(/already present/);
    expect(count('SELECT count(*) AS n FROM tenants')).toBe(3);
  });
});
