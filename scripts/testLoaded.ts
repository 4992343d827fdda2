// npm run test:loaded: `npm test` while a CPU hog keeps one core fully busy (pinned with taskset), as on a
// developer's machine where something else runs. The hog is stopped by its pid however npm test ends (a failure,
// Ctrl-C, SIGTERM); the exit code is npm test's, and the wall time is printed.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';

const core = availableParallelism() - 1;
// Spins; checks now and then that the runner is still its parent, so that not even a SIGKILLed runner leaves it behind.
const HOG = 'const parent = process.ppid; for (let i = 0; ; i++) if (i % 50_000_000 === 0 && process.ppid !== parent) process.exit(0);';
const pinned = spawnSync('taskset', ['-c', String(core), 'true']).status === 0;
// taskset execs node in its own process, so the pid is the hog's.
const hog = pinned
  ? spawn('taskset', ['-c', String(core), process.execPath, '-e', HOG], { stdio: 'ignore' })
  : spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' });
const stopHog = () => {
  if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
};
process.on('exit', stopHog);

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`test:loaded: a CPU hog (pid ${hog.pid}) keeps core ${pinned ? core : '(any: no taskset)'} of ${availableParallelism()} busy; load average ${load()}`);
const started = performance.now();
const test = spawn('npm', ['test'], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopHog();
    test.kill(signal);
  });
}
test.once('exit', (code, signal) => {
  stopHog();
  const s = Math.round((performance.now() - started) / 1000);
  const status = code ?? 128 + (signal === 'SIGINT' ? 2 : 15);
  console.log(`test:loaded: npm test exited ${status} after ${Math.floor(s / 60)} min ${s % 60} s (wall) with one core busy; load average ${load()}`);
  process.exitCode = status;
});
