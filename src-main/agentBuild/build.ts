// `countersign agent build`: the agent and its dependencies bundled by esbuild into one CommonJS file, made into a Node
// single executable application (SEA blob injected by postject) for each target, hashed, and listed in a manifest.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { build as esbuild } from 'esbuild';
import { stripMachoSignature } from './macho.ts';
import { WINSW_ASSET } from '../agent/service/windows.ts';
import { Manifest, MANIFEST, type BuildEntry } from './manifest.ts';
import { hostTarget, RefusedTarget, runtimeBinary, winswBinary } from './runtime.ts';
import { exeName, runtimePackage, runtimeVersion, targetOs, type Target } from './targets.ts';

const require = createRequire(import.meta.url);
const AGENT_ENTRY = join(import.meta.dirname, '../agent/main.ts');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Optional native helpers that ws and systeminformation try to load and do without (they are not bundled). */
const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate', 'osx-temperature-sensor'];

export interface BuildOptions {
  targets: Target[];
  /** Executables go to `<outDir>/<version>/<target>/`, the manifest to `<outDir>/<version>/manifest.json`. */
  outDir: string;
  version: string;
  /** Runtimes, WinSW and finished executables by content hash. */
  cacheDir: string;
  /** Run for each Windows and macOS executable after injection, before hashing, with FILE and TARGET in its environment (sh -c). */
  signCommand?: string;
  log?: (line: string) => void;
}

export interface BuildReport {
  version: string;
  built: (BuildEntry & { path: string; ms: number; cached: boolean })[];
  refused: { target: Target; reason: string }[];
  bundleBytes: number;
  ms: number;
}

/**
 * postject's injection. Its LIEF build prints a "Can't find string offset" warning per ELF note section it does not name;
 * they are noise (Node's own docs show them), so they are dropped, and anything else it says goes to stderr.
 */
async function inject(file: string, blob: Buffer, macho: boolean): Promise<void> {
  const postject = require('postject') as { inject: (f: string, name: string, data: Buffer, opts: object) => Promise<void> };
  const warn = console.warn;
  console.warn = (...a: unknown[]) => {
    if (!/^warning: Can't find string offset/.test(String(a[0]))) warn(...a);
  };
  try {
    await postject.inject(file, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE, ...(macho ? { machoSegmentName: 'NODE_SEA' } : {}) });
  } finally {
    console.warn = warn;
  }
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function bundle(version: string, outfile: string): Promise<void> {
  await esbuild({
    entryPoints: [AGENT_ENTRY], outfile, bundle: true, platform: 'node', target: 'node24', format: 'cjs', minify: true, legalComments: 'none',
    external: OPTIONAL_NATIVE, define: { __COUNTERSIGN_AGENT_VERSION__: JSON.stringify(version) }, logLevel: 'error',
  });
}

/** A SEA preparation blob, made by a Node of exactly the runtime's version (the blob format belongs to one Node version). */
function seaBlob(work: string, script: string, nodeVersion: string, winsw: string | null, cacheDir: string): Buffer {
  const name = `sea-${nodeVersion}${winsw ? '-win' : ''}`;
  const config = join(work, `${name}.json`);
  const output = join(work, `${name}.blob`);
  // Paths relative to the work folder (the generator runs there): the blob records `main` as given, and a temporary
  // folder's random name would make every build differ.
  writeFileSync(config, JSON.stringify({
    main: basename(script), output: basename(output), disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, ...(winsw ? { assets: { [WINSW_ASSET]: winsw } } : {}),
  }));
  const generator = runtimeBinary(hostTarget(), nodeVersion, cacheDir);
  const r = spawnSync(generator, ['--experimental-sea-config', config], { encoding: 'utf8', cwd: work, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`making the SEA blob with Node ${nodeVersion} failed: ${r.stderr || r.error?.message}`);
  return readFileSync(output);
}

export async function buildAgents(o: BuildOptions): Promise<BuildReport> {
  const log = o.log ?? (() => {});
  const started = performance.now();
  mkdirSync(o.cacheDir, { recursive: true });
  const work = mkdtempSync(join(o.cacheDir, '.build-'));
  const report: BuildReport = { version: o.version, built: [], refused: [], bundleBytes: 0, ms: 0 };
  try {
    const script = join(work, 'agent.cjs');
    await bundle(o.version, script);
    report.bundleBytes = readFileSync(script).length;
    const blobs = new Map<string, Buffer>();
    const versionDir = join(o.outDir, o.version);
    for (const target of o.targets) {
      const t0 = performance.now();
      let tmp: string | undefined;
      try {
        const nodeVersion = runtimeVersion(target);
        const runtime = runtimeBinary(target, nodeVersion, o.cacheDir);
        const windows = targetOs(target) === 'windows';
        const blobKey = `${nodeVersion}${windows ? '-win' : ''}`;
        if (!blobs.has(blobKey)) blobs.set(blobKey, seaBlob(work, script, nodeVersion, windows ? winswBinary(o.cacheDir) : null, o.cacheDir));
        const blob = blobs.get(blobKey)!;
        const dest = join(versionDir, target, exeName(target));
        mkdirSync(join(versionDir, target), { recursive: true });
        // The same blob into the same runtime gives the same executable: reuse it (tests build twice per run).
        const key = sha256(`${target}\n${sha256(readFileSync(runtime))}\n${sha256(blob)}`);
        const cached = join(o.cacheDir, 'executables', key);
        tmp = `${dest}.tmp-${process.pid}`;
        const hit = existsSync(cached);
        if (hit) {
          copyFileSync(cached, tmp);
          utimesSync(cached, new Date(), new Date());
        }
        else {
          const base = readFileSync(runtime);
          writeFileSync(tmp, targetOs(target) === 'macos' ? stripMachoSignature(base) : base);
          await inject(tmp, blob, targetOs(target) === 'macos');
          mkdirSync(join(o.cacheDir, 'executables'), { recursive: true });
          copyFileSync(tmp, `${cached}.tmp-${process.pid}`);
          renameSync(`${cached}.tmp-${process.pid}`, cached);
        }
        chmodSync(tmp, 0o755);
        let signed = false;
        if (o.signCommand && targetOs(target) !== 'linux') {
          const s = spawnSync('sh', ['-c', o.signCommand], { env: { ...process.env, FILE: tmp, TARGET: target }, encoding: 'utf8', timeout: 600_000 });
          if (s.status !== 0) throw new Error(`the signing command failed for ${target} (exit ${s.status}): ${(s.stderr || '').trim().slice(0, 500)}`);
          signed = true;
        }
        const bytes = readFileSync(tmp);
        renameSync(tmp, dest);
        const entry: BuildEntry = { target, file: `${target}/${exeName(target)}`, sha256: sha256(bytes), size: bytes.length,
          runtime: `${runtimePackage(target)}@${nodeVersion}`, signed, builtAt: new Date().toISOString() };
        report.built.push({ ...entry, path: dest, ms: Math.round(performance.now() - t0), cached: hit });
        log(`${target}: ${dest} (${(bytes.length / 1_048_576).toFixed(1)} MiB, sha256 ${entry.sha256})`);
      } catch (e) {
        if (tmp) rmSync(tmp, { force: true });
        if (!(e instanceof RefusedTarget)) throw e;
        report.refused.push({ target, reason: e.message });
        log(e.message);
      }
    }
    if (report.built.length) writeManifest(versionDir, o.version, report.built);
    pruneCache(join(o.cacheDir, 'executables'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** Finished executables kept by content hash: the most recently used ones (each is ~100 MB). */
const CACHED_EXECUTABLES = 12;
function pruneCache(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f)).map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const e of entries.slice(CACHED_EXECUTABLES)) rmSync(join(dir, e.f), { force: true });
}

/** Adds this run's targets to the version's manifest (targets built earlier for the same version stay listed). */
function writeManifest(versionDir: string, version: string, built: BuildEntry[]): void {
  const file = join(versionDir, MANIFEST);
  let m: Manifest = { version, targets: {} };
  if (existsSync(file)) {
    const prev = Manifest.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (prev.success && prev.data.version === version) m = prev.data;
  }
  for (const b of built) {
    const { target, file: f, sha256: h, size, runtime, signed, builtAt } = b;
    m.targets[target] = { target, file: f, sha256: h, size, runtime, signed, builtAt };
  }
  writeFileSync(`${file}.tmp`, `${JSON.stringify(m, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
}
