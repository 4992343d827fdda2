// Growth: what a call, a search, a verify and a start cost as the fleet and the log grow. Each figure should stay flat
// or grow with the logarithm of the size (a b-tree's depth); anything that grows with the size itself is a scan.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp, type App } from '../src-main/app.ts';
import { writeCheckpoint } from '../src-main/audit/anchor.ts';
import { listTenants, type ApiKey } from '../src-main/auth/keys.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { startIntegrityCheck } from '../src-main/store/integrity.ts';
import { growFleet } from './fleet.ts';
import { CLI, fmt, median, NODE_FLAGS, startNode } from './procs.ts';
import { COMPILED_CLI } from './startup.ts';

type Say = (line?: string) => void;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

export async function fleetDir(devices: number): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-growth-')), 'data');
  const { db, store } = await initDataDir(dir);
  await seedDemoFleet(store);
  if (devices) growFleet(db, devices);
  await store.close();
  return dir;
}

const benchKey = async (app: App): Promise<ApiKey> =>
  (await app.keys.create({ name: 'growth', scopes: ['ai:read', 'ai:write'], tenants: (await listTenants(app.store.sql)).map((t) => t.slug), readPerMinute: 10_000_000, writePerMinute: 10_000_000 })).key;

/** Server CPU per governed whoami (gate, budgets, a durable audit entry committed alone), in-process, µs. */
async function whoamiCpu(app: App, key: ApiKey, calls: number): Promise<number> {
  for (let i = 0; i < 300; i++) await app.gate.call('whoami', {}, { key });
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await app.gate.call('whoami', {}, { key });
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls;
}

/** list_devices through the gate: p50 and p95 in ms over `n` calls of `args(i)`. */
async function listLatency(app: App, key: ApiKey, n: number, args: (i: number) => Record<string, unknown>): Promise<[number, number]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await app.gate.call('list_devices', { ...args(i), limit: 25 }, { key });
    lat.push(performance.now() - t0);
    if (r.kind !== 'ok') throw new Error(`list_devices: ${JSON.stringify(r).slice(0, 300)}`);
  }
  return [percentile(lat, 0.5), percentile(lat, 0.95)];
}

/** The install's audit log filled to `target` entries, each chained and hashed as the gate would, in transactions of 50k. */
export async function fillLog(dir: string, target: number): Promise<void> {
  const app = await openApp(dir, { log: () => {} });
  try {
    let have = await app.store.audit.count();
    while (have < target) {
      const end = Math.min(target, have + 50_000);
      await app.store.write(async (tx) => {
        for (; have < end; have++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: 'list_devices', keyId: 'bench', tier: 1, args: { page: have } });
      });
    }
    // A running server signs a checkpoint every N entries; the fill is one, as the server would have left.
    await writeCheckpoint(app.store, { dataDir: dir, ...app.secrets });
  } finally {
    await app.close();
  }
}

/**
 * `countersign serve` from spawn to "listening": wall ms (CPU ms), medians of 3 starts, for each data directory. The
 * compiled out/main when the run built it (what the desktop app runs), else the TypeScript sources. A first start per
 * directory goes before and is not counted: it makes the agent listener's certificate (once per data directory) and
 * fills the compile cache, which every later start has. The cache is the run's own (as in the start-up table), so the
 * figure does not depend on what other processes left in the user's; and the directories take turns, so whatever else
 * the machine does (the writes of the fleet just made, other load) falls on every size alike instead of looking like
 * growth.
 */
async function coldStarts(dirs: string[]): Promise<string[]> {
  const entry = existsSync(COMPILED_CLI) ? COMPILED_CLI : CLI;
  const cache = mkdtempSync(join(tmpdir(), 'cs-growth-ccache-'));
  const starts: { ms: number; cpu: number }[][] = dirs.map(() => []);
  try {
    for (let i = 0; i < 4; i++) {
      for (const [d, dir] of dirs.entries()) {
        const p = await startNode([entry, 'serve', '--data-dir', dir, '--port', '0'], { NODE_COMPILE_CACHE: cache }, { pin: false });
        await p.stop();
        if (i > 0) starts[d]!.push({ ms: p.startMs, cpu: p.startCpuMs });
      }
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  return starts.map((s) => `${fmt(median(s.map((x) => x.ms)), 0)} (${fmt(median(s.map((x) => x.cpu)), 0)})`);
}

export async function fleetGrowth(say: Say, sizes: number[], calls: number): Promise<void> {
  say('### Against fleet size');
  say();
  say('Synthetic devices (`SYN-000000`…) spread over the demo tenants; the key reaches every tenant. A selective search names ~10 devices (`SYN-0x42y`); a broad one matches a tenth of the fleet (`SYN-0x`), with status and OS filters; the unsearched list filters status and OS only. Times are through the gate (key, scope, tier, budgets), page of 25, in-process.');
  say();
  say('| devices | whoami CPU µs/call | selective search p50 / p95 ms | broad search p50 / p95 ms | status + OS, no search p50 / p95 ms | cold start of `out/main` to `listening`, wall ms (CPU ms), median of 3 |');
  say('|--:|--:|--:|--:|--:|--:|');
  const dirs: string[] = [];
  try {
    for (const n of sizes) dirs.push(await fleetDir(n));
    const colds = await coldStarts(dirs);
    for (const [i, n] of sizes.entries()) say(`| ${(n + 36).toLocaleString('en')} | ${await fleetCalls(dirs[i]!, calls)} | ${colds[i]} |`);
  } finally {
    for (const dir of dirs) rmSync(join(dir, '..'), { recursive: true, force: true });
  }
  say();
}

/** whoami's CPU and the three list_devices forms' latencies on one install, as table cells. */
async function fleetCalls(dir: string, calls: number): Promise<string> {
  const app = await openApp(dir, { log: () => {} });
  try {
    const key = await benchKey(app);
    const who = await whoamiCpu(app, key, calls);
    const reps = Math.max(100, Math.min(400, calls / 5));
    const sel = await listLatency(app, key, reps, (i) => ({ search: `SYN-0${i % 10}42${i % 7}` }));
    const broad = await listLatency(app, key, reps, (i) => ({ status: 'online', os: i % 2 ? 'linux' : 'windows', search: `SYN-0${i % 10}` }));
    const plain = await listLatency(app, key, reps, (i) => ({ status: 'online', os: i % 2 ? 'linux' : 'windows' }));
    const pair = ([a, b]: [number, number]) => `${fmt(a, 2)} / ${fmt(b, 2)}`;
    return `${fmt(who, 0)} | ${pair(sel)} | ${pair(broad)} | ${pair(plain)}`;
  } finally {
    await app.close();
  }
}

/** `countersign audit verify` from its command line (process start included), ms, and whether it said OK. */
function cliVerify(dir: string): { ms: number; ok: boolean } {
  const t0 = performance.now();
  try {
    const out = execFileSync(process.execPath, [...NODE_FLAGS, CLI, 'audit', 'verify', '--data-dir', dir], { encoding: 'utf8' });
    return { ms: performance.now() - t0, ok: /\bOK\b/i.test(out) };
  } catch {
    return { ms: performance.now() - t0, ok: false };
  }
}

export async function logGrowth(say: Say, sizes: number[], calls: number, devices: number): Promise<void> {
  say('### Against log size');
  say();
  say(`The same install with ${(devices + 36).toLocaleString('en')} devices, its audit log filled to each size with hash-chained tool-call entries. \`audit verify\` is the command line (process start, both cores: docs/performance.md); the integrity check is SQLite's quick_check, which the server runs on a worker thread after it starts listening (not on the start-up path).`);
  say();
  say('| audit entries | whoami CPU µs/call | `audit verify` ms | cold start of `out/main` to `listening`, wall ms (CPU ms), median of 3 | integrity check (background) ms | database MB |');
  say('|--:|--:|--:|--:|--:|--:|');
  const dir = await fleetDir(devices);
  try {
    for (const target of sizes) {
      await fillLog(dir, target);
      const [cold] = await coldStarts([dir]);
      const app = await openApp(dir, { log: () => {} });
      let who: number;
      try {
        who = await whoamiCpu(app, await benchKey(app), calls);
      } finally {
        await app.close();
      }
      const integrity = await startIntegrityCheck(join(dir, 'countersign.db'), () => {}).done;
      const v = cliVerify(dir);
      const mb = statSync(join(dir, 'countersign.db')).size / 2 ** 20;
      say(`| ${target.toLocaleString('en')} | ${fmt(who, 0)} | ${fmt(v.ms, 0)}${v.ok ? '' : ' (FAILED)'} | ${cold} | ${fmt(integrity.ms ?? NaN, 0)}${integrity.state === 'ok' ? '' : ` (${integrity.state})`} | ${fmt(mb, 0)} |`);
    }
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
  say();
}
