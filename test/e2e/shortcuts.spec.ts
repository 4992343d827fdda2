// The `?` overlay lists every shortcut; its setting turns single-key shortcuts off or makes them need Alt, and sticks.
// No shortcut acts while the focus is in a text field.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SHORTCUTS } from '../../src-renderer/lib/shortcuts.ts';
import { expect, test } from './fixtures.ts';
import { clearQueue, requestApproval, setupApprovals } from './queue.ts';

let client: Client;
test.beforeAll(async () => {
  client = await setupApprovals();
});
test.afterAll(async () => {
  await client.close();
});

const heading = (page: import('@playwright/test').Page, name: string) => page.getByRole('heading', { level: 1, name });

test('? shows every shortcut; it opens on Close, Esc closes it and the focus comes back', async ({ signedIn: page }) => {
  await page.goto('/#/live');
  await expect(heading(page, 'Live')).toBeFocused();
  await page.keyboard.press('?');
  const overlay = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(overlay).toBeVisible();
  await expect(overlay.getByRole('button', { name: 'Close' })).toBeFocused();
  const rows = overlay.getByTestId('shortcut');
  await expect(rows).toHaveCount(SHORTCUTS.length);
  for (const s of SHORTCUTS) await expect(rows.filter({ hasText: s.label })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'Select the next request' })).toContainText('j');
  // Shortcuts do not act behind the dialog.
  await page.keyboard.press('2');
  await expect(overlay).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(overlay).toBeHidden();
  await expect(heading(page, 'Live')).toBeFocused();
  // The sidebar button opens it too, and the focus returns to that button.
  const button = page.getByRole('button', { name: 'Keyboard shortcuts' });
  await button.click();
  await expect(overlay).toBeVisible();
  await page.keyboard.press('Enter');
  await expect(overlay).toBeHidden();
  await expect(button).toBeFocused();
});

test('single-key shortcuts: off, then only with Alt; the choice survives a reload', async ({ signedIn: page }) => {
  // Every page change is a history entry: a shortcut that acted would show up here.
  const visits = () => page.evaluate(() => window.history.length);
  await page.goto('/#/live');
  await expect(heading(page, 'Live')).toBeFocused();
  const overlay = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await page.keyboard.press('?');
  await overlay.getByRole('radio', { name: 'Off' }).check();
  await expect(overlay.getByTestId('shortcut').filter({ hasText: 'Go to Live' })).toContainText('(off)');
  await page.keyboard.press('Escape');
  await expect(overlay).toBeHidden();

  // Off: digits and ? do nothing (an open overlay would make the link below unreachable).
  await page.reload();
  await expect(heading(page, 'Live')).toBeFocused();
  const start = await visits();
  await page.keyboard.press('4');
  await page.keyboard.press('?');
  await page.getByRole('link', { name: /^Fleet/ }).click();
  await expect(heading(page, 'Fleet')).toBeFocused();
  expect(await visits()).toBe(start + 1);
  await expect(overlay).toHaveCount(0);
  await expect(page.getByRole('link', { name: /^Audit/ })).not.toHaveAttribute('aria-keyshortcuts', /.+/);

  // Alt: the bare key does nothing, Alt with it acts.
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await overlay.getByRole('radio', { name: /Only with Alt/ }).check();
  await expect(overlay.getByTestId('shortcut').filter({ hasText: 'Go to Live' })).toContainText('Alt+1');
  await page.keyboard.press('Escape');
  await expect(overlay).toBeHidden();
  const before = await visits();
  await page.keyboard.press('3');
  await page.keyboard.press('Alt+4');
  await expect(heading(page, 'Audit')).toBeFocused();
  expect(await visits()).toBe(before + 1);
  await expect(page.getByRole('link', { name: /^Live/ })).toHaveAttribute('aria-keyshortcuts', 'Alt+1');
  await page.keyboard.press('Alt+Shift+Slash');
  await expect(overlay).toBeVisible();
  await expect(overlay.getByRole('radio', { name: /Only with Alt/ })).toBeChecked();
  await page.keyboard.press('Escape');

  // On an approval card: a alone neither arms nor approves; Alt+a arms, Alt+a again approves.
  await clearQueue(page);
  const id = await requestApproval(client, 'alt shortcuts');
  await page.reload();
  await expect(heading(page, 'Audit')).toBeFocused();
  await page.keyboard.press('Alt+2');
  const card = page.locator(`[data-approval-id="${id}"]`);
  await card.click({ position: { x: 5, y: 5 } });
  await expect(card).toContainText('Alt+j/Alt+k move');
  await page.keyboard.press('a');
  await expect(card.getByTestId('approve')).toHaveText('Approve');
  await page.keyboard.press('Alt+a');
  await expect(card.getByTestId('approve')).toHaveText('Press Alt+a or Enter to approve');
  await page.keyboard.press('Alt+a');
  await expect(card).toBeHidden();
});

test('no shortcut acts while typing in a text field', async ({ signedIn: page }) => {
  await page.goto('/#/audit');
  await expect(heading(page, 'Audit')).toBeFocused();
  const search = page.getByLabel('Search');
  await page.keyboard.press('/');
  await expect(search).toBeFocused();
  await page.keyboard.type('j2?/a');
  await expect(search).toHaveValue('j2?/a');
  await expect(heading(page, 'Audit')).toBeVisible();
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toHaveCount(0);
});
