// Countersign as real child processes: the CLI (init, keys create, audit verify) and `serve` on port 0, for tests that
// kill the server, measure its memory, or need it in another process than the test. Every wait is bounded by a budget
// scaled to the machine (wait.ts).
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { budget } from './wait.ts';

export const CLI_MAIN = join(import.meta.dirname, '../../src-main/cli/main.ts');
const NODE_ARGS = ['--disable-warning=ExperimentalWarning', CLI_MAIN];

export function cliEnv(passphrase: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: passphrase, ...extra };
}

/** Runs one CLI command to completion (budget(30 s) at most). */
export function cli(env: NodeJS.ProcessEnv, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...NODE_ARGS, ...args], { env, encoding: 'utf8', timeout: budget(30_000) });
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export const demoDirIn = (prefix: string) => join(mkdtempSync(join(tmpdir(), prefix)), 'data');
export const initArgs = (dir: string) => ['init', '--data-dir', dir, '--demo'];
export function initialised(r: CliRun, dir: string): string {
  if (r.status !== 0) throw new Error(`init --demo failed (${r.status}): ${r.stderr}`);
  return dir;
}

/** `init --demo` in a fresh temporary directory; returns the data directory. */
export function initDemoDir(env: NodeJS.ProcessEnv, prefix = 'cs-fault-'): string {
  const dir = demoDirIn(prefix);
  return initialised(cli(env, ...initArgs(dir)), dir);
}

export interface CliKey {
  id: string;
  name: string;
  secret: string;
}

export type KeyOptions = { name: string; scopes?: string; tenants?: string; role?: string; readPerMinute?: number; writePerMinute?: number };

export function keyArgs(dir: string, o: KeyOptions): string[] {
  const args = ['keys', 'create', '--data-dir', dir, '--name', o.name, '--scopes', o.scopes ?? 'ai:read,ai:write,ai:execute',
    '--tenants', o.tenants ?? 'acme-dental,globex-logistics,northwind-legal', '--role', o.role ?? 'admin'];
  if (o.readPerMinute) args.push('--read-per-minute', String(o.readPerMinute));
  if (o.writePerMinute) args.push('--write-per-minute', String(o.writePerMinute));
  return args;
}

/** `keys create`: the secret is the last stdout line, the id is in the stderr summary. */
export function createdKey(r: CliRun, name: string): CliKey {
  if (r.status !== 0) throw new Error(`keys create failed (${r.status}): ${r.stderr}`);
  const id = /created key ([0-9a-f-]{36})/.exec(r.stderr)?.[1];
  const secret = r.stdout.trim().split('\n').at(-1);
  if (!id || !secret) throw new Error(`keys create: no id or key in ${r.stdout} / ${r.stderr}`);
  return { id, name, secret };
}

export function createKey(env: NodeJS.ProcessEnv, dir: string, o: KeyOptions): CliKey {
  return createdKey(cli(env, ...keyArgs(dir, o)), o.name);
}

export const verified = (r: CliRun) => ({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() });

/** `audit verify --data-dir D`: exit code and its one line. */
export function auditVerify(env: NodeJS.ProcessEnv, dir: string): { status: number | null; out: string } {
  return verified(cli(env, 'audit', 'verify', '--data-dir', dir));
}

export interface ChildServer {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
  alive(): boolean;
  /** Resident set size in bytes from /proc/PID/status (undefined once the process is gone). */
  rss(): number | undefined;
  /** SIGKILL, then waits for the exit. */
  kill9(): Promise<number | string>;
  /** SIGTERM (graceful), then waits for the exit, up to budget(baseMs) (then SIGKILL). */
  stop(baseMs?: number): Promise<number | string>;
}

/** Starts `serve --data-dir D --port 0` and waits (up to budget(20 s)) for its `listening URL` line. */
export async function startServe(env: NodeJS.ProcessEnv, dir: string, extraArgs: string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve', '--data-dir', dir, '--port', '0', ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const ms = budget(20_000);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve printed no listening line in ${ms} ms; stderr: ${err}`));
    }, ms);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^listening (http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening; stderr: ${err}`));
    });
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const waitExit = (baseMs: number) => Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), budget(baseMs)).unref())]);
  return {
    child,
    pid: child.pid!,
    url,
    port: Number(new URL(url).port),
    stderr: () => err,
    exited,
    alive,
    rss() {
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      const r = await waitExit(10_000);
      if (r === 'timeout') throw new Error(`server ${child.pid} did not exit ${budget(10_000)} ms after SIGKILL`);
      return r;
    },
    async stop(baseMs = 10_000) {
      if (alive()) child.kill('SIGTERM');
      const r = await waitExit(baseMs);
      if (r !== 'timeout') return r;
      child.kill('SIGKILL');
      await exited;
      return 'timeout';
    },
  };
}
