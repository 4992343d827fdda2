// The parts of `npm start` that decide something, apart from the script so they can be tested on any OS's rules:
// how a tool is run (its JS entry under this Node, never a .bin shim, which Windows cannot spawn without a shell),
// what is stale, whether Chromium's sandbox can start on this Linux, and how a child's exit becomes ours.
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Command {
  command: string;
  args: string[];
}

type PathRules = Pick<typeof path, 'join' | 'dirname'>;

/** A tool's JS entry from its package.json `bin`, run by this Node: the same on Windows, macOS and Linux. */
export function toolCommand(root: string, pkg: string, bin: string, opts: { execPath?: string; rules?: PathRules; readJson?: (file: string) => unknown } = {}): Command {
  const rules = opts.rules ?? path;
  const dir = rules.join(root, 'node_modules', pkg);
  const manifest = (opts.readJson ?? ((f) => JSON.parse(readFileSync(f, 'utf8'))))(rules.join(dir, 'package.json')) as { bin?: string | Record<string, string> };
  const entry = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[bin];
  if (!entry) throw new Error(`${pkg} declares no '${bin}' command`);
  return { command: opts.execPath ?? process.execPath, args: [rules.join(dir, entry)] };
}

function newest(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(p).reduce((t, name) => Math.max(t, newest(path.join(p, name))), s.mtimeMs);
}

/** The output is missing, or older than some input. */
export function isStale(output: string, inputs: string[]): boolean {
  if (!existsSync(output)) return true;
  return Math.max(...inputs.map(newest)) > statSync(output).mtimeMs;
}

/** The exit status a shell would report for a child that ended with this code or signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + (constants.signals[signal] ?? 0) : 1;
}

/** Runs a child with our stdio and resolves with how it ended; a child that cannot start is an error, not exit 0. */
export function runChild(cmd: Command, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.command, cmd.args, { ...opts, stdio: 'inherit', shell: false });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, forward);
    child.once('error', (e) => reject(new Error(`cannot start ${cmd.command}: ${e.message}`)));
    child.once('exit', (code, signal) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, forward);
      resolve({ code, signal });
    });
  });
}

/** Ends this process the way the child ended: the same code, or the same signal re-raised on ourselves. */
export function exitLike(result: { code: number | null; signal: NodeJS.Signals | null }): never {
  if (result.signal) {
    process.kill(process.pid, result.signal);
    // If the signal was caught or ignored, still report it as a shell would.
  }
  process.exit(exitCodeOf(result.code, result.signal));
}

/** Runs a build step to completion; a failure prints what failed and ends this process with its code. */
export function runStep(what: string, cmd: Command, cwd: string): void {
  const r = spawnSync(cmd.command, cmd.args, { cwd, stdio: 'inherit', shell: false });
  if (r.error) {
    console.error(`npm start: ${what} could not start: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`npm start: ${what} failed (${r.signal ?? `exit ${r.status}`})`);
    process.exit(exitCodeOf(r.status, r.signal));
  }
}

export interface SandboxProbe {
  uid: number | undefined;
  /** Contents of /proc/sys/kernel/unprivileged_userns_clone (Debian) and …/apparmor_restrict_unprivileged_userns (Ubuntu ≥ 23.10). */
  usernsClone: string | undefined;
  apparmorRestrict: string | undefined;
  /** chrome-sandbox next to the Electron binary: owner uid and mode, when it exists. */
  chromeSandbox: { uid: number; mode: number } | undefined;
}

export function probeSandbox(electronPath: string): SandboxProbe {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined);
  const helper = path.join(path.dirname(electronPath), 'chrome-sandbox');
  const st = existsSync(helper) ? statSync(helper) : undefined;
  return {
    uid: process.getuid?.(),
    usernsClone: read('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrict: read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    chromeSandbox: st && { uid: st.uid, mode: st.mode },
  };
}

/**
 * Linux only: whether Chromium's sandbox can start, and with which flags. `--no-sandbox` is added only as root
 * (Chromium refuses root otherwise) or when the person passed it; where neither user namespaces nor a setuid
 * chrome-sandbox is available the answer is what to do, not a silent --no-sandbox.
 */
export function sandboxDecision(probe: SandboxProbe, userArgs: string[], electronPath: string): { args: string[]; notice?: string } | { problem: string } {
  if (userArgs.includes('--no-sandbox')) return { args: [], notice: 'Chromium\'s renderer sandbox is off (--no-sandbox was given).' };
  if (probe.uid === 0) return { args: ['--no-sandbox'], notice: 'Running as root: Chromium\'s sandbox cannot run as root, so Electron starts with --no-sandbox.' };
  const usernsOff = probe.usernsClone === '0' || probe.apparmorRestrict === '1';
  const suid = probe.chromeSandbox && probe.chromeSandbox.uid === 0 && (probe.chromeSandbox.mode & 0o4000) !== 0;
  if (!usernsOff || suid) return { args: [] };
  const helper = path.join(path.dirname(electronPath), 'chrome-sandbox');
  const why = probe.apparmorRestrict === '1' ? 'kernel.apparmor_restrict_unprivileged_userns=1' : 'kernel.unprivileged_userns_clone=0';
  return {
    problem: [
      `Electron's sandbox cannot start here: unprivileged user namespaces are off (${why}) and ${helper} is not setuid root.`,
      'Either make the sandbox helper setuid root (once per install of node_modules):',
      `  sudo chown root:root '${helper}' && sudo chmod 4755 '${helper}'`,
      'or start without the renderer sandbox (less safe): npm start -- --no-sandbox',
    ].join('\n'),
  };
}
