// What `countersign agent build` writes next to its executables, and what the console reads back (zod: the folder is
// as writable as the database, so nothing read from it is trusted unchecked).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { compareVersions, TargetSchema, VERSION, type Target } from './targets.ts';

export const MANIFEST = 'manifest.json';
/** Where `serve --data-dir D` offers agent builds from (downloads, upgrades, the console), and `agent build --data-dir D` writes. */
export const buildsDir = (dataDir: string) => join(dataDir, 'agent-builds');
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const BuildEntry = z.object({
  target: TargetSchema,
  /** Relative to the version folder: `<target>/countersign-agent[.exe]`. */
  file: z.string().regex(/^[a-z0-9-]+\/countersign-agent(\.exe)?$/),
  sha256: Sha256,
  size: z.number().int().positive().max(1024 ** 3),
  runtime: z.string().max(100),
  signed: z.boolean(),
  builtAt: z.string().max(40),
}).strict();
export type BuildEntry = z.infer<typeof BuildEntry>;

export const Manifest = z.object({
  version: VERSION,
  targets: z.partialRecord(TargetSchema, BuildEntry),
}).strict();
export type Manifest = z.infer<typeof Manifest>;

export interface PublishedBuild extends BuildEntry {
  version: string;
  /** Absolute path of the executable. */
  path: string;
}

/** Every build under `dir/<version>/manifest.json`, newest version first; unreadable manifests are skipped, not guessed. */
export function readBuilds(dir: string, log: (m: string) => void = () => {}): PublishedBuild[] {
  if (!existsSync(dir)) return [];
  const out: PublishedBuild[] = [];
  for (const v of readdirSync(dir)) {
    const file = join(dir, v, MANIFEST);
    if (!VERSION.safeParse(v).success || !existsSync(file)) continue;
    let m: Manifest;
    try {
      m = Manifest.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (e) {
      log(`agent build manifest ${file} is unreadable: ${(e as Error).message.slice(0, 200)}`);
      continue;
    }
    if (m.version !== v) continue;
    for (const e of Object.values(m.targets)) if (e) out.push({ ...e, version: v, path: join(dir, v, e.file) });
  }
  return out.sort((a, b) => compareVersions(b.version, a.version) || a.target.localeCompare(b.target));
}

/** The newest build of a target, or of a given version. */
export function findBuild(builds: PublishedBuild[], target: Target, version?: string): PublishedBuild | undefined {
  return builds.find((b) => b.target === target && (version === undefined || b.version === version));
}
