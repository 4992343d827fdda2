// How much slower than the reference machine this one is right now: the factor every wait budget of the suites is
// multiplied by. Measured once per run (the Vitest and Playwright configs ask first, their workers inherit it through
// the environment), or given as COUNTERSIGN_TEST_SLOWDOWN.
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';

export const SLOWDOWN_ENV = 'COUNTERSIGN_TEST_SLOWDOWN';

/**
 * One worker thread per core hashes for ~100 ms of CPU on the reference machine (2 cores, idle), three rounds. The
 * slowest thread's wall time over that reference is the factor: a slower CPU, fewer free cores or another process
 * hogging one all stretch it, as they stretch everything the suites wait for. The slowest of the rounds counts, so a
 * lucky moment on a busy machine does not make the budgets too short.
 */
const REFERENCE_MS = 100;
const PROBE = `
const { Worker } = require('node:worker_threads');
const body = "const c = require('node:crypto'); let h = Buffer.alloc(64); const t = performance.now();"
  + "for (let i = 0; i < 30000; i++) h = c.createHash('sha256').update(h).digest();"
  + "require('node:worker_threads').parentPort.postMessage(performance.now() - t)";
const round = () => Promise.all(Array.from({ length: require('node:os').availableParallelism() }, () =>
  new Promise((resolve, reject) => new Worker(body, { eval: true }).once('message', resolve).once('error', reject))));
(async () => {
  let slowest = 0;
  for (let i = 0; i < 3; i++) slowest = Math.max(slowest, ...(await round()));
  console.log(slowest);
})();
`;

function measure(): number {
  const r = spawnSync(process.execPath, ['-e', PROBE], { encoding: 'utf8', timeout: 60_000 });
  const ms = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isFinite(ms)) throw new Error(`the slowdown probe failed (${r.status}): ${r.stderr}`);
  return ms / REFERENCE_MS;
}

/**
 * The factor (1 to 10, one decimal): from the environment, else measured now and put there for child processes. The
 * probe sees a fraction of a second; on a machine shared with other work that comes and goes, a lucky moment gave
 * budgets half as long as the run then needed. So the factor is at least the last minute's load per core as well: a
 * machine that has been busy for a minute stays busy for the run (a quiet one, or one core hogged, changes nothing).
 */
export function slowdown(): number {
  const given = process.env[SLOWDOWN_ENV];
  if (given !== undefined) {
    const f = Number(given);
    if (!Number.isFinite(f) || f <= 0) throw new Error(`${SLOWDOWN_ENV} must be a positive number, not '${given}'`);
    return f;
  }
  const busy = loadavg()[0]! / availableParallelism();
  const f = Math.min(10, Math.max(1, Math.round(Math.max(measure(), busy) * 10) / 10));
  process.env[SLOWDOWN_ENV] = String(f);
  return f;
}
