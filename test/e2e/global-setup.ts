// Builds the console if out/renderer is stale and makes the run's temporary folder. Each worker starts its own server
// (consoleServer.ts, through the worker fixture in fixtures.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { enterTmpFolder, removeTmpFolder } from '../helpers/tmpRoot.ts';

const ROOT = resolve(import.meta.dirname, '../..');

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

export default async function globalSetup() {
  // The run's temporary folder: the workers (started after this) and every process the specs start write under it.
  const tmp = enterTmpFolder('cs-run-');
  buildIfStale();
  return () => removeTmpFolder(tmp);
}
