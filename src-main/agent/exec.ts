// Child processes for the agent: own process group (a timeout kills the whole tree), capped output, exact status.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { OUTPUT_KEEP } from './protocol.ts';

export interface RunSpec {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** Told the child's pid right after it starts (the journal keeps it, to stop an orphan after an agent crash). */
  onSpawn?: (pid: number) => void;
  signal?: AbortSignal;
  /** Bytes kept per stream (default OUTPUT_KEEP). */
  maxBytes?: number;
}

export interface RunOutcome {
  status: 'completed' | 'failed' | 'timed_out';
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const KILL_GRACE_MS = 2_000;

class Capped {
  private chunks: Buffer[] = [];
  private size = 0;
  total = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  add(b: Buffer): void {
    this.total += b.length;
    if (this.size >= this.max) return;
    const part = b.subarray(0, this.max - this.size);
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.total > this.size ? `${s}\n[… ${this.total - this.size} more bytes not kept]` : s;
  }
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, sig);
  } catch {
    // already gone
  }
}

export function runProcess(spec: RunSpec): Promise<RunOutcome> {
  const started = performance.now();
  const [cmd, ...args] = spec.argv;
  return new Promise((resolve) => {
    const out = new Capped(spec.maxBytes ?? OUTPUT_KEEP);
    const err = new Capped(spec.maxBytes ?? OUTPUT_KEEP);
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const child = spawn(cmd!, args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32', windowsHide: true });
    const finish = (o: Omit<RunOutcome, 'durationMs' | 'stdout' | 'stderr'>, extraErr = '') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(hardKill);
      spec.signal?.removeEventListener('abort', onAbort);
      resolve({ ...o, stdout: out.text(), stderr: err.text() + extraErr, durationMs: performance.now() - started });
    };
    let hardKill: NodeJS.Timeout | undefined;
    const stop = () => {
      if (child.pid === undefined) return;
      killGroup(child.pid, 'SIGTERM');
      hardKill = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, spec.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    spec.signal?.addEventListener('abort', onAbort);
    child.stdout.on('data', (b: Buffer) => out.add(b));
    child.stderr.on('data', (b: Buffer) => err.add(b));
    child.once('spawn', () => child.pid !== undefined && spec.onSpawn?.(child.pid));
    child.once('error', (e) => finish({ status: 'failed', exitCode: 127 }, `cannot start ${cmd}: ${e.message}\n`));
    child.once('exit', (code, signal) => {
      // Give the pipes a moment to drain; a grandchild holding them open must not hold the result.
      const done = () => {
        if (timedOut) return finish({ status: 'timed_out', exitCode: null }, `\n[killed after the ${Math.round(spec.timeoutMs / 1000)} s time limit]\n`);
        if (aborted) return finish({ status: 'failed', exitCode: null }, '\n[stopped: the agent was shutting down]\n');
        if (signal) return finish({ status: 'failed', exitCode: null }, `\n[ended by signal ${signal}]\n`);
        finish({ status: code === 0 ? 'completed' : 'failed', exitCode: code });
      };
      const drain = setTimeout(done, 1_000);
      child.once('close', () => {
        clearTimeout(drain);
        done();
      });
    });
  });
}

/**
 * Stops what a killed agent left running for a command: every process whose environment carries the command's id
 * (Linux: /proc), with its process group. Found by scanning, not by the journal's pid: the agent may have died
 * between starting the script and recording its pid; the pid is only the first place to look.
 */
export function killOrphan(pid: number | undefined, commandId: string): boolean {
  if (process.platform !== 'linux') return false;
  const mark = `COUNTERSIGN_COMMAND_ID=${commandId}`;
  const carries = (p: number) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(mark);
    } catch {
      return false;
    }
  };
  const found = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => p !== process.pid && p !== pid && carries(p));
  const pids = pid !== undefined && carries(pid) ? [pid, ...found] : found;
  for (const p of pids) {
    killGroup(p, 'SIGKILL');
    // A process that left the command's group (setsid) is stopped on its own.
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone with its group
    }
  }
  return pids.length > 0;
}

/** Runs a short query command; null when it cannot start (not installed). */
export async function capture(argv: string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<RunOutcome | null> {
  const r = await runProcess({ argv, timeoutMs, maxBytes: 32 * 1_048_576, env: env ?? { ...process.env, LANG: 'C', LC_ALL: 'C' } });
  return r.exitCode === 127 && r.stderr.startsWith('cannot start') ? null : r;
}
