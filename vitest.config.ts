import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL for the run (team mode): see test/globalSetup.ts.
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most suites wait on I/O (servers, child processes, keep-alive timers), so more workers than the 2 cores pay off.
    maxWorkers: 4,
    // CI also writes a JSON report; .ci/summary.mjs sums it with the other runners into one closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/vitest.json' }]] : ['default'],
  },
});
