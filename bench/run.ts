// npm run bench: what governance costs against a bare SDK server, how costs grow with the fleet and the log, and the
// approval, agent and simulation figures. Prints tables and writes docs/benchmarks.md. A benchmark, not a test: it
// asserts nothing, it measures. Quick mode (smaller sizes, shorter runs, docs untouched): BENCH_QUICK=1.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../src-main/app.ts';
import { governedData, overhead } from './overhead.ts';
import { auditFilters } from './auditFilters.ts';
import { commitPages } from './commitPages.ts';
import { fillLog, fleetDir, fleetGrowth, logGrowth } from './growth.ts';
import { buildMain, startupTable } from './startup.ts';
import { agentMemory } from './agentMemory.ts';
import { simulationBench } from './simulate.ts';
import { planStability } from './plans.ts';
import { teamMode } from './team.ts';
import { fmt, NODE_FLAGS, PINNED, ROOT } from './procs.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const out: string[] = [];
const say = (line = '') => {
  console.log(line);
  out.push(line);
};

async function approvalLatency(): Promise<void> {
  const { dir } = await governedData(1);
  const app = await openApp(dir, { log: () => {} });
  try {
    const key = (await app.keys.create({ name: 'appr', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: ['acme-dental'], writePerMinute: 10_000_000 })).key;
    const devices = app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental'`).all() as { id: string }[];
    const lat: number[] = [];
    for (let i = 0; i < (QUICK ? 30 : 100); i++) {
      const r = await app.gate.call('device_actions', { action: 'reboot', deviceIds: [devices[i % devices.length]!.id], reason: `bench ${i}` }, { key });
      if (r.kind !== 'pending') throw new Error(JSON.stringify(r));
      const t0 = performance.now();
      await app.gate.approve(r.approval.id, 'bench');
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    say('## Approval decided → execution started');
    say();
    say(`Approve call to commands queued (decision, execution and both audit entries in one transaction): p50 ${fmt(lat[Math.floor(lat.length / 2)]!, 2)} ms, p95 ${fmt(lat[Math.floor(lat.length * 0.95)]!, 2)} ms (excluding the device).`);
    say();
  } finally {
    app.close();
  }
}

say('# Countersign benchmarks');
say();
say(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
say(`Command: \`npm run bench\`${QUICK ? ' (BENCH_QUICK=1)' : ''}. Servers run as child processes with \`${NODE_FLAGS.slice(1).join(' ')}\` (the flag \`npm run countersign\` and \`npm start\` give the server too)${PINNED ? '; in the overhead section the server is pinned to one core and the load generator to the other' : ''}. docs/performance.md says where the time goes.`);
say();
/** Cold start and `audit verify` at 1M audit entries and 100k devices, against their targets. */
async function startupSection(): Promise<void> {
  const devices = QUICK ? 10_000 : 100_000;
  const entries = QUICK ? 100_000 : 1_000_000;
  const dir = await fleetDir(devices);
  try {
    await fillLog(dir, entries);
    say(`## Start-up and \`audit verify\` at ${entries.toLocaleString('en')} audit entries, ${(devices + 36).toLocaleString('en')} devices`);
    say();
    await startupTable(say, dir, `One install with ${(devices + 36).toLocaleString('en')} devices and ${entries.toLocaleString('en')} hash-chained audit entries (and its signed checkpoint)`, QUICK ? 3 : 7);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

// BENCH_ONLY=team: only the team-mode row; BENCH_ONLY=start: only start-up and verify; BENCH_ONLY=overhead: only the
// bare-versus-governed tables; BENCH_ONLY=fleet: only the growth table against fleet size; BENCH_ONLY=commit: only what a
// commit writes; BENCH_ONLY=filters: only the console's audit filters at a million entries; BENCH_ONLY=plans: only the
// statements planned once (each also part of the full run).
const ONLY = process.env.BENCH_ONLY;
if (!ONLY || ONLY === 'start') buildMain();
if (ONLY === 'start') await startupSection();
if (ONLY === 'fleet') {
  buildMain();
  await fleetGrowth(say, QUICK ? [1_000, 10_000] : [1_000, 10_000, 100_000], QUICK ? 1_000 : 3_000);
}
if (ONLY === 'overhead') await overhead(say, { rounds: QUICK ? 1 : 5, durationMs: QUICK ? 1500 : 4000, concurrency: [1, 8, 32] });
if (ONLY === 'commit') await commitPages(say, QUICK ? 300 : 2_000);
if (ONLY === 'filters') await auditFilters(say, QUICK ? 100_000 : 1_000_000);
if (ONLY === 'plans') await planStability(say, QUICK ? 2_000 : 20_000);
if (!ONLY) {
  await overhead(say, { rounds: QUICK ? 1 : 5, durationMs: QUICK ? 1500 : 4000, concurrency: [1, 8, 32] });
  await commitPages(say, QUICK ? 300 : 2_000);
  await auditFilters(say, QUICK ? 100_000 : 1_000_000);
  await planStability(say, QUICK ? 2_000 : 20_000);
  say('## Growth');
  say();
  await fleetGrowth(say, QUICK ? [1_000, 10_000] : [1_000, 10_000, 100_000], QUICK ? 1_000 : 3_000);
  await logGrowth(say, QUICK ? [10_000, 100_000] : [10_000, 1_000_000, 10_000_000], QUICK ? 1_000 : 3_000, QUICK ? 10_000 : 100_000);
  await startupSection();
  await approvalLatency();
  await agentMemory(say);
  await simulationBench(say, QUICK ? 5_000 : 50_000);
}
if (!ONLY || ONLY === 'team') await teamMode(say, { durationMs: QUICK ? 1500 : 4000 });
if (!QUICK && !ONLY) {
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs/benchmarks.md'), `${out.join('\n')}\n`);
  console.log('\nwrote docs/benchmarks.md');
}
