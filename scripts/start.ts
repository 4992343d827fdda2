// npm start: the desktop window when Electron can run here; otherwise what stops it, then the same console in web
// mode (countersign demo) with its URL printed. npm run demo (--web) goes straight to web mode.
// Every tool runs as `<this node> <its JS entry>` (no .bin shims, no shell), a stale build is rebuilt, and Electron's
// exit code or signal becomes this script's, so a crash is never reported as success.
import { join } from 'node:path';
import { locateElectron } from '../src-main/electron/locate.ts';
import { exitLike, isStale, probeSandbox, runChild, runStep, sandboxDecision, toolCommand } from './startParts.ts';

const root = join(import.meta.dirname, '..');
const at = (...p: string[]) => join(root, ...p);

// The renderer imports the console contract too; the main process is all of src-main.
if (isStale(at('out', 'renderer', 'index.html'), [at('src-renderer'), at('src-main', 'console', 'contract.ts'), at('vite.config.ts')])) {
  runStep('building the console (vite build)', withArgs(toolCommand(root, 'vite', 'vite'), ['build', '--logLevel', 'warn']), root);
}

// A larger young generation: under load the server's p99 is minor-GC pauses, and 8 MB semi-spaces cut it ~3x
// (docs/benchmarks.md). The same flag for the server in Node and for Electron's main process.
const V8_FLAGS = '--max-semi-space-size=8';
const web = process.argv.includes('--web');
const rest = process.argv.slice(2).filter((a) => a !== '--web');
let why = web ? 'web mode requested' : '';
let electronArgs: string[] = [];
const electron = web ? undefined : locateElectron(root);
if (electron && 'reason' in electron) why = `Electron cannot start here: ${electron.reason}.`;
if (electron && 'path' in electron && process.platform === 'linux') {
  const sandbox = sandboxDecision(probeSandbox(electron.path), rest, electron.path);
  if ('problem' in sandbox) why = sandbox.problem;
  else {
    if (sandbox.notice) console.error(`npm start: ${sandbox.notice}`);
    electronArgs = sandbox.args;
  }
}

if (electron && 'path' in electron && !why) {
  if (isStale(at('out', 'main', 'electron', 'main.js'), [at('src-main'), at('tsconfig.main.json')])) {
    runStep('compiling the main process (tsc)', withArgs(toolCommand(root, 'typescript', 'tsc'), ['-p', 'tsconfig.main.json']), root);
  }
  const result = await runChild({ command: electron.path, args: [`--js-flags=${V8_FLAGS}`, ...electronArgs, ...rest, at('out', 'main', 'electron', 'main.js')] }, { cwd: root })
    .catch((e: unknown) => {
      console.error(`npm start: ${(e as Error).message}`);
      return { code: 1, signal: null };
    });
  if (result.code !== 0) console.error(`npm start: Electron ${result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`}`);
  exitLike(result);
} else {
  if (!web) console.log(`${why}\nServing the console in web mode instead.`);
  const result = await runChild({ command: process.execPath, args: ['--disable-warning=ExperimentalWarning', V8_FLAGS, at('src-main', 'cli', 'main.ts'), 'demo', ...rest.filter((a) => a !== '--no-sandbox')] }, { cwd: root });
  exitLike(result);
}

function withArgs(cmd: { command: string; args: string[] }, args: string[]) {
  return { command: cmd.command, args: [...cmd.args, ...args] };
}
