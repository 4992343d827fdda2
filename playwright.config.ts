// Playwright in Debian's Chromium against a real `countersign serve` (port 0, demo data) per worker (test/e2e/fixtures.ts).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';
import { slowdown } from './test/helpers/slowdown.ts';
import { findChromium, isHeadlessShell } from './scripts/chromium.ts';

const chromium = findChromium() ?? '/usr/bin/chromium';
// Budgets scale with this machine, as in the Vitest suites (workers read the factor back from the environment).
const factor = slowdown();
// The CLI and agent processes the specs start reuse compiled modules (see vitest.config.ts).
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, 'node_modules/.cache/countersign-tests/node-compile-cache');
// Passphrases at scrypt 2^10, not the product's 2^15: the suites derive hundreds (every console login, every init), 40 s
// of CPU a run at full cost. The KDF's own tests, and the CLI's check of what init stores, use the product's cost.
process.env.COUNTERSIGN_PASSPHRASE_COST_LOG2 ??= '10';

export default defineConfig({
  testDir: 'test/e2e',
  globalSetup: './test/e2e/global-setup.ts',
  // Each worker has its own server and approval queue (fixtures.ts). Two workers on any machine with two cores or more:
  // a spec mostly waits on the browser and the server, not on the CPU. Specs are spread over the workers one by one,
  // not file by file: the long matrices (every key on every card control, every page at every size) would otherwise
  // all land on one worker. So no spec may rely on another having run before it: each sets up what it needs.
  workers: Number(process.env.CS_E2E_WORKERS ?? Math.min(2, Math.max(1, availableParallelism()))),
  fullyParallel: true,
  timeout: 45_000 * factor,
  expect: { timeout: 5_000 * factor },
  forbidOnly: !!process.env.CI,
  // CI also writes a JSON report; .ci/summary.mjs sums it with the other runners into one closing line.
  reporter: process.env.CI ? [['list'], ['json', { outputFile: '.ci/playwright.json' }]] : [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      // CHROMIUM_PATH, else `chromium-headless-shell`, else `chromium`, on PATH (npm test checks for it, or installs the
      // headless shell, first: scripts/chromium.ts). The full browser needs to be told to run headless.
      executablePath: chromium,
      // Smooth scrolling off: a key's scroll lands in the key's own event, not in a compositor animation that a loaded
      // machine can leave unfinished (a code block's ArrowDown once read scrollTop 0 for 6.5 s in CI). The console's
      // own scrolls are then instant too, as with prefers-reduced-motion; no spec depends on their animation.
      args: [...(isHeadlessShell(chromium) ? [] : ['--headless=new']), '--disable-smooth-scrolling', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    // A failure keeps its screenshot and the page's accessibility snapshot (error-context.md). The full trace is asked
    // for (COUNTERSIGN_E2E_TRACE=1): recording one for every spec, failed or not, took about half the suite's CPU
    // (the approval-key matrices: 63 s of CPU with it, 26 s without).
    trace: process.env.COUNTERSIGN_E2E_TRACE === '1' ? 'retain-on-failure' : 'off',
    screenshot: 'only-on-failure',
  },
});
