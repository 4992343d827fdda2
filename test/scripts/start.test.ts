// npm start's decisions: the command it runs for each tool (checked under Windows rules: no .bin shim, no .cmd, no
// shell), staleness, the Linux sandbox decision, and exit codes and signals carried through real child processes.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, isStale, sandboxDecision, toolCommand, type SandboxProbe } from '../../scripts/startParts.ts';
import { locateElectron } from '../../src-main/electron/locate.ts';
import { budget } from '../helpers/wait.ts';

const ROOT = join(import.meta.dirname, '../..');
const realManifest = (pkg: string) => JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'));

describe('tool commands', () => {
  it('on Windows: node.exe runs the package\'s JS entry directly, never node_modules\\.bin\\*.cmd', () => {
    const root = 'C:\\Users\\tech\\countersign';
    const node = 'C:\\Program Files\\nodejs\\node.exe';
    const seen: string[] = [];
    const readJson = (file: string) => {
      seen.push(file);
      return realManifest(file.includes('typescript') ? 'typescript' : 'vite');
    };
    const vite = toolCommand(root, 'vite', 'vite', { execPath: node, rules: win32, readJson });
    const tsc = toolCommand(root, 'typescript', 'tsc', { execPath: node, rules: win32, readJson });
    expect(vite).toEqual({ command: node, args: ['C:\\Users\\tech\\countersign\\node_modules\\vite\\bin\\vite.js'] });
    expect(tsc).toEqual({ command: node, args: ['C:\\Users\\tech\\countersign\\node_modules\\typescript\\bin\\tsc'] });
    expect(seen).toEqual(['C:\\Users\\tech\\countersign\\node_modules\\vite\\package.json', 'C:\\Users\\tech\\countersign\\node_modules\\typescript\\package.json']);
    for (const c of [vite, tsc]) expect(JSON.stringify(c)).not.toMatch(/\.bin|\.cmd/);
    // Electron itself is an .exe: spawnable without a shell.
    const fake = mkdtempSync(join(tmpdir(), 'cs-win-electron-'));
    mkdirSync(join(fake, 'node_modules', 'electron', 'dist'), { recursive: true });
    writeFileSync(join(fake, 'node_modules', 'electron', 'dist', 'electron.exe'), '');
    expect(locateElectron(fake, {}, 'win32')).toEqual({ path: join(fake, 'node_modules', 'electron', 'dist', 'electron.exe') });
  });

  it('here: the same construction runs the real tools', () => {
    const tsc = toolCommand(ROOT, 'typescript', 'tsc');
    const r = spawnSync(tsc.command, [...tsc.args, '--version'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Version \d/);
    expect(() => toolCommand(ROOT, 'typescript', 'nope')).toThrow(/declares no 'nope' command/);
  });
});

describe('staleness', () => {
  it('rebuilds when the output is missing or older than any input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-stale-'));
    mkdirSync(join(dir, 'src', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'src', 'deep', 'a.ts'), '');
    const out = join(dir, 'out.html');
    expect(isStale(out, [join(dir, 'src')])).toBe(true);
    writeFileSync(out, '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'src', 'deep', 'a.ts'), past, past);
    utimesSync(join(dir, 'src', 'deep'), past, past);
    utimesSync(join(dir, 'src'), past, past);
    expect(isStale(out, [join(dir, 'src')])).toBe(false);
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'src', 'deep', 'a.ts'), future, future);
    expect(isStale(out, [join(dir, 'src')])).toBe(true);
  });
});

describe('the Linux sandbox decision', () => {
  const base: SandboxProbe = { uid: 1000, usernsClone: undefined, apparmorRestrict: '0', chromeSandbox: { uid: 1000, mode: 0o100755 } };
  const bin = '/repo/node_modules/electron/dist/electron';

  it('adds --no-sandbox only as root or when asked; otherwise explains what to do', () => {
    expect(sandboxDecision(base, [], bin)).toEqual({ args: [] });
    expect(sandboxDecision({ ...base, uid: 0 }, [], bin)).toMatchObject({ args: ['--no-sandbox'], notice: expect.stringMatching(/root/) });
    const ubuntu = { ...base, apparmorRestrict: '1' };
    const advice = sandboxDecision(ubuntu, [], bin);
    expect(advice).toMatchObject({ problem: expect.stringContaining('apparmor_restrict_unprivileged_userns=1') });
    expect((advice as { problem: string }).problem).toContain("sudo chown root:root '/repo/node_modules/electron/dist/chrome-sandbox' && sudo chmod 4755");
    expect((advice as { problem: string }).problem).toContain('npm start -- --no-sandbox');
    expect(sandboxDecision({ ...base, usernsClone: '0' }, [], bin)).toMatchObject({ problem: expect.stringContaining('unprivileged_userns_clone=0') });
    expect(sandboxDecision(ubuntu, ['--no-sandbox'], bin)).toMatchObject({ args: [], notice: expect.stringMatching(/--no-sandbox was given/) });
    expect(sandboxDecision({ ...ubuntu, chromeSandbox: { uid: 0, mode: 0o104755 } }, [], bin)).toEqual({ args: [] });
  });
});

describe('exit codes', () => {
  it('maps a code or a signal the way a shell reports it', () => {
    expect([exitCodeOf(0, null), exitCodeOf(7, null), exitCodeOf(null, 'SIGTERM'), exitCodeOf(null, 'SIGKILL'), exitCodeOf(null, null)]).toEqual([0, 7, 143, 137, 1]);
  });

  // A real child in the middle: a Node process that runs a stand-in Electron with runChild and ends with exitLike,
  // exactly as start.ts does, so the test sees what the person's shell would see.
  const relay = (script: string | undefined) => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-exit-'));
    const electron = join(dir, 'electron');
    if (script !== undefined) {
      writeFileSync(electron, `#!/bin/sh\n${script}\n`);
      chmodSync(electron, 0o755);
    }
    const code = `import { runChild, exitLike } from ${JSON.stringify(join(ROOT, 'scripts/startParts.ts'))};
      exitLike(await runChild({ command: ${JSON.stringify(electron)}, args: [] }).catch((e) => { console.error(e.message); return { code: 1, signal: null }; }));`;
    return spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: budget(20_000) });
  };

  it('passes a crashed Electron\'s exit code and signal through, and reports one that cannot start', () => {
    expect(relay('exit 0').status).toBe(0);
    expect(relay('exit 7').status).toBe(7);
    const killed = relay('kill -TERM $$');
    expect([killed.status, killed.signal]).toEqual([null, 'SIGTERM']);
    const segv = relay('kill -SEGV $$');
    expect(segv.signal ?? segv.status).toBeOneOf(['SIGSEGV', 139]);
    const missing = relay(undefined);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot start .*electron: spawn .* ENOENT/);
  });
});
