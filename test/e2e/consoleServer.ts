// The `countersign serve` each Playwright worker runs its specs against: a demo data directory with a passphrase and an
// MCP key, the server on port 0, and a console session made over HTTP (the storage state every spec of the worker reuses).
// One per worker, so two workers never share an approval queue.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { budget } from '../helpers/wait.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE_ARGS = ['--disable-warning=ExperimentalWarning', join(ROOT, 'src-main/cli/main.ts')];
export const PASSPHRASE = 'e2e passphrase for the console';

export interface ConsoleServer { url: string; agentUrl: string; key: string; dataDir: string; passphrase: string; state: string; stop(): Promise<void> }

function cli(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function serve(dir: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; agentUrl: string }> {
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve', '--data-dir', dir, '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((done, fail) => {
    let out = '';
    let err = '';
    const ms = budget(20_000);
    const timer = setTimeout(() => fail(new Error(`countersign serve did not print "listening" and "agents" in ${ms} ms\n${out}\n${err}`)), ms);
    // stdout has the one `listening` line; the agent listener's address comes on stderr.
    const check = () => {
      const m = /listening (http:\/\/\S+)/.exec(out);
      const a = /^agents (https:\/\/\S+)$/m.exec(err);
      if (m && a) {
        clearTimeout(timer);
        done({ child, url: m[1]!, agentUrl: a[1]! });
      }
    };
    child.stderr!.on('data', (d) => {
      err += String(d);
      check();
    });
    child.stdout!.on('data', (d) => {
      out += String(d);
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`countersign serve exited with ${code}\n${err}`));
    });
  });
}

export async function startConsoleServer(): Promise<ConsoleServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-e2e-'));
  // One setting pinned by the environment (at its default value), so the policy page shows a pin.
  const env: NodeJS.ProcessEnv = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: PASSPHRASE, COUNTERSIGN_HTTP_RPS: '200' };
  delete env.MCP_EXECUTE_TOOL_ALLOWLIST;
  delete env.MCP_REQUIRE_EXECUTE_ADMIN;
  cli(['init', '--data-dir', dir, '--demo'], env);
  const key = cli(['keys', 'create', '--data-dir', dir, '--name', 'e2e-agent', '--scopes', 'ai:read,ai:write,ai:execute',
    '--tenants', 'acme-dental,globex-logistics,northwind-legal', '--role', 'admin'], env).trim().split('\n').pop()!;
  const { child, url, agentUrl } = await serve(dir, env);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const login = await fetch(`${url}/console/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ passphrase: PASSPHRASE }) });
    if (login.status !== 200) throw new Error(`console login failed: ${login.status}`);
    const token = login.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!;
    const state = join(dir, 'storage-state.json');
    writeFileSync(state, JSON.stringify({
      cookies: [{ name: 'cs_console', value: token, domain: new URL(url).hostname, path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Strict' }],
      origins: [],
    }));
    return { url, agentUrl, key, dataDir: dir, passphrase: PASSPHRASE, state, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
