// Real processes for the agent tests: `countersign serve` and `countersign agent run` as children, the SDK client, the console API.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PASSPHRASE } from '../helpers/server.ts';
import { consoleLogin, structured, type ConsoleClient } from '../helpers/console.ts';
import { budget, until, WaitTimeout } from '../helpers/wait.ts';
import { openInstallSql, type InstallSql } from '../helpers/installSql.ts';
import { storeUrlFor, type StoreKind } from '../helpers/stores.ts';
import type { CliRun } from '../helpers/childServer.ts';
import { cliHere } from '../helpers/cliHere.ts';

export const MAIN = join(import.meta.dirname, '../../src-main/cli/main.ts');
const NODE_ARGS = ['--disable-warning=ExperimentalWarning', MAIN];
const BASE_ENV = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: PASSPHRASE };

/**
 * Harmless stand-ins for the OS command table: the agent runs them through the same code path as the real ones.
 * No patch scan: `apt list --upgradable` on every (re)connect was the largest CPU cost of the agent suites; the suites
 * that check patches against apt use SCANNING_CONFIG.
 */
export const SAFE_CONFIG = {
  actions: { reboot: ['echo', 'would reboot'], shutdown: ['echo', 'would shut down'], lock: ['echo', 'would lock'], isolate: ['echo', 'would isolate, keeping {consoleHost}'] },
  patchInstall: ['echo', 'would install', '{packages}'],
  maxBackoffSeconds: 1,
  patchScan: false,
};
export const SCANNING_CONFIG = { ...SAFE_CONFIG, patchScan: true };

export function cs(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [...NODE_ARGS, ...args], { env: { ...BASE_ENV, ...env }, encoding: 'utf8', timeout: budget(60_000) });
}

/** A CLI command run in this process (the CLI's own entry point, without a Node start-up): exit code and output. */
export function csHere(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return cliHere({ ...BASE_ENV, ...env }, ...args);
}

/** `cs` without blocking the test's event loop (for tests that serve something in-process, such as a TCP proxy). */
export function csAsync(args: string[], env: NodeJS.ProcessEnv = {}, baseMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { env: { ...BASE_ENV, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), budget(baseMs));
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export { until };

export const lastLine = (s: string) => s.trim().split('\n').at(-1)!;


/** Collects a child's output and resolves when a line matches (or fails naming the pattern after budget(baseMs)). */
class Output {
  text = '';
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];
  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (d) => {
      this.text += String(d);
      this.waiters = this.waiters.filter((w) => {
        const m = this.text.slice(w.from).match(w.re);
        if (m) w.resolve(m);
        return !m;
      });
    });
  }
  waitFor(re: RegExp, baseMs = 20_000, from = 0): Promise<RegExpMatchArray> {
    const m = this.text.slice(from).match(re);
    if (m) return Promise.resolve(m);
    const ms = budget(baseMs);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new WaitTimeout(`timed out after ${ms} ms waiting for ${re} in:\n${this.text.slice(-2000)}`)), ms);
      this.waiters.push({ re, from, resolve: (x) => (clearTimeout(t), resolve(x)) });
    });
  }
}

const exited = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));

export class ConsoleProc {
  readonly root = mkdtempSync(join(tmpdir(), 'cs-agent-'));
  readonly dir = join(this.root, 'data');
  url = '';
  agentUrl = '';
  key = '';
  private child: ChildProcess | undefined;
  stderr: Output | undefined;
  private clients: Client[] = [];
  private db_: Database.Database | undefined;
  private sql_: Promise<InstallSql> | undefined;
  /** Team mode: the PostgreSQL database this install lives in (undefined: the SQLite file in its data directory). */
  storeUrl: string | undefined;

  /** Where every CLI command finds this install: `--data-dir D`, and `--store URL` in team mode. */
  get at(): string[] {
    return ['--data-dir', this.dir, ...(this.storeUrl ? ['--store', this.storeUrl] : [])];
  }

  /** A console on a new install of `store` (SQLite by default; PostgreSQL: a new database on the run's cluster). */
  static async start(env: NodeJS.ProcessEnv = {}, store: StoreKind = 'sqlite'): Promise<ConsoleProc> {
    const c = new ConsoleProc();
    c.storeUrl = await storeUrlFor(store, 'agent');
    // The setup runs the CLI's own commands in this process: these suites are about serve and its agents, which run as
    // processes below; test/cli covers the CLI as a process. Two Node start-ups less per console.
    const init = await csHere(['init', ...c.at, '--demo']);
    if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);
    const key = await csHere(['keys', 'create', ...c.at, '--name', 'agent-tests', '--scopes', 'ai:read,ai:write,ai:execute', '--tenants', 'acme-dental', '--role', 'admin']);
    if (key.status !== 0) throw new Error(`keys create failed: ${key.stderr}`);
    c.key = lastLine(key.stdout);
    await c.serve(env);
    return c;
  }

  private env: NodeJS.ProcessEnv = {};

  async serve(env: NodeJS.ProcessEnv = {}, agentPort = 0): Promise<void> {
    this.env = env;
    const child = spawn(process.execPath, [...NODE_ARGS, 'serve', ...this.at, '--port', '0', '--agent-port', String(agentPort)], { env: { ...BASE_ENV, ...env } });
    this.child = child;
    const out = new Output(child.stdout!);
    const err = (this.stderr = new Output(child.stderr!));
    // A serve that exits (or hangs) before it listens says why: its stderr, not only the line that never came.
    const died = exited(child).then(() => Promise.reject(new Error(`serve exited (${child.exitCode ?? child.signalCode}) before it listened; stderr:\n${err.text.slice(-3000)}`)));
    died.catch(() => {});
    const started = async <T>(p: Promise<T>) => {
      try {
        return await Promise.race([p, died]);
      } catch (e) {
        if (e instanceof WaitTimeout) e.message += `\nserve's stderr:\n${err.text.slice(-3000)}`;
        throw e;
      }
    };
    this.url = (await started(out.waitFor(/^listening (http:\/\/\S+)\n/)))[1]!;
    this.agentUrl = (await started(err.waitFor(/^agents (https:\/\/\S+)$/m)))[1]!;
    this.stdoutText = () => out.text;
  }

  stdoutText = () => '';

  /**
   * Stops serve (SIGTERM, or SIGKILL for a crash) and starts it again on the same agent port (agents keep their URL);
   * `whileDown` runs in between (e.g. waits until scripts have ended while nobody listens).
   */
  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', whileDown?: () => Promise<unknown>): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => {})));
    if (this.child) {
      this.child.kill(signal);
      await exited(this.child);
    }
    await whileDown?.();
    await this.serve(this.env, Number(new URL(this.agentUrl).port));
  }

  /** The pid of the running serve process (for /proc readings such as RSS). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the serve process has not exited. */
  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A new enrollment token, made by the CLI's own command in this process (the console side; agents stay processes). */
  async token(tenant = 'acme-dental', extra: string[] = []): Promise<string> {
    const r = await csHere(['enroll-tokens', 'create', ...this.at, '--tenant', tenant, ...extra]);
    if (r.status !== 0) throw new Error(r.stderr);
    return lastLine(r.stdout);
  }

  async mcp(): Promise<Client> {
    const client = new Client({ name: 'agent-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', this.url), { requestInit: { headers: { 'X-API-Key': this.key } } }));
    this.clients.push(client);
    return client;
  }

  technician(): Promise<ConsoleClient> {
    return consoleLogin(this.url, PASSPHRASE);
  }

  /** Direct access to the SQLite file, as an attacker with write access to the database would have. */
  get db(): Database.Database {
    if (this.storeUrl) throw new Error('con.db is the SQLite file; this console runs on PostgreSQL (read through con.sql())');
    if (!this.db_) {
      this.db_ = new Database(join(this.dir, 'countersign.db'));
      this.db_.pragma('busy_timeout = 5000');
    }
    return this.db_;
  }

  /**
   * Reads of this install's database on either store, through the store's own driver seam (one connection, opened on
   * first use, read-only: the suites look, serve writes).
   */
  sql(): Promise<InstallSql> {
    // PostgreSQL: a read-only session. SQLite: a plain handle, as con.db always was; a read-only one can neither recover
    // nor checkpoint the WAL, and this handle stays open across serve's kill -9 and restart.
    this.sql_ ??= openInstallSql(this.dir, this.storeUrl, { readOnly: !!this.storeUrl });
    return this.sql_;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => {})));
    this.db_?.close();
    this.db_ = undefined;
    const sql = this.sql_;
    this.sql_ = undefined;
    await sql?.then((s) => s.close(), () => {});
    if (this.child) {
      this.child.kill('SIGTERM');
      await exited(this.child);
    }
  }
}

export class AgentProc {
  readonly stateDir: string;
  readonly configFile: string;
  child: ChildProcess | undefined;
  out: Output | undefined;
  deviceId = '';
  readonly name: string;

  constructor(root: string, name: string, config: object = SAFE_CONFIG) {
    this.name = name;
    this.stateDir = join(root, `agent-${name}`);
    this.configFile = join(root, `agent-${name}.json`);
    writeFileSync(this.configFile, JSON.stringify(config));
  }

  enroll(url: string, token: string) {
    const r = cs(['agent', 'enroll', '--url', url, '--token', token, '--state-dir', this.stateDir, '--hostname', this.name]);
    const m = /enrolled device (\S+)/.exec(r.stdout);
    if (m) this.deviceId = m[1]!;
    return r;
  }

  /** `enroll` without blocking the test's event loop. */
  async enrollAsync(url: string, token: string) {
    const r = await csAsync(['agent', 'enroll', '--url', url, '--token', token, '--state-dir', this.stateDir, '--hostname', this.name]);
    const m = /enrolled device (\S+)/.exec(r.stdout);
    if (m) this.deviceId = m[1]!;
    return r;
  }

  /** Starts `agent run` without waiting. */
  launch(): Output {
    const child = spawn(process.execPath, [...NODE_ARGS, 'agent', 'run', '--state-dir', this.stateDir, '--config', this.configFile], { env: BASE_ENV });
    this.child = child;
    this.out = new Output(child.stderr!);
    child.stdout!.resume();
    return this.out;
  }

  /** Starts `agent run` and waits until the console has welcomed it. */
  async start(): Promise<void> {
    await this.launch().waitFor(/\[agent\] connected /);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.child) return;
    this.child.kill(signal);
    await exited(this.child);
    this.child = undefined;
  }
}

export async function call<T = any>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
  return structured<T>(r);
}

/** A tier-3 call, approved by the technician through the console API; returns the approval id. */
export async function approved(client: Client, tech: ConsoleClient, name: string, args: Record<string, unknown>): Promise<string> {
  const pending = await call<{ status: string; approvalId: string }>(client, name, args);
  if (pending.status !== 'pending_approval') throw new Error(`expected pending_approval, got ${JSON.stringify(pending)}`);
  const r = await tech.post(`/approvals/${pending.approvalId}/approve`);
  if (r.status !== 200) throw new Error(`approve failed: ${r.status} ${JSON.stringify(r.body)}`);
  return pending.approvalId;
}

export async function executionOf(client: Client, approvalId: string): Promise<string> {
  const s = await call<{ result: { executionId: string } }>(client, 'get_approval_status', { approvalId });
  return s.result.executionId;
}

export function finished(client: Client, executionId: string, baseMs = 20_000) {
  return until(`execution ${executionId} to finish`, async () => {
    const r = await call<{ finished: boolean; commands: any[]; counts: Record<string, number> }>(client, 'get_script_results', { executionId });
    return r.finished && r;
  }, baseMs, 200);
}

/** A console with two agents enrolled to acme-dental and running, an MCP client, and a logged-in technician. */
export interface TwoAgents {
  con: ConsoleProc;
  a: AgentProc;
  b: AgentProc;
  client: Client;
  tech: ConsoleClient;
}

export async function startTwoAgents(names: [string, string], configs: [object, object] = [SAFE_CONFIG, SAFE_CONFIG]): Promise<TwoAgents> {
  const con = await ConsoleProc.start({ COUNTERSIGN_AGENT_HEARTBEAT_SECONDS: '1', COUNTERSIGN_AGENT_EXPIRY_SWEEP_SECONDS: '1' });
  const token = await con.token('acme-dental', ['--uses', '2']);
  const a = new AgentProc(con.root, names[0], configs[0]);
  const b = new AgentProc(con.root, names[1], configs[1]);
  for (const agent of [a, b]) {
    const r = agent.enroll(con.agentUrl, token);
    if (r.status !== 0) throw new Error(`enroll ${agent === a ? names[0] : names[1]} failed: ${r.stderr}`);
  }
  await Promise.all([a.start(), b.start()]);
  return { con, a, b, client: await con.mcp(), tech: await con.technician() };
}

export async function stopTwoAgents(t: Partial<TwoAgents>): Promise<void> {
  await Promise.all([t.a?.stop(), t.b?.stop()]);
  await t.con?.stop();
}
