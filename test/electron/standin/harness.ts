// Runs the compiled main process in a child process against the recording `electron` stand-in (boot.ts,
// electron.ts) and gives the test its calls, in order, a way to drive it, and its exit.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../helpers/wait.ts';

const ROOT = join(import.meta.dirname, '../../..');
/** The main process compiled by tsconfig.main.json, in its own folder so no other suite's build can race it. */
export const COMPILED_MAIN = join(ROOT, 'out/boot-test/electron/main.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** `npm run build:main` into out/boot-test, unless it is newer than every source file. */
export function buildMain(): void {
  let built = 0;
  try {
    built = statSync(COMPILED_MAIN).mtimeMs;
  } catch { /* not built */ }
  if (built > newest(join(ROOT, 'src-main'))) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.main.json', '--outDir', 'out/boot-test'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
}

export interface Call {
  name: string;
  detail?: any;
}

export interface Scenario {
  keystore: 'available' | 'none';
  isPackaged?: boolean;
  lock?: boolean;
  dialogResponses?: number[];
  emitDuring?: { call: string; events: string[] };
  /** Where the save dialog says to save; absent: it is cancelled. */
  savePath?: string;
}

export interface Desktop {
  child: ChildProcess;
  calls: Call[];
  names(): string[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits for a call with this name (and matching detail), returns it. */
  waitFor(name: string, pred?: (c: Call) => boolean, timeoutMs?: number): Promise<Call>;
  send(cmd: Record<string, unknown>): Promise<any>;
  /** The MCP server URL the tray menu shows. */
  serverUrl(): Promise<string>;
  kill(): Promise<void>;
}

/** A home for one desktop profile: appData, the stand-in keystore's key, and the data directory. */
export function desktopHome(): { appData: string; keystoreKeyFile: string; dataDir: string } {
  const home = mkdtempSync(join(tmpdir(), 'cs-desktop-'));
  mkdirSync(join(home, 'appData'));
  return { appData: join(home, 'appData'), keystoreKeyFile: join(home, 'keystore.key'), dataDir: join(home, 'data') };
}

export function launchDesktop(home: ReturnType<typeof desktopHome>, scenario: Scenario, env: NodeJS.ProcessEnv = {}, main = COMPILED_MAIN): Desktop {
  const child = fork(join(import.meta.dirname, 'boot.ts'), [main], {
    execArgv: ['--disable-warning=ExperimentalWarning'],
    env: {
      ...process.env, COUNTERSIGN_DATA_DIR: home.dataDir, COUNTERSIGN_PORT: '0', ...env,
      STANDIN_SCENARIO: JSON.stringify({ appData: home.appData, keystoreKeyFile: home.keystoreKeyFile, ...scenario }),
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const calls: Call[] = [];
  const replies = new Map<number, (m: any) => void>();
  let err = '';
  let nextId = 1;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  child.on('message', (m: any) => {
    if (m.t === 'call') calls.push({ name: m.name, detail: m.detail });
    else if (m.t === 'reply') replies.get(m.id)?.(m);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const d: Desktop = {
    child,
    calls,
    names: () => calls.map((c) => c.name),
    stderr: () => err,
    exited,
    waitFor: (name, pred = () => true, timeoutMs = 20_000) => until(() => `${name} (calls so far: ${calls.map((c) => c.name).join(', ')}; ${child.exitCode ?? child.signalCode ?? 'still running'}; stderr: ${err.slice(-800)})`,
      () => calls.find((c) => c.name === name && pred(c)), timeoutMs, 50),
    send(cmd) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        replies.set(id, (m) => (m.ok ? resolve(m.value) : reject(new Error(m.error))));
        child.send({ id, ...cmd });
      });
    },
    async serverUrl() {
      const menu = await d.waitFor('Tray.setContextMenu');
      const label = (menu.detail as string[]).find((l) => l?.startsWith('MCP server: '))!;
      return label.slice('MCP server: '.length);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return d;
}
