// Start-up and `audit verify` on a large install (1M audit entries, 100k devices), against their targets (500 ms and
// 1.5 s). Cold start is measured from spawn to the `listening` line and to the first 200 from /healthz, with the CPU
// the process had used at `listening` (/proc: the figure other load on the machine does not move). Both forms of
// the command: out/main, compiled by the repo's build (what the desktop app runs) as the headline, and the
// TypeScript sources beside it. Node's compile cache is warm (every start but an install's first): a first start,
// cache empty, is given too.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, fmt, median, NODE_FLAGS, ROOT, spread, startNode } from './procs.ts';

type Say = (line?: string) => void;

export const COMPILED_CLI = join(ROOT, 'out/main/cli/main.js');

/** out/main as the repo's build makes it (tsc -p tsconfig.main.json), so the figure is of the current sources. */
export function buildMain(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.main.json')], { stdio: 'inherit' });
  if (!existsSync(COMPILED_CLI)) throw new Error(`the build made no ${COMPILED_CLI}`);
}

interface Start { listenMs: number; healthMs: number; cpuMs: number }

async function startOnce(entry: string, dir: string, cacheDir: string): Promise<Start> {
  const t0 = performance.now();
  const p = await startNode([entry, 'serve', '--data-dir', dir, '--port', '0'], { NODE_COMPILE_CACHE: cacheDir }, { pin: false });
  try {
    let healthMs = NaN;
    for (;;) {
      const r = await fetch(`${p.url}/healthz`).catch(() => undefined);
      if (r?.status === 200) {
        healthMs = performance.now() - t0;
        break;
      }
      if (performance.now() - t0 > 30_000) break;
    }
    return { listenMs: p.startMs, healthMs, cpuMs: p.startCpuMs };
  } finally {
    await p.stop();
  }
}

/** `countersign audit verify` from its command line: wall ms, CPU ms of the process (all threads), and its verdict. */
export function verifyCli(entry: string, dir: string, cacheDir: string): { ms: number; cpuMs: number; ok: boolean } {
  const t0 = performance.now();
  // /usr/bin/time reports the child's own CPU (user + system, every thread); without it, the CPU is not given.
  const timed = existsSync('/usr/bin/time');
  const argv = [...NODE_FLAGS, entry, 'audit', 'verify', '--data-dir', dir];
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, ...argv], { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: cacheDir } })
    : spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: cacheDir } });
  const ms = performance.now() - t0;
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  return { ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN, ok: r.status === 0 && /audit chain OK/.test(r.stdout) };
}

/**
 * The start-up and verify table for one install. `rounds` starts per form, interleaved; medians with the range.
 * The data directory is the caller's (already filled).
 */
export async function startupTable(say: Say, dir: string, label: string, rounds: number): Promise<void> {
  const forms = [
    { name: '`out/main` (compiled, the code the desktop app runs)', entry: COMPILED_CLI },
    { name: 'TypeScript sources (`npm run countersign`)', entry: CLI },
  ];
  const caches = forms.map(() => mkdtempSync(join(tmpdir(), 'cs-bench-ccache-')));
  try {
    const warm: Start[][] = forms.map(() => []);
    const first: Start[][] = forms.map(() => []);
    const verify: { ms: number; cpuMs: number; ok: boolean }[][] = forms.map(() => []);
    // One start fills each form's compile cache (the first start of an install).
    for (let f = 0; f < forms.length; f++) first[f]!.push(await startOnce(forms[f]!.entry, dir, caches[f]!));
    for (let r = 0; r < rounds; r++) {
      for (let f = 0; f < forms.length; f++) {
        warm[f]!.push(await startOnce(forms[f]!.entry, dir, caches[f]!));
        verify[f]!.push(verifyCli(forms[f]!.entry, dir, caches[f]!));
      }
    }
    say(`${label}. ${rounds} interleaved rounds; median (range). Cold start: a new process, \`serve\` on the data directory, until it prints \`listening\` and until /healthz first answers 200; CPU is the process's own (all threads) at \`listening\`. Node's compile cache warm, as for every start after an install's first; "first start" is with it empty. \`audit verify\`: the command line on the same directory, process start to exit, CPU of all its threads.`);
    say();
    say('| form | cold start to `listening`, wall ms | to first /healthz 200, wall ms | CPU ms at `listening` (target < 500) | first start (cache empty): wall ms (CPU ms) | `audit verify` wall ms (target < 1,500) | `audit verify` CPU ms |');
    say('|---|--:|--:|--:|--:|--:|--:|');
    for (let f = 0; f < forms.length; f++) {
      const w = warm[f]!;
      const v = verify[f]!;
      say(`| ${forms[f]!.name} | ${spread(w.map((s) => s.listenMs))} | ${spread(w.map((s) => s.healthMs))} | **${spread(w.map((s) => s.cpuMs))}** | ${fmt(first[f]![0]!.listenMs, 0)} (${fmt(first[f]![0]!.cpuMs, 0)}) | **${spread(v.map((x) => x.ms))}**${v.every((x) => x.ok) ? '' : ' (FAILED)'} | ${spread(v.map((x) => x.cpuMs))} |`);
    }
    const cpu = median(warm[0]!.map((s) => s.cpuMs));
    const vms = median(verify[0]!.map((x) => x.ms));
    say();
    say(`- Cold start of \`out/main\`: ${fmt(cpu, 0)} ms CPU to \`listening\` (target < 500: ${cpu < 500 ? 'met' : 'NOT met'}). \`audit verify\` from \`out/main\`: ${fmt(vms, 0)} ms (target < 1,500: ${vms < 1500 ? 'met' : 'NOT met'}); wall figures move with whatever else runs on the two cores.`);
    say();
  } finally {
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  }
}
