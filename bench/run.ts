// npm run bench: governance overhead against a bare SDK server, then scale figures. Prints tables and writes
// docs/benchmarks.md. A benchmark, not a test: it asserts nothing, it measures. Quick mode: BENCH_QUICK=1.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { listTenants } from '../src-main/auth/keys.ts';
import { runLoad, type LoadResult } from './load.ts';
import { growFleet } from './fleet.ts';
import { agentMemory } from './agentMemory.ts';
import { teamMode } from './team.ts';
import { simulationBench } from './simulate.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = QUICK ? 1500 : 5000;
const NODE_FLAGS = ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=8'];
const ROOT = join(import.meta.dirname, '..');
const out: string[] = [];
const say = (line = '') => {
  console.log(line);
  out.push(line);
};

function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...NODE_FLAGS, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const m = /listening (http:\/\/\S+)/.exec(buf);
      if (m) resolve({ child, url: m[1]!, ms: performance.now() - t0 });
    });
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}
const stop = (c: ChildProcess) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); });
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function dataDir(extraDevices = 0): Promise<{ dir: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  const { db, store } = await initDataDir(dir);
  await seedDemoFleet(store);
  if (extraDevices) growFleet(db, extraDevices);
  await store.close();
  const app = await openApp(dir, { log: () => {} });
  const { secret } = await app.keys.create({ name: 'bench', scopes: ['ai:read', 'ai:write'], tenants: (await listTenants(app.store.sql)).map((t) => t.slug), readPerMinute: 10_000_000, writePerMinute: 10_000_000 });
  await app.close();
  return { dir, key: secret };
}

/** CPU time (user + system) a process has used, in µs; Linux only (undefined elsewhere). */
function cpuMicros(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** A load run plus the server's CPU per call over it. */
async function measured(server: ChildProcess, spec: Parameters<typeof runLoad>[0]): Promise<LoadResult & { cpuPerCall: number; genPerCall: number }> {
  // Only the measured phase: session set-up and warm-up are not per-call costs. The sessions' own
  // set-up and tear-down at the phase edges is still inside it (a few ms in 5 s).
  let server0: number | undefined, server1: number | undefined;
  let gen0 = process.cpuUsage(), gen = { user: 0, system: 0 };
  const r = await runLoad({
    ...spec,
    phase: (edge) => {
      if (edge === 'start') {
        server0 = cpuMicros(server.pid!);
        gen0 = process.cpuUsage();
      } else {
        server1 = cpuMicros(server.pid!);
        gen = process.cpuUsage(gen0);
      }
    },
  });
  return { ...r, cpuPerCall: server0 === undefined || server1 === undefined ? NaN : (server1 - server0) / r.calls, genPerCall: (gen.user + gen.system) / r.calls };
}

const transportName = (t: 'http' | 'sse') => (t === 'http' ? 'Streamable HTTP' : 'legacy SSE');
const verdict = (ratio: number, p99: number) => `throughput ${f(ratio, 2)} × bare (target ≥ 0.7: ${ratio >= 0.7 ? 'met' : 'NOT met'}), p99 ${f(p99, 2)} × bare (target ≤ 2: ${p99 <= 2 ? 'met' : 'NOT met'})`;

async function overhead() {
  say('## Governance overhead: tools/call on loopback, bare SDK server vs Countersign');
  say();
  say(`Both servers answer the same tool, \`echo\` (zod input and output schemas, a one-field result). Bare: \`bench/bareServer.ts\`, an SDK \`McpServer\` on the same transports and node:http plumbing. Countersign: \`bench/governedServer.ts\`, the app and HTTP server \`countersign serve\` runs, with \`echo\` added as a tier-1 tool, so every call passes the whole pipeline (Host/Origin, API key, session ownership, JSON-RPC validation, scope, tier, tenant, policy, rate limits) and commits its hash-chained audit entry before it is answered. Fixed duration ${DURATION / 1000} s per cell after a 0.3 s warm-up; one session per worker, one call in flight each. "CPU µs/call" is the server process's own CPU time per call (/proc), the overhead without the noise of a shared 2-core box.`);
  say();
  say('| transport | concurrency | bare calls/s | bare p50 ms | bare p99 ms | bare CPU µs/call | countersign calls/s | cs p50 ms | cs p99 ms | cs CPU µs/call | throughput ratio | p99 ratio |');
  say('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const { dir, key } = await dataDir();
  const bare = await start([join(ROOT, 'bench/bareServer.ts')]);
  const cs = await start([join(ROOT, 'bench/governedServer.ts'), dir], { COUNTERSIGN_HTTP_RPS: '100000' });
  const idleRss = rssMb(cs.child.pid!);
  const targets: string[] = [];
  let loadedRss = 0;
  const echo = { tool: 'echo', args: { text: 'hi' } };
  try {
    for (const transport of ['http', 'sse'] as const) {
      for (const concurrency of [1, 8, 32]) {
        const a = await measured(bare.child, { url: bare.url, transport, concurrency, durationMs: DURATION, ...echo });
        const b = await measured(cs.child, { url: cs.url, key, transport, concurrency, durationMs: DURATION, ...echo });
        loadedRss = Math.max(loadedRss, rssMb(cs.child.pid!));
        if (concurrency === 8) {
          targets.push(`- ${transportName(transport)}, raw load: ${verdict(b.callsPerSecond / a.callsPerSecond, b.p99 / a.p99)}. Countersign adds ${f(b.cpuPerCall - a.cpuPerCall, 0)} µs of server CPU per call to the bare server's ${f(a.cpuPerCall, 0)}; the generator spent ${f(a.genPerCall, 0)} µs per call, so the bare cell kept ${f((a.callsPerSecond * (a.cpuPerCall + a.genPerCall)) / 1e4, 0)}% of the 2 cores busy.`);
        }
        say(`| ${transportName(transport)} | ${concurrency} | ${f(a.callsPerSecond, 0)} | ${f(a.p50, 2)} | ${f(a.p99, 2)} | ${f(a.cpuPerCall, 0)} | ${f(b.callsPerSecond, 0)} | ${f(b.p50, 2)} | ${f(b.p99, 2)} | ${f(b.cpuPerCall, 0)} | ${f(b.callsPerSecond / a.callsPerSecond, 2)} | ${f(b.p99 / a.p99, 2)} |${a.errors + b.errors ? ` errors ${a.errors}/${b.errors}` : ''}`);
      }
    }
    // A real product tool on the same server, for scale: whoami reads the key's budgets and returns ~700 bytes.
    const who = await measured(cs.child, { url: cs.url, key, transport: 'http', concurrency: 8, durationMs: DURATION, tool: 'whoami', args: {} });
    say();
    say(`A product tool instead of \`echo\` (Streamable HTTP, concurrency 8, \`whoami\`): ${f(who.callsPerSecond, 0)} calls/s, p50 ${f(who.p50, 2)} ms, p99 ${f(who.p99, 2)} ms, ${f(who.cpuPerCall, 0)} µs CPU/call.`);
    // The same comparison with the SDK Client driving the load: what the issue's 5–6k calls/s bare figure was measured with.
    say();
    say('With the SDK `Client` as load generator (concurrency 8), the way real MCP clients call:');
    say();
    say('| transport | bare calls/s | bare p99 ms | countersign calls/s | cs p99 ms | throughput ratio | p99 ratio |');
    say('|---|---|---|---|---|---|---|');
    for (const transport of ['http', 'sse'] as const) {
      const a = await runLoad({ url: bare.url, transport, concurrency: 8, durationMs: DURATION, ...echo, client: 'sdk' });
      const b = await runLoad({ url: cs.url, key, transport, concurrency: 8, durationMs: DURATION, ...echo, client: 'sdk' });
      say(`| ${transportName(transport)} | ${f(a.callsPerSecond, 0)} | ${f(a.p99, 2)} | ${f(b.callsPerSecond, 0)} | ${f(b.p99, 2)} | ${f(b.callsPerSecond / a.callsPerSecond, 2)} | ${f(b.p99 / a.p99, 2)} |${a.errors + b.errors ? ` errors ${a.errors}/${b.errors}` : ''}`);
      targets.push(`- ${transportName(transport)}, SDK Client load: ${verdict(b.callsPerSecond / a.callsPerSecond, b.p99 / a.p99)}.`);
    }
  } finally {
    await stop(bare.child);
    await stop(cs.child);
  }
  // The same cell with COUNTERSIGN_DURABILITY=full (an fsync per group commit, survives power loss).
  const full = await start([join(ROOT, 'bench/governedServer.ts'), dir], { COUNTERSIGN_HTTP_RPS: '100000', COUNTERSIGN_DURABILITY: 'full' });
  try {
    const a = await runLoad({ url: full.url, key, transport: 'http', concurrency: 8, durationMs: DURATION, ...echo });
    say();
    say(`With \`COUNTERSIGN_DURABILITY=full\` (fsync at every group commit), Streamable HTTP, concurrency 8: ${f(a.callsPerSecond, 0)} calls/s, p50 ${f(a.p50, 2)} ms, p99 ${f(a.p99, 2)} ms.`);
  } finally {
    await stop(full.child);
  }
  say();
  say('Targets at concurrency 8 (throughput ≥ 0.7 × bare, p99 ≤ 2 × bare):');
  say();
  for (const t of targets) say(t);
  say();
  say('How to read the two loads. The SDK `Client` is how MCP clients call, and the load the target was set against (a bare server answering 5–6k calls/s here). The raw generator is a few dozen lines of node:http that spends ~35–70 µs per call, so the bare server runs 3–4 times faster and the generator and server together keep both cores nearly full: any server work per call then shows almost one for one in the ratio. Countersign\'s work per call — key and session checks, validation, tier and policy, rate limits, and a hash-chained audit row committed (in a group) before the answer — is the "adds … µs" above; a committed SQLite row alone is ~15 µs of it. On this 2-core box that caps the raw-load ratio near 0.5 for legacy SSE (bare 35–40 µs a call) whatever else is trimmed; on a machine with a core to spare for the client it is the CPU column, not the ratio, that matters. See docs/performance.md for what was cut and what is left.');
  say();
  say(`Countersign resident memory: ${f(idleRss, 0)} MB idle after start, ${f(loadedRss, 0)} MB peak under the load above.`);
  say();
}

async function scale() {
  say('## Scale');
  say();
  say('| fleet devices | cold start to `listening` ms | list_devices p50 ms | list_devices p95 ms (server time, filters status+os+search, limit 25) |');
  say('|---|---|---|---|');
  for (const n of QUICK ? [1_000, 10_000] : [1_000, 10_000, 100_000]) {
    const { dir } = await dataDir(n);
    const cold = await start([join(ROOT, 'src-main/cli/main.ts'), 'serve', '--data-dir', dir, '--port', '0']);
    await stop(cold.child);
    const app = await openApp(dir, { log: () => {} });
    const key = (await app.keys.create({ name: 'scale', scopes: ['ai:read'], tenants: (await listTenants(app.store.sql)).map((t) => t.slug), readPerMinute: 10_000_000 })).key;
    const lat: number[] = [];
    for (let i = 0; i < (QUICK ? 100 : 400); i++) {
      const t0 = performance.now();
      const r = await app.gate.call('list_devices', { status: 'online', os: i % 2 ? 'linux' : 'windows', search: `SYN-0${i % 10}`, limit: 25 }, { key });
      lat.push(performance.now() - t0);
      if (r.kind !== 'ok') throw new Error(JSON.stringify(r));
    }
    lat.sort((a, b) => a - b);
    say(`| ${n + 36} | ${f(cold.ms, 0)} | ${f(lat[Math.floor(lat.length / 2)]!, 2)} | ${f(lat[Math.floor(lat.length * 0.95)]!, 2)} |`);
    app.close();
  }
  say();
}

async function auditFigures() {
  say('## Audit log');
  say();
  const { dir } = await dataDir();
  let app = await openApp(dir, { log: () => {} });
  let log = app.store.audit;
  const single = QUICK ? 2_000 : 5_000;
  let t0 = performance.now();
  for (let i = 0; i < single; i++) await log.append({ event: 'tool_call', decision: 'allowed', tool: 'bench', args: { i } });
  const perTx = single / ((performance.now() - t0) / 1000);
  say(`- Append, one transaction per entry (WAL, synchronous=NORMAL, the default durability): ${f(perTx, 0)} entries/s.`);
  say();
  say('| audit entries | `audit verify` ms | appends in one transaction, entries/s | cold start to `listening` ms | database file MB |');
  say('|---|---|---|---|---|');
  const sizes = QUICK ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  let have = await log.count();
  for (const target of sizes) {
    t0 = performance.now();
    const from = have;
    await app.store.write(async (tx) => {
      for (; have < target; have++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: 'bench', keyId: 'k', tier: 1, args: { i: have } });
    });
    const batchRate = (target - from) / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    const v = await log.verify();
    const verifyMs = performance.now() - t0;
    await app.close();
    // Start-up does not read the log: it should not grow with it.
    const cold = await start([join(ROOT, 'src-main/cli/main.ts'), 'serve', '--data-dir', dir, '--port', '0']);
    await stop(cold.child);
    const mb = statSync(join(dir, 'countersign.db')).size / 2 ** 20;
    say(`| ${v.count.toLocaleString('en')}${v.ok ? '' : ' (BROKEN)'} | ${f(verifyMs, 0)} | ${f(batchRate, 0)} | ${f(cold.ms, 0)} | ${f(mb, 0)} |`);
    app = await openApp(dir, { log: () => {} });
    log = app.store.audit;
  }
  await app.close();
  say();
}

async function approvalLatency() {
  const { dir } = await dataDir();
  const app = await openApp(dir, { log: () => {} });
  const key = (await app.keys.create({ name: 'appr', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: ['acme-dental'], writePerMinute: 10_000_000 })).key;
  const devices = app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental'`).all() as { id: string }[];
  const lat: number[] = [];
  return (async () => {
    for (let i = 0; i < (QUICK ? 30 : 100); i++) {
      const r = await app.gate.call('device_actions', { action: 'reboot', deviceIds: [devices[i % devices.length]!.id], reason: `bench ${i}` }, { key });
      if (r.kind !== 'pending') throw new Error(JSON.stringify(r));
      const t0 = performance.now();
      await app.gate.approve(r.approval.id, 'bench');
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    say(`## Approval decided → execution started`);
    say();
    say(`Approve call to commands queued (decision, execution and both audit entries in one transaction): p50 ${f(lat[Math.floor(lat.length / 2)]!, 2)} ms, p95 ${f(lat[Math.floor(lat.length * 0.95)]!, 2)} ms (excluding the device).`);
    say();
    app.close();
  })();
}

say(`# Countersign benchmarks`);
say();
say(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`);
say(`Command: \`npm run bench\`${QUICK ? ' (BENCH_QUICK=1)' : ''}. Servers run as child processes with \`${NODE_FLAGS.slice(1).join(' ')}\` (the flag \`npm run countersign\` and \`npm start\` give the server too); the load generator is the parent process, on the same 2 cores.`);
say();
// BENCH_ONLY=team: only the team-mode row (it is also part of the full run).
const ONLY = process.env.BENCH_ONLY;
if (!ONLY) {
  await overhead();
  await scale();
  await auditFigures();
  await approvalLatency();
  await agentMemory(say);
  await simulationBench(say, QUICK ? 5_000 : 50_000);
}
await teamMode(say, { root: ROOT, durationMs: DURATION, start, stop, f });
if (!QUICK && !ONLY) {
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs/benchmarks.md'), `${out.join('\n')}\n`);
  console.log('\nwrote docs/benchmarks.md');
}
