// npm start: the desktop window when Electron can run here; otherwise one line saying why, then the same console
// in web mode (countersign demo) with its URL printed. npm run demo (--web) goes straight to web mode.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { locateElectron } from '../src-main/electron/locate.ts';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync(join(root, 'out', 'renderer', 'index.html'))) run(bin('vite'), ['build', '--logLevel', 'warn']);

// A larger young generation: under load the server's p99 is minor-GC pauses, and 8 MB semi-spaces cut it ~3x
// (docs/benchmarks.md). The same flag for the server in Node and for Electron's main process.
const V8_FLAGS = '--max-semi-space-size=8';
const web = process.argv.includes('--web');
const rest = process.argv.slice(2).filter((a) => a !== '--web');
const electron = web ? { reason: 'web mode requested' } : locateElectron(root);
if ('path' in electron) {
  run(bin('tsc'), ['-p', 'tsconfig.main.json']);
  const child = spawn(electron.path, [`--js-flags=${V8_FLAGS}`, join(root, 'out', 'main', 'electron', 'main.js')], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  if (!web) console.log(`Electron cannot start here: ${electron.reason}. Serving the console in web mode instead.`);
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', V8_FLAGS, join(root, 'src-main', 'cli', 'main.ts'), 'demo', ...rest], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
