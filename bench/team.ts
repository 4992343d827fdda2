// The team-mode row: governed tier-1 throughput and p99 on PostgreSQL, one node and then two on one database, beside
// SQLite, in one run and on the same cell (Streamable HTTP, 8 calls in flight, the `echo` tool). The PostgreSQL is
// COUNTERSIGN_BENCH_DATABASE_URL (or the tests' COUNTERSIGN_TEST_DATABASE_URL), or a throwaway cluster started here.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { listTenants } from '../src-main/auth/keys.ts';
import { clusterUnavailable, createDatabase, startCluster, type Cluster } from '../test/helpers/pgCluster.ts';
import { runLoad, type LoadResult } from './load.ts';

type Start = (args: string[], env?: NodeJS.ProcessEnv) => Promise<{ child: import('node:child_process').ChildProcess; url: string }>;

async function install(storeUrl?: string): Promise<{ dir: string; key: string }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-bench-team-')), 'a');
  const { store } = await initDataDir(dir, undefined, { storeUrl });
  await seedDemoFleet(store);
  await store.close();
  const app = await openApp(dir, { log: () => {}, storeUrl });
  const { secret } = await app.keys.create({ name: 'bench', scopes: ['ai:read'], tenants: (await listTenants(app.store.sql)).map((t) => t.slug), readPerMinute: 10_000_000, writePerMinute: 10_000_000 });
  await app.close();
  return { dir, key: secret };
}

export async function teamMode(say: (line?: string) => void, o: { root: string; durationMs: number; start: Start; stop: (c: import('node:child_process').ChildProcess) => Promise<unknown>; f: (n: number, d?: number) => string }): Promise<void> {
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
  const { f, start, stop, durationMs } = o;
  const server = join(o.root, 'bench/governedServer.ts');
  const cell = { transport: 'http' as const, durationMs, tool: 'echo', args: { text: 'hi' } };
  const rows: string[] = [];
  const row = (what: string, r: LoadResult, p99: number) => rows.push(`| ${what} | ${f(r.callsPerSecond, 0)} | ${f(r.p50, 2)} | ${f(p99, 2)} |${r.errors ? ` errors ${r.errors}` : ''}`);
  try {
    if (!given) cluster = await startCluster();
    const url = await createDatabase(given ?? cluster!.url, 'bench');
    const lite = await install();
    const s = await start([server, lite.dir], { COUNTERSIGN_HTTP_RPS: '100000' });
    try {
      const r = await runLoad({ ...cell, url: s.url, key: lite.key, concurrency: 8 });
      row('SQLite, one node', r, r.p99);
    } finally {
      await stop(s.child);
    }
    const team = await install(url);
    const env = { COUNTERSIGN_HTTP_RPS: '100000', COUNTERSIGN_DATABASE_URL: url };
    const a = await start([server, team.dir], env);
    try {
      const r = await runLoad({ ...cell, url: a.url, key: team.key, concurrency: 8 });
      row('PostgreSQL, one node', r, r.p99);
      // Node B: the same install (a copy of the secrets), its own process and connections.
      const dirB = join(team.dir, '..', 'b');
      mkdirSync(dirB, { mode: 0o700 });
      copyFileSync(join(team.dir, 'secrets.json'), join(dirB, 'secrets.json'));
      const b = await start([server, dirB], env);
      try {
        const [ra, rb] = await Promise.all([a, b].map((n) => runLoad({ ...cell, url: n.url, key: team.key, concurrency: 4 })));
        const both: LoadResult = { calls: ra!.calls + rb!.calls, errors: ra!.errors + rb!.errors, callsPerSecond: ra!.callsPerSecond + rb!.callsPerSecond, p50: Math.max(ra!.p50, rb!.p50), p95: Math.max(ra!.p95, rb!.p95), p99: Math.max(ra!.p99, rb!.p99) };
        row('PostgreSQL, two nodes (4 + 4 in flight)', both, both.p99);
      } finally {
        await stop(b.child);
      }
    } finally {
      await stop(a.child);
    }
  } finally {
    cluster?.stop();
  }
  say(`Streamable HTTP, 8 calls in flight in all, \`echo\` (tier 1, an audit entry committed before each answer), ${durationMs / 1000} s per row after a 0.3 s warm-up. PostgreSQL ${given ? 'as given' : '15, a throwaway cluster on this machine (fsync off)'}; two nodes are two server processes on one database, the load split evenly (p50 and p99: the slower node's).`);
  say();
  say('| store | calls/s | p50 ms | p99 ms |');
  say('|---|---|---|---|');
  for (const r of rows) say(r);
  say();
  say('What limits it: round trips, and one chain. A call takes its key budget in one statement under the bucket\'s row lock (the calls of one key queue on that row, whichever node they reach); its audit entry is two to three statements in its node\'s batch (savepoint, insert, release; the chain head is read once per batch), and each batch five more (BEGIN, the audit chain\'s advisory lock, key usage, NOTIFY, COMMIT), where SQLite does all of it in-process. Appends from every node are serialized by that advisory lock, held for the whole of a batch\'s round trips: a second node adds a second batcher that waits for the first, not a second chain, so on one database two nodes give availability, not throughput; on this 2-core box PostgreSQL, both nodes and the load generator also share the same cores.');
  say();
}
