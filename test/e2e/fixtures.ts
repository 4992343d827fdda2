// Shared pieces of the console e2e specs: the worker's own server, a signed-in page, an MCP SDK client,
// screenshots in light and dark, and a guard that fails a test on any CSP violation or uncaught page error.
import { createHash } from 'node:crypto';
import { mkdirSync, appendFileSync } from 'node:fs';
import { expect, test as base, type Browser, type Page } from '@playwright/test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { budget } from '../helpers/wait.ts';
import { startConsoleServer, type ConsoleServer } from './consoleServer.ts';

/** Time budgets scaled to this machine (the factor playwright.config.ts measured): the Vitest suites' helper. */
export { budget };

let current: ConsoleServer | undefined;
/** This worker's server (started by the `consoleServer` worker fixture before the first spec of the worker). */
export const server = (): ConsoleServer => {
  if (!current) throw new Error('the e2e console server is not started: import `test` from fixtures.ts');
  return current;
};

export const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export async function mcpClient(key = server().key): Promise<Client> {
  const client = new Client({ name: 'e2e-sdk-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', server().url), { requestInit: { headers: { 'X-API-Key': key } } }));
  return client;
}

export const structured = <T>(r: unknown) => (r as { structuredContent: T }).structuredContent;

export interface Device { id: string; hostname: string; os: string; status: string; tenant: string }
export async function devices(client: Client, tenant: string, os: string): Promise<Device[]> {
  const r = await client.callTool({ name: 'list_devices', arguments: { tenant, os, limit: 50 } });
  return structured<{ devices: Device[] }>(r).devices;
}

/** Records a timing for the report (test-results/e2e-timings.txt) and the test's annotations. */
export function timing(name: string, ms: number): void {
  mkdirSync('test-results', { recursive: true });
  appendFileSync('test-results/e2e-timings.txt', `${name}: ${Math.round(ms)} ms\n`);
  test.info().annotations.push({ type: 'timing', description: `${name}: ${Math.round(ms)} ms` });
  console.log(`[e2e timing] ${name}: ${Math.round(ms)} ms`);
}

/** Screenshots are taken only when asked for: COUNTERSIGN_SCREENSHOTS=1 npm run test:e2e. */
export const SCREENSHOTS = process.env.COUNTERSIGN_SCREENSHOTS === '1';

/**
 * The viewport (1280×800 unless the test sets another), or the whole scrolled page (`fullPage`), in both color schemes.
 * A picture asserts nothing, and encoding them (a 400% full page above all) was a tenth of the browser suite's CPU:
 * without COUNTERSIGN_SCREENSHOTS=1 this does nothing, and the checks around each call run all the same.
 */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync('test-results/screenshots', { recursive: true });
  const size = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.mouse.move(size.width - 1, size.height - 1);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction((s) => matchMedia(`(prefers-color-scheme: ${s})`).matches, scheme);
    const path = `test-results/screenshots/${name}-${scheme}.png`;
    // The console scrolls inside its main pane; for a full-page capture the document itself has to grow.
    if (opts.fullPage) await page.evaluate(() => document.documentElement.classList.add('capture-full'));
    // Transitions the scheme change started are run to their end rather than waited for.
    await page.screenshot({ path, fullPage: opts.fullPage ?? false, animations: 'disabled' });
    if (opts.fullPage) await page.evaluate(() => document.documentElement.classList.remove('capture-full'));
    await test.info().attach(`${name}-${scheme}`, { path, contentType: 'image/png' });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Waits until the event stream is open, so pushed events reach the page. */
export async function waitLive(page: Page): Promise<void> {
  await expect(page.getByTestId('connection')).toHaveText(/Live/, { timeout: budget(10_000) });
}

type Screen = { viewport: { width: number; height: number } | null; deviceScaleFactor: number | undefined };

async function watchedPage(browser: Browser, signedIn: boolean, screen: Screen, use: (p: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({
    baseURL: server().url,
    // test.use({ viewport, deviceScaleFactor }) applies here too (200% zoom = half the CSS pixels at twice the density).
    viewport: screen.viewport, deviceScaleFactor: screen.deviceScaleFactor,
    ...(signedIn ? { storageState: server().state } : {}),
    permissions: ['clipboard-read', 'clipboard-write', 'notifications'],
  });
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[]; __notes: string[] };
    w.__csp = [];
    w.__notes = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    // Records each web notification the console raises (the real one still shows where the platform allows). The
    // context grants the permission, but the headless shell has no notification platform and reports 'denied' anyway:
    // here it reads as granted, as it does in the full browser, so the console's own decision to notify is what runs.
    const Native = window.Notification;
    if (Native) {
      window.Notification = class extends Native {
        static override get permission(): NotificationPermission {
          return 'granted';
        }
        constructor(title: string, options?: NotificationOptions) {
          w.__notes.push(title);
          super(title, options);
        }
      } as typeof Notification;
    }
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await use(page);
  const csp = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => [] as string[]);
  await context.close();
  expect([...problems, ...csp.map((c) => `csp: ${c}`)], 'CSP violations or page errors').toEqual([]);
}

export const test = base.extend<{ signedIn: Page; guest: Page }, { consoleServer: ConsoleServer }>({
  // One server per worker, started before the worker's first spec (and its beforeAll hooks), stopped after its last.
  consoleServer: [async ({}, use) => {
    current = await startConsoleServer();
    try {
      await use(current);
    } finally {
      await current.stop();
      current = undefined;
    }
  }, { scope: 'worker', auto: true, timeout: budget(60_000) }],
  signedIn: async ({ browser, viewport, deviceScaleFactor }, use) => watchedPage(browser, true, { viewport, deviceScaleFactor }, use),
  guest: async ({ browser, viewport, deviceScaleFactor }, use) => watchedPage(browser, false, { viewport, deviceScaleFactor }, use),
});
export { expect };
