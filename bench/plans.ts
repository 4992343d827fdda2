// Statements planned once (src-main/store/stablePlans.ts): some of the gate's and the console's reads, run as written on
// a plain better-sqlite3 connection and through the product's connection (parameters hidden from the planner), in
// turns, on one demo install. Each run binds another row's id, as the gate does. Also `node bench/plans.ts` alone.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir } from '../src-main/app.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { DB_FILE, openDatabase } from '../src-main/store/db.ts';
import { fmt, median } from './procs.ts';

type Say = (line?: string) => void;

/** [what it is, the product's SQL text, its parameters for the i-th run]. */
type Case = [string, string, (i: number) => unknown[]];

export async function planStability(say: Say, runs = 20_000, rounds = 5): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-plans-')), 'data');
  const { store } = await initDataDir(dir);
  await seedDemoFleet(store);
  await store.close();
  const product = openDatabase(join(dir, DB_FILE));
  const plain = new Database(join(dir, DB_FILE), { fileMustExist: true });
  try {
    const devices = plain.prepare('SELECT id, tenant_id FROM devices ORDER BY id').all() as { id: string; tenant_id: string }[];
    const keys = plain.prepare('SELECT id FROM api_keys ORDER BY id').pluck().all() as string[];
    const tenants = plain.prepare('SELECT id FROM tenants ORDER BY id').pluck().all() as string[];
    const at = (xs: readonly string[], i: number) => xs[i % xs.length]!;
    const cases: Case[] = [
      ['a device with its group (get_device_details)', 'SELECT d.*, g.name AS group_name FROM devices d LEFT JOIN device_groups g ON g.id = d.group_id WHERE d.id = ? AND d.tenant_id IN (?, ?)',
        (i) => { const d = devices[i % devices.length]!; return [d.id, d.tenant_id, at(tenants, i)]; }],
      ['a key\'s tenants (key resolution)', 'SELECT t.id, t.slug, t.name FROM api_key_tenants k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_id = ? ORDER BY t.slug',
        (i) => [at(keys, i)]],
      ['an approval by id (cards, decisions)', 'SELECT a.*, t.slug AS tenant_slug, k.name AS key_name FROM approvals a JOIN tenants t ON t.id = a.tenant_id LEFT JOIN api_keys k ON k.id = a.key_id WHERE a.id = ?',
        (i) => [`no-such-approval-${i}`]],
      ['devices touched without approval (the bulk window)', 'SELECT DISTINCT c.device_id FROM device_commands c JOIN executions e ON e.id = c.execution_id WHERE e.key_id = ? AND e.tenant_id = ? AND e.approval_id IS NULL AND e.created_at >= ?',
        (i) => [at(keys, i), at(tenants, i), new Date(Date.UTC(2026, 0, 1, 0, 0, i % 3600)).toISOString()]],
      ['a device row alone (no join: never re-planned)', 'SELECT * FROM devices WHERE id = ?', (i) => [devices[i % devices.length]!.id]],
    ];
    say('## Statements planned once');
    say();
    say(`Some of the gate's reads on a demo install, ${runs.toLocaleString('en')} runs each, each run with another row's id: as written, on a plain connection, and through the product's connection, where their parameters are hidden from the planner (\`store/stablePlans.ts\`): binding a new value to a parameter the planner looked at (better-sqlite3 binds anew at every run) makes the run parse and plan the statement again. Median of ${rounds} rounds in turns, µs a run (range). \`node bench/plans.ts\`.`);
    say();
    say('| statement | as written | planned once | as written / planned once |');
    say('|---|--:|--:|--:|');
    for (const [label, sql, args] of cases) {
      const ways = [plain.prepare(sql), product.prepare(sql)];
      const us: number[][] = [[], []];
      for (let r = 0; r < rounds; r++) {
        for (const w of r % 2 ? [1, 0] : [0, 1]) {
          const s = ways[w]!;
          for (let i = 0; i < 500; i++) s.all(...args(i));
          const t0 = performance.now();
          for (let i = 0; i < runs; i++) s.all(...args(i));
          us[w]!.push(((performance.now() - t0) * 1000) / runs);
        }
      }
      const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
      say(`| ${label} | ${fmt(median(us[0]!))} (${range(us[0]!)}) | ${fmt(median(us[1]!))} (${range(us[1]!)}) | ${fmt(median(us[0]!) / median(us[1]!), 2)} |`);
    }
    say();
  } finally {
    plain.close();
    product.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

if (import.meta.main) await planStability((l = '') => console.log(l), Number(process.argv[2] ?? 20_000));
