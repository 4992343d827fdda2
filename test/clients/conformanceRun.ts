// Runs a pinned conformance suite against a server through the header proxy. Evidence is the per-check checks.json
// each scenario writes, not only the exit code.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeaderProxy } from './headerProxy.ts';
import { clientEnv, run, tempDir, type RunResult } from './procs.ts';

export interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
  details?: any;
}

export async function runConformance(cmd: readonly string[], proxy: HeaderProxy, args: string[], timeoutMs = 90_000): Promise<{ run: RunResult; checks: Record<string, Check[]> }> {
  const home = tempDir('cs-conf-home-');
  const out = tempDir('cs-conf-out-');
  const r = await run([...cmd, 'server', '--url', `${proxy.url}/api/v1/mcp`, '-o', out, ...args], { env: clientEnv(home), timeoutMs });
  // One folder per scenario: server-<scenario>-<timestamp>/checks.json
  const checks: Record<string, Check[]> = {};
  for (const d of readdirSync(out)) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(d);
    const file = join(out, d, 'checks.json');
    if (m && existsSync(file)) checks[m[1]!] = JSON.parse(readFileSync(file, 'utf8')) as Check[];
  }
  return { run: r, checks };
}

export const statuses = (checks: Check[]) => checks.map((c) => `${c.id}:${c.status}`);

export const count = (all: Record<string, Check[]>) => {
  const n: Record<string, number> = {};
  for (const c of Object.values(all).flat()) n[c.status] = (n[c.status] ?? 0) + 1;
  return n;
};

/** Every check that is not a pass, as `scenario/check:STATUS message`. */
export const notPassed = (all: Record<string, Check[]>, ok: readonly Check['status'][] = ['SUCCESS']) =>
  Object.entries(all).flatMap(([s, cs]) => cs.filter((c) => !ok.includes(c.status)).map((c) => `${s}/${c.id}:${c.status} ${c.errorMessage ?? ''}`.trim()));
