// The browser suite's Chromium (Debian's, never a downloaded one). `npm test` runs this before Playwright: it finds
// Chromium, or installs it where it can (root with apt: `apt-get update` once, then `apt-get install -y chromium`),
// or stops with one line saying exactly what to run. CHROMIUM_PATH, when set, is the binary to use and is never
// replaced by an install.
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

/** The Chromium the browser suite runs: CHROMIUM_PATH if it is set, else `chromium` on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return executable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return onPath('chromium', env);
}

/** 0 when Chromium is there (found or installed now); otherwise the one line to show, and 1. */
export function ensureChromium(env: NodeJS.ProcessEnv = process.env): { status: 0 | 1; line?: string } {
  if (findChromium(env)) return { status: 0 };
  if (env.CHROMIUM_PATH) {
    return { status: 1, line: `CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file: point it at a Chromium binary, or unset it and run \`sudo apt-get install -y chromium\`, then \`npm test\` again.` };
  }
  const apt = onPath('apt-get', env);
  const id = onPath('id', env);
  const root = id !== undefined && spawnSync(id, ['-u'], { env, encoding: 'utf8' }).stdout?.trim() === '0';
  if (!apt) {
    return { status: 1, line: 'Chromium is needed for the browser tests and this machine has no apt-get: install Chromium, set CHROMIUM_PATH to its binary, then run `npm test` again.' };
  }
  if (!root) {
    return { status: 1, line: 'Chromium is needed for the browser tests: run `sudo apt-get update && sudo apt-get install -y chromium`, then `npm test` again.' };
  }
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const r = spawnSync(apt, args, { env: aptEnv, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) return { status: 1, line: `\`apt-get ${args.join(' ')}\` failed (exit ${r.status ?? r.signal}): install Chromium (\`apt-get install -y chromium\`), then run \`npm test\` again.` };
  }
  return findChromium(env) ? { status: 0 } : { status: 1, line: '`apt-get install -y chromium` put no `chromium` on PATH: set CHROMIUM_PATH to its binary, then run `npm test` again.' };
}

if (import.meta.main) {
  const { status, line } = ensureChromium();
  if (line) console.error(line);
  process.exitCode = status;
}
