// Vitest setup file (runs in the worker before each test file): the file's own temporary folder inside the run's
// (test/helpers/tmpRoot.ts), removed once the file's own afterAll hooks have stopped its servers and agents.
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, expect } from 'vitest';
import { enterTmpFolder, removeTmpFolder } from './helpers/tmpRoot.ts';

const dir = enterTmpFolder('cs-file-');
afterAll(() => removeTmpFolder(dir));

// COUNTERSIGN_TEST_CPU_LOG=FILE: one line per test file with its wall time and the CPU of its worker and every child
// process it reaped (user + system), to find where the suite's time goes.
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
