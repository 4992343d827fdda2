import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Finds a runnable Electron binary WITHOUT require('electron'): since Electron 42 that require downloads the binary
 * on first use, which fails offline. Returns the path, or the one-line reason it cannot start.
 */
export function locateElectron(root: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): { path: string } | { reason: string } {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(pkg)) return { reason: 'the electron package is not installed' };
  const pathFile = join(pkg, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined;
  const dist = env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkg, 'dist');
  const bin = join(dist, rel ?? (platform === 'win32' ? 'electron.exe' : platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron'));
  if (!existsSync(bin)) return { reason: 'no Electron binary is downloaded (node_modules/electron/dist is missing)' };
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return { reason: 'no display (DISPLAY and WAYLAND_DISPLAY are unset)' };
  return { path: bin };
}
