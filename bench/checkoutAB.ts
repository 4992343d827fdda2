// Governed per-call cost of two checkouts of Countersign in one run: `countersign serve` of each answers whoami at 8
// sessions, started in turn with the order rotating each round, server pinned to core 0 and this load generator to core 1.
// Each checkout's own CLI makes its data directory, so an older one never meets a newer schema.
// Usage: node bench/checkoutAB.ts BASE_DIR CANDIDATE_DIR [rounds=3] [http,sse]   (DUR=ms per run, TOOL=another tier-1 tool)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure } from './overhead.ts';
import { startNode, pinSelf, LOAD_CORE, median, fmt } from './procs.ts';
const [baseRepo, candRepo] = [process.argv[2], process.argv[3]];
if (!baseRepo || !candRepo) {
  console.error('usage: node bench/checkoutAB.ts BASE_DIR CANDIDATE_DIR [rounds] [http,sse]');
  process.exit(2);
}
const rounds = Number(process.argv[4] ?? 3);
const transports = (process.argv[5] ?? 'http,sse').split(',') as ('http' | 'sse')[];
const data: Record<string, { dir: string; keys: string[] }> = {};
// Each checkout's own CLI makes its directory: demo fleet, 8 keys on every demo tenant with budgets no run reaches.
for (const repo of [baseRepo, candRepo]) {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-ab-')), 'data');
  const cli = (...a: string[]) => execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(repo, 'src-main/cli/main.ts'), ...a], { encoding: 'utf8', env: { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: 'ab passphrase ab passphrase' } });
  cli('init', '--data-dir', dir, '--demo');
  const keys: string[] = [];
  for (let i = 0; i < 8; i++) keys.push(cli('keys', 'create', '--data-dir', dir, '--name', `ab-${i}`, '--scopes', 'ai:read,ai:write', '--tenants', 'acme-dental,globex-logistics,northwind-legal', '--read-per-minute', '10000000', '--write-per-minute', '10000000').trim().split('\n').pop()!);
  data[repo] = { dir, keys };
}
const res: Record<string, number[]> = {};
pinSelf(LOAD_CORE);
for (let r = 0; r < rounds; r++) for (const t of transports) for (const [name, repo] of (r % 2 ? [['cand', candRepo], ['base', baseRepo]] : [['base', baseRepo], ['cand', candRepo]])) {
  const { dir, keys } = data[repo!]!;
  const s = await startNode([join(repo!, 'src-main/cli/main.ts'), 'serve', '--data-dir', dir, '--port', '0'], { COUNTERSIGN_HTTP_RPS: '100000' });
  const m = await measure(s, { url: s.url, keys, transport: t, concurrency: 8, durationMs: Number(process.env.DUR ?? 3000), tool: process.env.TOOL ?? 'whoami', args: {} });
  await s.stop();
  (res[`${t} ${name} cpu`] ??= []).push(m.cpu); (res[`${t} ${name} cps`] ??= []).push(m.callsPerSecond); (res[`${t} ${name} p99`] ??= []).push(m.p99);
  if (m.errors) console.log('errors', name, t, m.errors);
}
pinSelf('all');
for (const { dir } of Object.values(data)) rmSync(join(dir, '..'), { recursive: true, force: true });
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(16), fmt(median(v), k.endsWith('p99') ? 2 : 0), v.map((x) => fmt(x, k.endsWith('p99') ? 2 : 0)).join(' '));
