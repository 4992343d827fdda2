// Playwright in Debian's Chromium against a real `countersign serve` (port 0, demo data) per worker (test/e2e/fixtures.ts).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';
import { slowdown } from './test/helpers/slowdown.ts';
import { findChromium } from './scripts/chromium.ts';

// Budgets scale with this machine, as in the Vitest suites (workers read the factor back from the environment).
const factor = slowdown();
// The CLI and agent processes the specs start reuse compiled modules (see vitest.config.ts).
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, 'node_modules/.cache/countersign-tests/node-compile-cache');

export default defineConfig({
  testDir: 'test/e2e',
  globalSetup: './test/e2e/global-setup.ts',
  // Each worker has its own server and approval queue (fixtures.ts); the specs of a file run in order on it. Two workers
  // on any machine with two cores or more: a spec mostly waits on the browser and the server, not on the CPU.
  workers: Number(process.env.CS_E2E_WORKERS ?? Math.min(2, Math.max(1, availableParallelism()))),
  fullyParallel: false,
  timeout: 45_000 * factor,
  expect: { timeout: 5_000 * factor },
  forbidOnly: !!process.env.CI,
  // CI also writes a JSON report; .ci/summary.mjs sums it with the other runners into one closing line.
  reporter: process.env.CI ? [['list'], ['json', { outputFile: '.ci/playwright.json' }]] : [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      // CHROMIUM_PATH, else `chromium` on PATH (npm test checks for it, or installs it, first: scripts/chromium.ts).
      executablePath: findChromium() ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
