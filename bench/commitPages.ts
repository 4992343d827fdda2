// What one group commit writes: WAL frames (pages) a commit and CPU a call, for governed whoami calls in batches of n
// calls from k keys, in-process through the gate. The pages a commit writes are most of the durable append's cost: an
// index whose leaves a batch's calls scatter over (as audit_by_key did, one leaf a key) shows here first.
// Also `node bench/commitPages.ts` alone.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import { listTenants, type ApiKey } from '../src-main/auth/keys.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { DB_FILE } from '../src-main/store/db.ts';

type Say = (line?: string) => void;
const SHAPES: [calls: number, keys: number][] = [[1, 1], [4, 1], [4, 4], [8, 1], [8, 8]];

export async function commitPages(say: Say, batches = 2_000): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-commit-')), 'data');
  const { store } = await initDataDir(dir);
  await seedDemoFleet(store);
  await store.close();
  const app = await openApp(dir, { log: () => {} });
  // A second connection reads the WAL's length: the app's own auto-checkpoint is off, so nothing resets it mid-run.
  const side = new Database(join(dir, DB_FILE));
  const frames = () => (side.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
  try {
    await app.store.sql.run('PRAGMA wal_autocheckpoint = 0');
    const tenants = (await listTenants(app.store.sql)).map((t) => t.slug);
    const keys: ApiKey[] = [];
    for (let i = 0; i < 8; i++) keys.push((await app.keys.create({ name: `commit-${i}`, scopes: ['ai:read'], tenants, readPerMinute: 10_000_000, writePerMinute: 10_000_000 })).key);
    const batch = (n: number, k: number, w: number) => Promise.all(Array.from({ length: n }, (_, j) => app.gate.call('whoami', {}, { key: keys[(w * n + j) % k]! })));
    say('## What a commit writes');
    say();
    say(`Governed \`whoami\` in-process through the gate, ${batches.toLocaleString('en')} group commits per row after 200 of warm-up: each batch is n calls queued in one turn of the event loop (one transaction), from k keys in turn. Frames are the write-ahead log's pages (4 KiB each) that the commits appended, read from a second connection with auto-checkpoint off; CPU is this process's (user + system) per call. \`node bench/commitPages.ts\`.`);
    say();
    say('| calls a batch | keys a batch | WAL frames a commit | CPU µs a call |');
    say('|--:|--:|--:|--:|');
    const row = async (n: number, k: number, label = '') => {
      for (let w = 0; w < 200; w++) await batch(n, k, w);
      side.pragma('wal_checkpoint(TRUNCATE)');
      const b0 = app.store.commits.batches;
      const f0 = frames();
      const c0 = process.cpuUsage();
      for (let w = 0; w < batches; w++) await batch(n, k, w);
      const c = process.cpuUsage(c0);
      const commits = app.store.commits.batches - b0;
      say(`| ${n}${label} | ${k} | ${((frames() - f0) / commits).toFixed(1)} | ${((c.user + c.system) / (batches * n)).toFixed(1)} |`);
    };
    // Warm: the first rows would otherwise carry the JIT's work.
    for (let w = 0; w < 1_000; w++) await batch(8, 8, w);
    for (const [n, k] of SHAPES) await row(n, k);
    // The baseline in the same run: the index on (key_id, seq) that migration 20 dropped, put back for one row.
    await app.store.sql.run('CREATE INDEX audit_by_key ON audit_log(key_id, seq)');
    await row(8, 8, ', with the index on (key_id, seq) migration 20 dropped');
    await app.store.sql.run('DROP INDEX audit_by_key');
    say();
  } finally {
    side.close();
    await app.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

if (import.meta.main) await commitPages((l = '') => console.log(l));
