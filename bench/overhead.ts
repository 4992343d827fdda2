// Governance overhead: the bare SDK server against `countersign serve` answering a real tier-1 tool, measured side by
// side with the raw load generator, interleaved over rounds; then the SDK Client's view (client-bound) and the cost of
// COUNTERSIGN_DURABILITY=full.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { listTenants } from '../src-main/auth/keys.ts';
import { runLoad, type LoadResult, type LoadSpec } from './load.ts';
import { CLI, cpuMicros, fmt, LOAD_CORE, median, pinSelf, PINNED, ROOT, rssMb, spread, startNode, type Proc } from './procs.ts';

type Say = (line?: string) => void;
type Transport = 'http' | 'sse';
export interface Measured extends LoadResult {
  /** Server CPU per call, µs. */
  cpu: number;
}

const transportName = (t: Transport) => (t === 'http' ? 'Streamable HTTP' : 'legacy SSE');

/** A data directory with the demo fleet and one key per concurrent session (as many AI clients would hold). */
export async function governedData(keys: number): Promise<{ dir: string; keys: string[] }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-bench-')), 'data');
  const { store } = await initDataDir(dir);
  await seedDemoFleet(store);
  await store.close();
  const app = await openApp(dir, { log: () => {} });
  try {
    const tenants = (await listTenants(app.store.sql)).map((t) => t.slug);
    const out: string[] = [];
    for (let i = 0; i < keys; i++) out.push((await app.keys.create({ name: `bench-${i}`, scopes: ['ai:read', 'ai:write'], tenants, readPerMinute: 10_000_000, writePerMinute: 10_000_000 })).secret);
    return { dir, keys: out };
  } finally {
    await app.close();
  }
}

/** `countersign serve` itself, on port 0; the per-address HTTP limit raised so one loopback generator is not refused. */
export const serve = (dir: string, env: NodeJS.ProcessEnv = {}) =>
  startNode([CLI, 'serve', '--data-dir', dir, '--port', '0'], { COUNTERSIGN_HTTP_RPS: '100000', ...env });
/** The bare SDK server; with BARE_APPEND=DIR, the floor of the guarantee (its echo also appends the product's durable audit entry). */
export const bare = (env: NodeJS.ProcessEnv = {}) => startNode([join(ROOT, 'bench/bareServer.ts')], env);
/** The sessions at which the floor and the stateless era are measured (the targets' concurrency). */
const FLOOR_AT = 8;

/** One load run and the server's CPU per call over its measured phase. */
export async function measure(server: Proc, spec: Omit<LoadSpec, 'phase'>): Promise<Measured> {
  let c0: number | undefined, c1: number | undefined;
  const r = await runLoad({ ...spec, phase: (edge) => (edge === 'start' ? (c0 = cpuMicros(server.child.pid!)) : (c1 = cpuMicros(server.child.pid!))) });
  return { ...r, cpu: c0 === undefined || c1 === undefined ? NaN : (c1 - c0) / r.calls };
}

export interface OverheadOptions {
  rounds: number;
  durationMs: number;
  concurrency: number[];
}

export async function overhead(say: Say, o: OverheadOptions): Promise<void> {
  const maxC = Math.max(...o.concurrency);
  const { dir, keys } = await governedData(maxC);
  const whoami = { tool: 'whoami', args: {} };
  const echo = { tool: 'echo', args: { text: 'hi' } };
  const cells = new Map<string, { bare: Measured[]; cs: Measured[]; floor: Measured[] }>();
  const stateless: Measured[] = [];
  const { dir: floorDir } = await governedData(0);
  const b = await bare();
  const f = await bare({ BARE_APPEND: floorDir });
  const cs = await serve(dir);
  const idleRss = rssMb(cs.child.pid!);
  let peakRss = idleRss;
  pinSelf(LOAD_CORE);
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const transport of ['http', 'sse'] as const) {
        for (const concurrency of o.concurrency) {
          const cell = cells.get(`${transport}:${concurrency}`) ?? { bare: [], cs: [], floor: [] };
          cells.set(`${transport}:${concurrency}`, cell);
          // Rotate which server goes first, so drift over a round (heat, other load) falls on each alike.
          const runs = [
            async () => cell.bare.push(await measure(b, { url: b.url, transport, concurrency, durationMs: o.durationMs, ...echo })),
            async () => cell.cs.push(await measure(cs, { url: cs.url, keys: keys.slice(0, concurrency), transport, concurrency, durationMs: o.durationMs, ...whoami })),
          ];
          if (concurrency === FLOOR_AT) {
            runs.push(async () => cell.floor.push(await measure(f, { url: f.url, transport, concurrency, durationMs: o.durationMs, ...echo })));
            if (transport === 'http') runs.push(async () => stateless.push(await measure(cs, { url: cs.url, keys: keys.slice(0, concurrency), transport: 'stateless', concurrency, durationMs: o.durationMs, ...whoami })));
          }
          for (let k = 0; k < round % runs.length; k++) runs.push(runs.shift()!);
          for (const run of runs) await run();
          peakRss = Math.max(peakRss, rssMb(cs.child.pid!));
        }
      }
    }
  } finally {
    pinSelf('all');
    await b.stop();
    await f.stop();
    await cs.stop();
    rmSync(join(floorDir, '..'), { recursive: true, force: true });
  }

  say('## Governance overhead: bare SDK server vs `countersign serve`');
  say();
  say(`Bare: \`bench/bareServer.ts\`, an SDK \`McpServer\` answering \`echo\` on the SDK's own transports over node:http. Countersign: \`countersign serve\` (the product binary, \`src-main/cli/main.ts serve\`) answering the tier-1 product tool \`whoami\` (~700 bytes of budgets and tenants) through the whole pipeline: Host/Origin, API key, session ownership, JSON-RPC validation, scope, tier, tenant, policy, rate limits, and a hash-chained audit entry committed before the answer. One key per session (${maxC} keys), budgets high enough that no call is throttled. Load: \`bench/load.ts\`, a raw node:http MCP client, closed loop (one call in flight per session). ${PINNED ? `Server pinned to core 0 and load generator to core ${LOAD_CORE} (taskset)` : 'Not pinned (no taskset or one core)'}. ${o.rounds} interleaved rounds of ${o.durationMs / 1000} s per cell after a 0.3 s warm-up; each figure is the median over rounds with the range in brackets. Ratios are per round (governed / bare of the same round), then the median. "CPU µs/call" is the server process's own CPU time per call (/proc).`);
  say();
  say('| transport | sessions | bare calls/s | governed calls/s | **governed / bare** | bare p50 / p99 ms | governed p50 / p99 ms | **p99 governed / bare** | server CPU µs/call, bare → governed |');
  say('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  const verdicts: string[] = [];
  for (const transport of ['http', 'sse'] as const) {
    for (const concurrency of o.concurrency) {
      const { bare: a, cs: g } = cells.get(`${transport}:${concurrency}`)!;
      const ratio = a.map((x, i) => g[i]!.callsPerSecond / x.callsPerSecond);
      const p99 = a.map((x, i) => g[i]!.p99 / x.p99);
      const errors = [...a, ...g].reduce((n, r) => n + r.errors, 0);
      say(`| ${transportName(transport)} | ${concurrency} | ${spread(a.map((r) => r.callsPerSecond))} | ${spread(g.map((r) => r.callsPerSecond))} | **${spread(ratio, 2)}** | ${fmt(median(a.map((r) => r.p50)), 2)} / ${fmt(median(a.map((r) => r.p99)), 2)} | ${fmt(median(g.map((r) => r.p50)), 2)} / ${fmt(median(g.map((r) => r.p99)), 2)} | **${spread(p99, 2)}** | ${fmt(median(a.map((r) => r.cpu)), 0)} → ${fmt(median(g.map((r) => r.cpu)), 0)} |${errors ? ` ${errors} errors` : ''}`);
      if (concurrency === FLOOR_AT) {
        const r = median(ratio), p = median(p99);
        const fl = cells.get(`${transport}:${concurrency}`)!.floor;
        const floorNote = p <= 1 ? '' : ` The bare server with the durable audit append alone: p99 ${fmt(median(fl.map((x, i) => x.p99 / a[i]!.p99)), 2)}× bare; governed against it: ${fmt(median(fl.map((x, i) => g[i]!.p99 / x.p99)), 2)}.`;
        verdicts.push(`- ${transportName(transport)}, ${FLOOR_AT} sessions: governed / bare ${fmt(r, 2)} (target ≥ 0.7: ${r >= 0.7 ? 'met' : 'NOT met'}; stretch 0.85: ${r >= 0.85 ? 'met' : 'not met'}), p99 governed / bare ${fmt(p, 2)} (target ≤ 1.0: ${p <= 1 ? 'met' : 'NOT met'}).${floorNote}`);
      }
    }
  }
  say();
  for (const v of verdicts) say(v);
  say();
  say(`The floor of the guarantee, ${FLOOR_AT} sessions, in the same rounds: the bare server whose \`echo\` also appends the product's hash-chained audit entry (its store, group commit and \`AuditLog\`, committed before the answer; \`BARE_APPEND\` in \`bench/bareServer.ts\`) and does nothing else of governance. Where governed sits at this floor, what it costs beyond bare is the durable append itself.`);
  say();
  say('| transport | floor calls/s | floor / bare | floor p50 / p99 ms | **p99 floor / bare** | **p99 governed / floor** | server CPU µs/call, bare → floor → governed |');
  say('|---|--:|--:|--:|--:|--:|--:|');
  for (const transport of ['http', 'sse'] as const) {
    const { bare: a, cs: g, floor: fl } = cells.get(`${transport}:${FLOOR_AT}`)!;
    if (!fl.length) continue;
    say(`| ${transportName(transport)} | ${spread(fl.map((r) => r.callsPerSecond))} | ${spread(fl.map((x, i) => x.callsPerSecond / a[i]!.callsPerSecond), 2)} | ${fmt(median(fl.map((r) => r.p50)), 2)} / ${fmt(median(fl.map((r) => r.p99)), 2)} | **${spread(fl.map((x, i) => x.p99 / a[i]!.p99), 2)}** | **${spread(fl.map((x, i) => g[i]!.p99 / x.p99), 2)}** | ${fmt(median(a.map((r) => r.cpu)), 0)} → ${fmt(median(fl.map((r) => r.cpu)), 0)} → ${fmt(median(g.map((r) => r.cpu)), 0)} |`);
  }
  say();
  if (stateless.length) {
    const http = cells.get(`http:${FLOOR_AT}`)!.cs;
    say(`Protocol 2026-07-28 (no session: each call one POST carrying the client's facts in \`_meta\`, served through a session server built for it; the bare SDK server does not speak it), ${FLOOR_AT} clients, \`whoami\`, governed: ${spread(stateless.map((r) => r.callsPerSecond))} calls/s, p50 / p99 ${fmt(median(stateless.map((r) => r.p50)), 2)} / ${fmt(median(stateless.map((r) => r.p99)), 2)} ms, ${fmt(median(stateless.map((r) => r.cpu)), 0)} µs of server CPU per call; the same server's Streamable HTTP sessions in the same rounds: ${fmt(median(http.map((r) => r.cpu)), 0)} µs per call.${stateless.some((r) => r.errors) ? ` ${stateless.reduce((n, r) => n + r.errors, 0)} errors.` : ''}`);
    say();
  }
  say(`Countersign resident memory: ${fmt(idleRss, 0)} MB idle after start, ${fmt(peakRss, 0)} MB at most under the load above.`);
  say();
  await clientBound(say, dir, keys, o);
  await durability(say, dir, keys, o);
}

/** The SDK Client as load generator: how real clients call, but it caps the bare server far below its rate. */
async function clientBound(say: Say, dir: string, keys: string[], o: OverheadOptions): Promise<void> {
  say('With the SDK `Client` as load generator instead (8 sessions; client-bound: the client, not the server, sets the rate, so this view hides server cost):');
  say();
  say('| transport | bare calls/s | governed calls/s | governed / bare | bare p99 ms | governed p99 ms |');
  say('|---|--:|--:|--:|--:|--:|');
  const b = await bare();
  const cs = await serve(dir);
  try {
    for (const transport of ['http', 'sse'] as const) {
      const a = await runLoad({ url: b.url, transport, concurrency: 8, durationMs: o.durationMs, tool: 'echo', args: { text: 'hi' }, client: 'sdk' });
      const g = await runLoad({ url: cs.url, keys: keys.slice(0, 8), transport, concurrency: 8, durationMs: o.durationMs, tool: 'whoami', args: {}, client: 'sdk' });
      say(`| ${transportName(transport)} | ${fmt(a.callsPerSecond, 0)} | ${fmt(g.callsPerSecond, 0)} | ${fmt(g.callsPerSecond / a.callsPerSecond, 2)} | ${fmt(a.p99, 2)} | ${fmt(g.p99, 2)} |`);
    }
  } finally {
    await b.stop();
    await cs.stop();
  }
  say();
}

/** COUNTERSIGN_DURABILITY=full: an fsync at every group commit, before any answer of the group. */
async function durability(say: Say, dir: string, keys: string[], o: OverheadOptions): Promise<void> {
  const normal: Measured[] = [];
  const full: Measured[] = [];
  pinSelf(LOAD_CORE);
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (const [env, into] of [[{}, normal], [{ COUNTERSIGN_DURABILITY: 'full' }, full]] as const) {
        const cs = await serve(dir, env);
        try {
          into.push(await measure(cs, { url: cs.url, keys: keys.slice(0, 8), transport: 'http', concurrency: 8, durationMs: o.durationMs, tool: 'whoami', args: {} }));
        } finally {
          await cs.stop();
        }
      }
    }
  } finally {
    pinSelf('all');
  }
  say(`\`COUNTERSIGN_DURABILITY=full\` (fsync before answering), Streamable HTTP, 8 sessions, \`whoami\`: ${spread(full.map((r) => r.callsPerSecond))} calls/s, p50 ${fmt(median(full.map((r) => r.p50)), 2)} ms, p99 ${fmt(median(full.map((r) => r.p99)), 2)} ms; the default (synchronous=NORMAL, durable across a crash or kill -9 of the process) in the same rounds: ${spread(normal.map((r) => r.callsPerSecond))} calls/s, p99 ${fmt(median(normal.map((r) => r.p99)), 2)} ms.`);
  say();
}
