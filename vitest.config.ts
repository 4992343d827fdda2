import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { slowdown, SLOWDOWN_ENV } from './test/helpers/slowdown.ts';

// Measured once here; workers and the processes they start read it back from the environment (test/helpers/wait.ts).
const factor = slowdown();
console.log(`test budgets ×${factor} (${SLOWDOWN_ENV}; measured unless set)`);

// The suites start hundreds of Node processes (CLI, serve, agents): Node's compile cache lets each one skip compiling
// the modules the previous ones already compiled. Workers and their children inherit it through the environment.
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, 'node_modules/.cache/countersign-tests/node-compile-cache');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000 * factor,
    hookTimeout: 30_000 * factor,
    pool: 'forks',
    maxWorkers: availableParallelism(),
    // CI also writes a JSON report; .ci/summary.mjs sums it with the other runners into one closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/vitest.json' }]] : ['default'],
  },
});
