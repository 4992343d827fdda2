// Child processes for the benchmarks: servers started from their own command line, pinned to a core where the
// machine has two or more (the load generator takes another), with their CPU time read from /proc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const NODE_FLAGS = ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=8'];
export const CLI = join(ROOT, 'src-main/cli/main.ts');

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Server on core 0, load generator (this process) on core 1: each measured on its own core, as the figures assume. */
export const PINNED = hasTaskset && availableParallelism() >= 2 && process.env.BENCH_PIN !== '0';
export const SERVER_CORE = 0;
export const LOAD_CORE = 1;

/** Moves this process (the load generator) to one core, or back to all of them. */
export function pinSelf(core: number | 'all'): void {
  if (!PINNED) return;
  execFileSync('taskset', ['-a', '-cp', core === 'all' ? `0-${availableParallelism() - 1}` : String(core), String(process.pid)], { stdio: 'ignore' });
}

export interface Proc {
  child: ChildProcess;
  url: string;
  /** From spawn to the "listening" line, ms. */
  startMs: number;
  /** The CPU time the process had used when it said "listening", ms: start-up's own cost, whatever else runs. */
  startCpuMs: number;
  stop(): Promise<void>;
}

/** Starts `node <args>` and resolves when it prints `listening <url>`. */
export function startNode(args: string[], env: NodeJS.ProcessEnv = {}, opts: { pin?: boolean } = {}): Promise<Proc> {
  const t0 = performance.now();
  const argv = [...NODE_FLAGS, ...args];
  const pin = (opts.pin ?? true) && PINNED;
  const child = pin
    ? spawn('taskset', ['-c', String(SERVER_CORE), process.execPath, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const m = /listening (http:\/\/\S+)/.exec(buf);
      if (m) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        const startMs = performance.now() - t0;
        resolve({ child, url: m[1]!, startMs, startCpuMs: (cpuMicros(child.pid!) ?? NaN) / 1000, stop: () => stop(child) });
      }
    });
    child.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}: ${err}`)));
  });
}

export function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    c.once('exit', () => r());
    c.kill('SIGTERM');
  });
}

/** CPU time (user + system) a process has used, in µs (Linux /proc; undefined elsewhere). */
export function cpuMicros(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const tick = 1e6 / CLOCK_TICKS;
    return (Number(f[11]) + Number(f[12])) * tick;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export const rssMb = (pid: number) => (existsSync(`/proc/${pid}/status`) ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024 : NaN);

/** Runs the CLI to completion (init, keys create), with the bench's passphrase. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...args], {
    encoding: 'utf8', env: { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: 'bench-passphrase-0123', ...env },
  });
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
export const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
/** "median (min–max)" over rounds. */
export const spread = (xs: number[], d = 0) => (xs.length > 1 ? `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})` : fmt(xs[0] ?? NaN, d));
