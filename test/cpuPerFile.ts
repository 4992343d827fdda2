// Vitest setup file: with COUNTERSIGN_TEST_CPU_LOG=FILE, one line per test file with its wall time and the CPU of its
// worker and of every child process it reaped (user + system, ms), to find where the suite's time goes.
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, expect } from 'vitest';

const cpuLog = process.env.COUNTERSIGN_TEST_CPU_LOG;
if (cpuLog) {
  const cpu = () => {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return { self: (+f[11]! + +f[12]!) * 10, children: (+f[13]! + +f[14]!) * 10 };
  };
  const start = cpu();
  const t0 = performance.now();
  afterAll(() => {
    const end = cpu();
    const file = expect.getState().testPath ?? '?';
    appendFileSync(cpuLog, `${Math.round(performance.now() - t0)}\t${end.self - start.self}\t${end.children - start.children}\t${file.replace(process.cwd() + '/', '')}\n`);
  });
}
