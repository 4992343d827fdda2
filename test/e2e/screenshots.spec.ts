// Every page in the state worth looking at, at 1280×800; then at 1024×768, at 200% zoom (640×400 CSS px at twice the
// density, what Chromium's zoom does to a 1280×800 window) and at 400% (320×200 CSS px), with no horizontal page scroll
// at any size. With COUNTERSIGN_SCREENSHOTS=1, each also in test-results/screenshots/<page>[-<size>]-<scheme>.png.
import type { Page } from '@playwright/test';
import { budget, devices, expect, mcpClient, screenshot, structured, test, waitLive } from './fixtures.ts';
import { fillQueue } from './queue.ts';

test('every page, light and dark', async ({ signedIn: page, guest }) => {
  test.setTimeout(budget(90_000));
  await guest.goto('/');
  await expect(guest.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await screenshot(guest, 'login');

  const client = await mcpClient();
  const acme = await devices(client, 'acme-dental', 'windows');
  await page.goto('/#/approvals');
  await waitLive(page);
  await fillQueue(client);
  await expect(page.locator('article.approval')).not.toHaveCount(0);
  await page.locator('article.approval').last().scrollIntoViewIfNeeded();
  await page.locator('article.approval').first().scrollIntoViewIfNeeded();
  await screenshot(page, 'approvals');
  await screenshot(page, 'approvals-queue', { fullPage: true });
  await page.keyboard.press('?');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  await screenshot(page, 'shortcuts');
  await page.keyboard.press('Escape');
  // Something for the history tab, whatever ran before this spec.
  const done = structured<{ approvalId: string }>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [acme[5]!.id] } }));
  const denied = await page.request.post('/console/api/rpc/deny', { data: { id: done.approvalId, reason: 'Reboot after the backup window, not during it.' } });
  expect(denied.status()).toBe(200);
  await page.getByRole('tab', { name: 'History' }).click();
  await expect(page.getByRole('table', { name: 'Decided approvals' })).toBeVisible();
  await screenshot(page, 'approvals-history');

  await page.goto('/#/live');
  await expect(page.getByTestId('live-row').first()).toBeVisible();
  await screenshot(page, 'live');
  await page.getByTestId('live-row').first().click();
  await screenshot(page, 'live-call');
  await page.keyboard.press('Escape');

  await page.goto('/#/keys');
  await expect(page.getByRole('table', { name: 'API keys' })).toBeVisible();
  await screenshot(page, 'keys');
  await page.getByRole('button', { name: 'New key' }).click();
  await screenshot(page, 'keys-create');
  await page.getByLabel('Name').fill('screenshot key');
  await page.getByRole('checkbox', { name: /Globex/i }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key-secret')).toBeVisible();
  await page.getByRole('tab', { name: 'Claude Desktop' }).click();
  await screenshot(page, 'keys-created');
  await page.getByRole('button', { name: 'Done, I have copied it' }).click();

  await page.goto('/#/audit');
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByTestId('verify-result')).toBeVisible();
  await screenshot(page, 'audit');
  await page.getByTestId('audit-row').first().click();
  await screenshot(page, 'audit-entry');
  await page.keyboard.press('Escape');

  await page.goto('/#/policy');
  await expect(page.getByRole('heading', { name: 'Tier overrides' })).toBeVisible();
  await screenshot(page, 'policy');

  await page.goto('/#/fleet');
  await expect(page.locator('.recharts-bar-rectangle').first()).toBeVisible();
  await screenshot(page, 'fleet');

  // The theme toggle overrides the system preference.
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByRole('button', { name: 'Theme: system' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await page.getByRole('button', { name: 'Theme: light' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.getByRole('button', { name: 'Theme: dark' }).click();
  await expect(page.locator('html')).not.toHaveAttribute('data-theme', /.+/);
  await client.close();
});

/** Each page in the state worth looking at, ready when `ready` holds. */
const PAGES: [string, string, (p: Page) => Promise<void>][] = [
  ['approvals', '/#/approvals', (p) => expect(p.locator('article.approval').first()).toBeVisible()],
  ['live', '/#/live', (p) => expect(p.getByTestId('live-row').first()).toBeVisible()],
  ['keys', '/#/keys', (p) => expect(p.getByRole('table', { name: 'API keys' })).toBeVisible()],
  ['audit', '/#/audit', (p) => expect(p.getByTestId('audit-row').first()).toBeVisible()],
  ['policy', '/#/policy', (p) => expect(p.getByRole('heading', { name: 'Tier overrides' })).toBeVisible()],
  ['fleet', '/#/fleet', (p) => expect(p.locator('.recharts-bar-rectangle').first()).toBeVisible()],
  ['agents', '/#/agents', (p) => expect(p.getByRole('heading', { name: 'Enrollment tokens' })).toBeVisible()],
];

/** At 1024 px every table fits its box: nothing is hidden behind a horizontal scroll. */
async function expectTablesFit(page: Page, what: string): Promise<void> {
  const wide = await page.locator('.scroll:has(table)').evaluateAll((boxes) =>
    boxes.filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => `${b.querySelector('table')?.getAttribute('aria-label')}: ${b.scrollWidth} px in ${b.clientWidth}`));
  expect(wide, `${what}: tables wider than their box`).toEqual([]);
}

/** The page fits the window's width: no horizontal scroll of the document itself. */
async function expectNoPageScroll(page: Page, what: string): Promise<void> {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(scroll, `${what}: the page is ${scroll} px wide in a ${width} px window`).toBeLessThanOrEqual(width);
}

const SIZES = [
  { size: '1024', viewport: { width: 1024, height: 768 }, deviceScaleFactor: 1 },
  { size: 'zoom200', viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 },
  { size: 'zoom400', viewport: { width: 320, height: 200 }, deviceScaleFactor: 4 },
];

for (const { size, viewport, deviceScaleFactor } of SIZES) {
  test.describe(`at ${size}`, () => {
    test.use({ viewport, deviceScaleFactor });
    test(`every page at ${viewport.width}×${viewport.height} CSS px, light and dark`, async ({ signedIn: page, guest }) => {
      test.setTimeout(budget(120_000));
      await guest.goto('/');
      await expect(guest.getByRole('form', { name: 'Sign in' })).toBeVisible();
      await expectNoPageScroll(guest, 'sign-in');
      await screenshot(guest, `login-${size}`);

      const client = await mcpClient();
      await page.goto('/#/approvals');
      await waitLive(page);
      if (!(await page.locator('article.approval').count())) await fillQueue(client);
      for (const [name, url, ready] of PAGES) {
        await page.goto(url);
        await ready(page);
        await expectNoPageScroll(page, name);
        if (size === '1024') await expectTablesFit(page, name);
        // At 400% the window is 200 CSS px tall: the whole page shows more than its first screen.
        await screenshot(page, `${name}-${size}`, { fullPage: size === 'zoom400' });
      }
      await page.goto('/#/approvals');
      await page.getByRole('tab', { name: 'History' }).click();
      await expect(page.getByRole('table', { name: 'Decided approvals' }).or(page.getByText('No decided requests yet'))).toBeVisible();
      await expectNoPageScroll(page, 'approvals history');
      if (size === '1024') await expectTablesFit(page, 'approvals history');
      await screenshot(page, `approvals-history-${size}`);
      const menu = page.getByRole('button', { name: 'Menu' });
      if (await menu.isVisible()) {
        await menu.click();
        await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible();
        await expectNoPageScroll(page, 'menu');
        await screenshot(page, `menu-${size}`);
      }
      await client.close();
    });
  });
}
