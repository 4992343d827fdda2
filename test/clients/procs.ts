// Child processes for the real-client tests: the client binaries of node_modules, bounded in time, each in its own
// process group so that a kill reaches anything it started; temporary HOMEs; cleanup of exactly what we started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../helpers/server.ts';
import { budget } from '../helpers/wait.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);

/** JS bins run under the Node that runs the tests (24: conformance, Inspector and @ai-sdk/mcp need ≥ 22); claude is native. */
export const CLIENTS = {
  // Two pinned suites, by path (both packages name their bin `conformance`): 0.1.16 for the session era, and
  // 0.2.0-alpha.12 (installed under the alias conformance-2026) for protocol 2026-07-28.
  conformance: [process.execPath, join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js')],
  conformance2026: [process.execPath, join(ROOT, 'node_modules/conformance-2026/dist/index.js')],
  inspector: [process.execPath, bin('mcp-inspector'), '--cli'],
  mcpRemote: [process.execPath, bin('mcp-remote')],
  claude: [bin('claude')],
} as const;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Kills a child and its process group (it was spawned detached, so -pid is exactly its group). */
export function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

/** Starts a long-lived child (the caller drives its stdio); it is killed by cleanup() if still running. */
export function start(cmd: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string }): ChildProcess {
  const child = spawn(cmd[0]!, cmd.slice(1), { env: opts.env, cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Runs a command to completion, or kills it after budget(timeoutMs) (then timedOut is true). */
export function run(cmd: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; input?: string }): Promise<RunResult> {
  const started = performance.now();
  const child = start(cmd, opts);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => {});
  child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
  }, budget(opts.timeoutMs));
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started), timedOut });
    });
  });
}

/** A fresh directory under the OS temp dir, removed by cleanup(). */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/**
 * A small environment for a client process: PATH with the test's Node first, a temporary HOME (the clients write
 * state there: ~/.claude.json, ~/.mcp-auth, ~/.mcp-inspector), and every switch that keeps them offline and quiet.
 */
export function clientEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: [dirname(process.execPath), join(ROOT, 'node_modules/.bin'), process.env.PATH ?? '/usr/bin:/bin'].join(delimiter),
    HOME: home,
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    CI: '1',
    // Inspector: no OS keychain, no browser.
    MCP_INSPECTOR_SECRET_STORE: 'memory',
    MCP_AUTO_OPEN_ENABLED: 'false',
    // Claude Code: no updater, no telemetry, no other non-essential traffic.
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...extra,
  };
}

/** Kills every child still running and removes every temp dir this module made. */
export function cleanup(): void {
  for (const c of live) killTree(c);
  live.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** Closes a test server and removes its data directory (startTestServer makes one per server). */
/** The tool names the SDK client lists for a key on Streamable HTTP: what every other client must list too. */
export async function sdkToolNames(t: TestServer, given?: string): Promise<string[]> {
  const key = given ?? (await t.key());
  return (await (await t.connect('http', key)).listTools()).tools.map((x) => x.name);
}

export async function stopServer(t: TestServer | undefined): Promise<void> {
  if (!t) return;
  await t.close();
  rmSync(t.dir, { recursive: true, force: true });
}

/** Measured timings, printed only when COUNTERSIGN_CLIENT_TIMINGS is set (for reports; CI stays quiet). */
export function note(label: string, value: unknown): void {
  if (process.env.COUNTERSIGN_CLIENT_TIMINGS) console.log(`[timing] ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/** The approval view a client got for a tier-3 call: what the gate recorded on the call's pending audit entry. */
export async function flowOf(t: TestServer, approvalId: string): Promise<{ view: string | undefined; client: string | null; sessionId: string | null }> {
  const row = await t.app.store.sql.get<{ detail_json: string | null; client: string | null; session_id: string | null }>(
    "SELECT detail_json, client, session_id FROM audit_log WHERE approval_id = ? AND event = 'tool_call' AND decision = 'pending' ORDER BY seq LIMIT 1", [approvalId]);
  if (!row) throw new Error(`no pending entry for approval ${approvalId}`);
  return { view: row.detail_json ? (JSON.parse(row.detail_json) as { view?: string }).view : undefined, client: row.client, sessionId: row.session_id };
}
