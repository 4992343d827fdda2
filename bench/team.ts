// The team-mode row: governed tier-1 throughput and p99 on PostgreSQL, one node and then two on one database, beside
// SQLite, in one run and on the same cell (`countersign serve` itself, Streamable HTTP, 8 sessions with a call in flight
// each, the tier-1 tool whoami). The PostgreSQL is COUNTERSIGN_BENCH_DATABASE_URL (or the tests'
// COUNTERSIGN_TEST_DATABASE_URL), or a throwaway cluster started here. Nothing is pinned: PostgreSQL needs a core too.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { listTenants } from '../src-main/auth/keys.ts';
import { clusterUnavailable, createDatabase, startCluster, type Cluster } from '../test/helpers/pgCluster.ts';
import { runLoad, type LoadResult } from './load.ts';
import { CLI, fmt, startNode } from './procs.ts';

const SESSIONS = 8;

async function install(storeUrl?: string): Promise<{ dir: string; keys: string[] }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-bench-team-')), 'a');
  const { store } = await initDataDir(dir, undefined, { storeUrl });
  await seedDemoFleet(store);
  await store.close();
  const app = await openApp(dir, { log: () => {}, storeUrl });
  try {
    const tenants = (await listTenants(app.store.sql)).map((t) => t.slug);
    const keys: string[] = [];
    for (let i = 0; i < SESSIONS; i++) keys.push((await app.keys.create({ name: `bench-${i}`, scopes: ['ai:read'], tenants, readPerMinute: 10_000_000, writePerMinute: 10_000_000 })).secret);
    return { dir, keys };
  } finally {
    await app.close();
  }
}

const serve = (dir: string, env: NodeJS.ProcessEnv = {}) =>
  startNode([CLI, 'serve', '--data-dir', dir, '--port', '0'], { COUNTERSIGN_HTTP_RPS: '100000', ...env }, { pin: false });

export async function teamMode(say: (line?: string) => void, o: { durationMs: number }): Promise<void> {
  say('## Team mode: SQLite beside PostgreSQL, one node and two');
  say();
  const given = process.env.COUNTERSIGN_BENCH_DATABASE_URL || process.env.COUNTERSIGN_TEST_DATABASE_URL;
  const why = given ? undefined : clusterUnavailable();
  if (why) {
    say(`Skipped: no PostgreSQL for this run (${why}; set COUNTERSIGN_BENCH_DATABASE_URL).`);
    say();
    return;
  }
  let cluster: Cluster | undefined;
  const f = fmt;
  const cell = { transport: 'http' as const, durationMs: o.durationMs, tool: 'whoami', args: {} };
  const rows: string[] = [];
  const row = (what: string, r: LoadResult) => rows.push(`| ${what} | ${f(r.callsPerSecond, 0)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} |${r.errors ? ` errors ${r.errors}` : ''}`);
  try {
    if (!given) cluster = await startCluster();
    const url = await createDatabase(given ?? cluster!.url, 'bench');
    const lite = await install();
    const s = await serve(lite.dir);
    try {
      row('SQLite, one node', await runLoad({ ...cell, url: s.url, keys: lite.keys, concurrency: SESSIONS }));
    } finally {
      await s.stop();
    }
    const team = await install(url);
    const env = { COUNTERSIGN_DATABASE_URL: url };
    const a = await serve(team.dir, env);
    try {
      row('PostgreSQL, one node', await runLoad({ ...cell, url: a.url, keys: team.keys, concurrency: SESSIONS }));
      // Node B: the same install (a copy of the secrets), its own process and connections.
      const dirB = join(team.dir, '..', 'b');
      mkdirSync(dirB, { mode: 0o700 });
      copyFileSync(join(team.dir, 'secrets.json'), join(dirB, 'secrets.json'));
      const b = await serve(dirB, env);
      try {
        const half = SESSIONS / 2;
        const [ra, rb] = await Promise.all([
          runLoad({ ...cell, url: a.url, keys: team.keys.slice(0, half), concurrency: half }),
          runLoad({ ...cell, url: b.url, keys: team.keys.slice(half), concurrency: half }),
        ]);
        row(`PostgreSQL, two nodes (${half} + ${half} sessions)`, { calls: ra!.calls + rb!.calls, errors: ra!.errors + rb!.errors, callsPerSecond: ra!.callsPerSecond + rb!.callsPerSecond, p50: Math.max(ra!.p50, rb!.p50), p95: Math.max(ra!.p95, rb!.p95), p99: Math.max(ra!.p99, rb!.p99) });
      } finally {
        await b.stop();
      }
    } finally {
      await a.stop();
    }
  } finally {
    cluster?.stop();
  }
  say(`\`countersign serve\` answering whoami (tier 1: key, scope, budget and policy checks, an audit entry committed before each answer) over Streamable HTTP, ${SESSIONS} sessions with one call in flight each, ${o.durationMs / 1000} s per row after the generator's warm-up; not pinned (PostgreSQL needs a core too). PostgreSQL ${given ? 'as given' : '15, a throwaway cluster on this machine (fsync off)'}; two nodes are two server processes on one database, the sessions split evenly (p50 and p99: the slower node's).`);
  say();
  say('| store | calls/s | p50 ms | p99 ms |');
  say('|---|---|---|---|');
  for (const r of rows) say(r);
  say();
  say('What limits it: round trips, and one chain. A call takes its key budget in one statement under the bucket\'s row lock (the calls of one key queue on that row, whichever node they reach); its audit entry is two to three statements in its node\'s batch (savepoint, insert, release; the chain head is read once per batch), and each batch five more (BEGIN, the audit chain\'s advisory lock, key usage, NOTIFY, COMMIT), where SQLite does all of it in-process. Appends from every node are serialized by that advisory lock, held for the whole of a batch\'s round trips: a second node adds a second batcher that waits for the first, not a second chain, so on one database two nodes give availability, not throughput; on this 2-core box PostgreSQL, both nodes and the load generator also share the same cores.');
  say();
}
