// The browser suite's Chromium (Debian's, never a downloaded one). `npm test` runs this before Playwright: it finds
// Chromium, or installs it where it can (root with apt: `apt-get update` once, then `apt-get install -y
// chromium-headless-shell`), or stops with one line saying exactly what to run. CHROMIUM_PATH, when set, is the binary
// to use and is never replaced by an install.
//
// Why the headless shell: it is the old headless Chromium, without the browser's own UI, which Playwright itself runs
// for headless tests. The same 55 specs on this 2-core machine, alone: 261 s and 506 s of CPU in `chromium
// --headless=new`, 175 s and 323 s in `chromium-headless-shell`. Where only the full `chromium` is there and nothing
// can be installed, the suite runs in it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** A command's path on the environment's PATH (undefined when it is not there). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(executable);
}

/** Debian's package of the old headless Chromium, and the command it puts on PATH. */
export const HEADLESS_SHELL = 'chromium-headless-shell';

/** The Chromium the browser suite runs: CHROMIUM_PATH if it is set, else the headless shell, else `chromium`, on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return executable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return onPath(HEADLESS_SHELL, env) ?? onPath('chromium', env);
}

/** True for the headless shell's binary (it is headless only: no --headless=new). */
export const isHeadlessShell = (path: string) => /headless[-_]shell$/.test(path);

/**
 * 0 when a Chromium is there (the headless shell, found or installed now, or else the full one); otherwise the one line
 * to show, and 1.
 */
export function ensureChromium(env: NodeJS.ProcessEnv = process.env): { status: 0 | 1; line?: string } {
  const install = `apt-get install -y ${HEADLESS_SHELL}`;
  if (env.CHROMIUM_PATH) {
    return findChromium(env) ? { status: 0 }
      : { status: 1, line: `CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file: point it at a Chromium binary, or unset it and run \`sudo ${install}\`, then \`npm test\` again.` };
  }
  if (onPath(HEADLESS_SHELL, env)) return { status: 0 };
  const full = onPath('chromium', env) !== undefined;
  const apt = onPath('apt-get', env);
  const id = onPath('id', env);
  const root = id !== undefined && spawnSync(id, ['-u'], { env, encoding: 'utf8' }).stdout?.trim() === '0';
  // The full browser works, at a third more CPU: used as it is where the shell cannot be installed.
  if (full && !(apt && root)) return { status: 0 };
  if (!apt) {
    return { status: 1, line: 'Chromium is needed for the browser tests and this machine has no apt-get: install Chromium, set CHROMIUM_PATH to its binary, then run `npm test` again.' };
  }
  if (!root) {
    return { status: 1, line: `Chromium is needed for the browser tests: run \`sudo apt-get update && sudo ${install}\`, then \`npm test\` again.` };
  }
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', HEADLESS_SHELL]]) {
    const r = spawnSync(apt, args, { env: aptEnv, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status === 0) continue;
    if (full) return { status: 0 }; // the shell could not be installed; the full browser is there
    return { status: 1, line: `\`apt-get ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}): install Chromium (\`${install}\`), then run \`npm test\` again.` };
  }
  return findChromium(env) ? { status: 0 } : { status: 1, line: `\`${install}\` put no \`${HEADLESS_SHELL}\` on PATH: set CHROMIUM_PATH to a Chromium binary, then run \`npm test\` again.` };
}

if (import.meta.main) {
  const { status, line } = ensureChromium();
  if (line) console.error(line);
  process.exitCode = status;
}
