// Playwright in Debian's Chromium against a real `countersign serve` (port 0, demo data) started by the global setup.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'test/e2e',
  globalSetup: './test/e2e/global-setup.ts',
  // One server, one approval queue: the specs run one after another.
  workers: 1,
  fullyParallel: false,
  timeout: 45_000,
  expect: { timeout: 5_000 },
  forbidOnly: !!process.env.CI,
  // CI also writes a JSON report; .ci/summary.mjs sums it with the other runners into one closing line.
  reporter: process.env.CI ? [['list'], ['json', { outputFile: '.ci/playwright.json' }]] : [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
