// Builds the console if out/renderer is stale, makes a demo data directory with a passphrase and an MCP key,
// starts `countersign serve --port 0`, logs in once over HTTP (the storage state every spec reuses), and stops it all afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { budget } from '../helpers/wait.ts';
import { enterTmpFolder, removeTmpFolder } from '../helpers/tmpRoot.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE_ARGS = ['--disable-warning=ExperimentalWarning', join(ROOT, 'src-main/cli/main.ts')];
export const PASSPHRASE = 'e2e passphrase for the console';

function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
}

function buildIfStale(): void {
  const index = join(ROOT, 'out/renderer/index.html');
  const sources = Math.max(newest(join(ROOT, 'src-renderer')), newest(join(ROOT, 'src-main/console/contract.ts')), newest(join(ROOT, 'vite.config.ts')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
}

function cli(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function startServer(dir: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; agentUrl: string }> {
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
    child.once('exit', (code) => fail(new Error(`countersign serve exited with ${code}\n${err}`)));
  });
}

export default async function globalSetup() {
  const started = Date.now();
  // The run's temporary folder: the workers (started after this) and every process the specs start write under it.
  const tmp = enterTmpFolder('cs-run-');
  buildIfStale();
  const dir = mkdtempSync(join(tmpdir(), 'cs-e2e-'));
  // One setting pinned by the environment (at its default value), so the policy page shows a pin.
  const env: NodeJS.ProcessEnv = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: PASSPHRASE, COUNTERSIGN_HTTP_RPS: '200' };
  delete env.MCP_EXECUTE_TOOL_ALLOWLIST;
  delete env.MCP_REQUIRE_EXECUTE_ADMIN;
  cli(['init', '--data-dir', dir, '--demo'], env);
  const key = cli(['keys', 'create', '--data-dir', dir, '--name', 'e2e-agent', '--scopes', 'ai:read,ai:write,ai:execute',
    '--tenants', 'acme-dental,globex-logistics,northwind-legal', '--role', 'admin'], env).trim().split('\n').pop()!;
  const { child, url, agentUrl } = await startServer(dir, env);

  const login = await fetch(`${url}/console/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ passphrase: PASSPHRASE }) });
  if (login.status !== 200) throw new Error(`console login failed: ${login.status}`);
  const token = login.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!;
  const state = join(dir, 'storage-state.json');
  writeFileSync(state, JSON.stringify({
    cookies: [{ name: 'cs_console', value: token, domain: new URL(url).hostname, path: '/', expires: -1, httpOnly: true, secure: false, sameSite: 'Strict' }],
    origins: [],
  }));

  Object.assign(process.env, { CS_URL: url, CS_AGENT_URL: agentUrl, CS_KEY: key, CS_DATA_DIR: dir, CS_PASSPHRASE: PASSPHRASE, CS_STATE: state });
  console.log(`[e2e] countersign serve at ${url} (setup ${Date.now() - started} ms)`);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
    removeTmpFolder(tmp);
  };
}
