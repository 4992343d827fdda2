// npm test: the type checks and the console build, then Vitest and the browser suite side by side.
//
// Why side by side: Vitest keeps both cores busy for most of its run, but the browser suite mostly waits (on Chromium
// painting, on the server's answers): run after Vitest it took minutes of wall time for a third of their CPU. Run beside
// it, it fills the gaps Vitest leaves (measured quiet on 2 cores: 7:56 for everything, against 8:42 for the two runners
// one after the other). Vitest's report streams as it runs; the browser suite's is held back until
// Vitest is done (or shown live from then on), so the two never interleave.
//
// Both runners read one slowdown factor (test/helpers/slowdown.ts), measured here once and raised by CONCURRENT_SHARE:
// each runner's waits now share the machine with the other one's work as well as their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { ensureChromium } from './chromium.ts';
import { slowdown, SLOWDOWN_ENV } from '../test/helpers/slowdown.ts';
import { reapOrphanClusters } from '../test/helpers/pgCluster.ts';
import { runTmpFolder, type RunTmp } from './testTmp.ts';

const ROOT = resolve(import.meta.dirname, '..');
const bin = (rel: string) => join(ROOT, 'node_modules', rel);
const NODE = process.execPath;

/** How much longer a wait may take with the other runner beside it: the browser suite adds about half a core. */
const CONCURRENT_SHARE = 1.5;

const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const c of children) c.kill(signal);
    process.exitCode = 128 + (signal === 'SIGINT' ? 2 : 15);
  });
}

interface Done {
  code: number;
  output: string;
}

/** Runs a command; its output is captured (and returned) unless `live`, which streams it as it comes. */
function run(command: string, args: string[], live: boolean, onOutput?: (chunk: Buffer) => void): Promise<Done> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const chunks: Buffer[] = [];
    const take = (c: Buffer) => (onOutput ? onOutput(c) : chunks.push(c));
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('error', (e) => chunks.push(Buffer.from(`${command}: ${e.message}\n`)));
    child.once('close', (code, signal) => {
      children.delete(child);
      done({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString() });
    });
  });
}

const started = performance.now();
const elapsed = () => `${Math.round((performance.now() - started) / 1000)} s`;

async function main(): Promise<number> {
  // The checks first, all at once: each is one process, and together they take seconds. Their output shows on failure.
  const TSC = bin('typescript/bin/tsc');
  const checks = await Promise.all([
    ...['tsconfig.json', 'tsconfig.renderer.json', 'tsconfig.e2e.json'].map((p) => run(NODE, [TSC, '-p', p, '--noEmit'], false)),
    run(NODE, [bin('vite/bin/vite.js'), 'build', '--logLevel', 'warn'], false),
  ]);
  const failed = checks.filter((c) => c.code !== 0);
  if (failed.length) {
    for (const c of failed) process.stdout.write(c.output);
    console.error(`npm test: the type checks or the console build failed (${elapsed()}); no test ran.`);
    return 1;
  }
  console.log(`npm test: type checks and console build passed (${elapsed()})`);

  // Both runners, and every process they start, write under the run's folder (a tmpfs where there is one: testTmp.ts).
  // A killed run's PostgreSQL cluster is stopped first: its folder may be inside a run folder removed next.
  if (process.platform === 'linux') reapOrphanClusters();
  tmp = runTmpFolder();
  if (tmp.dir) process.env.TMPDIR = tmp.dir;
  console.log(tmp.line);

  // The browser suite's Chromium: found, installed (root with apt), or one line saying what to run (scripts/chromium.ts).
  const chromium = ensureChromium();
  if (!process.env[SLOWDOWN_ENV]) {
    const f = slowdown();
    process.env[SLOWDOWN_ENV] = String(chromium.status === 0 ? Math.min(10, Math.round(f * CONCURRENT_SHARE * 10) / 10) : f);
  }

  let vitestDone = false;
  const held: Buffer[] = [];
  const browser = chromium.status === 0
    ? run(NODE, [bin('@playwright/test/cli.js'), 'test'], false, (c) => (vitestDone ? process.stdout.write(c) : held.push(c)))
    : Promise.resolve(null);
  const vitest = await run(NODE, [bin('vitest/vitest.mjs'), 'run'], true);
  vitestDone = true;
  if (chromium.status !== 0) {
    console.error(chromium.line);
    return 1;
  }
  process.stdout.write(`\nnpm test: Vitest ${vitest.code === 0 ? 'passed' : `failed (exit ${vitest.code})`} at ${elapsed()}; the browser suite (Playwright, in Chromium) ran beside it:\n\n`);
  process.stdout.write(Buffer.concat(held.splice(0)));
  const pw = (await browser)!;
  console.log(`\nnpm test: Vitest ${vitest.code === 0 ? 'passed' : 'FAILED'}, Playwright ${pw.code === 0 ? 'passed' : 'FAILED'}; ${elapsed()} in all.`);
  return vitest.code === 0 && pw.code === 0 ? 0 : 1;
}

let tmp: RunTmp | undefined;
try {
  process.exitCode = await main();
} finally {
  tmp?.remove();
}
