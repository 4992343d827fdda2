// scripts/chromium.ts as `npm test` runs it, on a PATH without Chromium (or with only the full browser): stand-ins for
// `id` (root or not), `apt-get` (which records its arguments and "installs" the headless shell) and `chromium` prove
// what it would do; apt itself never runs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { findChromium, isHeadlessShell } from '../../scripts/chromium.ts';

const SCRIPT = join(import.meta.dirname, '../../scripts/chromium.ts');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A PATH of one directory holding only the stand-ins asked for (no chromium, no system directories). */
function machine(o: { uid?: number; apt?: boolean; aptFails?: boolean; full?: boolean }) {
  const root = mkdtempSync(join(tmpdir(), 'cs-chromium-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const log = join(root, 'apt.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  if (o.uid !== undefined) stub('id', `[ "$1" = "-u" ] && echo ${o.uid}`);
  // Installing puts an executable chromium-headless-shell on the PATH, as Debian's package puts /usr/bin/chromium-headless-shell.
  if (o.apt) {
    stub('apt-get', `echo "$*" >> ${log}
${o.aptFails ? 'exit 100' : ''}
[ "$1" = "install" ] && printf '#!/bin/sh\\necho shell\\n' > ${bin}/chromium-headless-shell && /bin/chmod 755 ${bin}/chromium-headless-shell
exit 0`);
  }
  if (o.full) stub('chromium', 'echo chromium');
  const run = (env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', SCRIPT], { env: { PATH: bin, ...env }, encoding: 'utf8', timeout: budget(20_000) });
    return { status: r.status, out: `${r.stdout}${r.stderr}`, aptCalls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
  };
  return { bin, run };
}

describe('the Chromium check before the browser suite', () => {
  it('as root with apt: apt-get update once, then apt-get install -y chromium-headless-shell, and the browser suite can run', () => {
    const m = machine({ uid: 0, apt: true });
    const r = m.run();
    expect(r.aptCalls).toEqual(['update', 'install -y chromium-headless-shell']);
    expect(r.status, r.out).toBe(0);
    expect(existsSync(join(m.bin, 'chromium-headless-shell'))).toBe(true);
    // Run again, it finds the installed one and leaves apt alone.
    expect(m.run()).toMatchObject({ status: 0, aptCalls: ['update', 'install -y chromium-headless-shell'] });
  });

  it('only the full chromium: installed beside it as root (it costs a third more CPU), else used as it is', () => {
    const root = machine({ uid: 0, apt: true, full: true });
    expect(root.run()).toMatchObject({ status: 0, aptCalls: ['update', 'install -y chromium-headless-shell'] });
    expect(existsSync(join(root.bin, 'chromium-headless-shell'))).toBe(true);
    // Both there: the browser suite runs in the shell (playwright.config.ts), without --headless=new.
    const chosen = findChromium({ PATH: root.bin })!;
    expect([chosen, isHeadlessShell(chosen)]).toEqual([join(root.bin, 'chromium-headless-shell'), true]);
    expect(isHeadlessShell(join(root.bin, 'chromium'))).toBe(false);
    expect(machine({ uid: 1000, apt: true, full: true }).run()).toMatchObject({ status: 0, out: '', aptCalls: [] });
    expect(machine({ uid: 0, full: true }).run()).toMatchObject({ status: 0, out: '', aptCalls: [] });
    // apt fails: its own output, then the full browser runs the suite.
    const failing = machine({ uid: 0, apt: true, aptFails: true, full: true }).run();
    expect(failing).toMatchObject({ status: 0, aptCalls: ['update'] });
  });

  it('not root: stops with one line saying what to run; apt is not touched', () => {
    const r = machine({ uid: 1000, apt: true }).run();
    expect(r.status).toBe(1);
    expect(r.aptCalls).toEqual([]);
    expect(r.out.trimEnd().split('\n')).toEqual(['Chromium is needed for the browser tests: run `sudo apt-get update && sudo apt-get install -y chromium-headless-shell`, then `npm test` again.']);
  });

  it('no apt-get (root or not): one line saying to install Chromium and set CHROMIUM_PATH', () => {
    for (const uid of [0, 1000]) {
      const r = machine({ uid }).run();
      expect(r.status).toBe(1);
      expect(r.out.trimEnd().split('\n')).toEqual(['Chromium is needed for the browser tests and this machine has no apt-get: install Chromium, set CHROMIUM_PATH to its binary, then run `npm test` again.']);
    }
  });

  it('a failing apt-get install ends in one line of ours after apt\'s own output', () => {
    const r = machine({ uid: 0, apt: true, aptFails: true }).run();
    expect(r.status).toBe(1);
    expect(r.aptCalls).toEqual(['update']);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/^`apt-get update` failed \(exit 100\): install Chromium/);
  });

  it('CHROMIUM_PATH is used as given: an executable one passes without apt, a missing one is one line and no install', () => {
    const m = machine({ uid: 0, apt: true });
    const own = join(m.bin, '..', 'my-chromium');
    writeFileSync(own, '#!/bin/sh\n');
    chmodSync(own, 0o755);
    expect(m.run({ CHROMIUM_PATH: own })).toMatchObject({ status: 0, out: '', aptCalls: [] });
    const r = m.run({ CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(r.status).toBe(1);
    expect(r.aptCalls).toEqual([]);
    expect(r.out.trimEnd().split('\n')).toEqual(['CHROMIUM_PATH=/nonexistent/chromium is not an executable file: point it at a Chromium binary, or unset it and run `sudo apt-get install -y chromium-headless-shell`, then `npm test` again.']);
  });
});
