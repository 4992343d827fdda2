// A Trojan-Source script: a right-to-left override (U+202E), a left-to-right isolate (U+2066) and a zero-width space
// (U+200B) in the body. The card shows each as its escaped code point, never as itself, says what it found, and
// approving needs an explicit second confirmation (the dialog opens on Cancel; Enter there approves nothing).
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { devices, expect, mcpClient, screenshot, structured, test, waitLive } from './fixtures.ts';
import { approvalStatus, clearQueue } from './queue.ts';

let client: Client;
test.beforeAll(async () => {
  client = await mcpClient();
});
test.afterAll(async () => {
  await client.close();
});

test('a Trojan-Source script card shows the escaped code points and asks for the second confirmation', async ({ signedIn: page }) => {
  await clearQueue(page);
  await page.goto('/#/approvals');
  await waitLive(page);
  const [d] = await devices(client, 'northwind-legal', 'windows');
  // Reads as an admin-only check; runs with the comment's text inside the string.
  const body = `$role = "user"\nif ($role -eq "admin\u202E \u2066# check admins only\u2069 \u2066") {\n  Write-Output "access granted"\u200B\n}`;
  const r = structured<{ status: string; approvalId: string }>(await client.callTool({ name: 'run_script', arguments: { language: 'powershell', body, deviceIds: [d!.id] } }));
  expect(r.status).toBe('pending_approval');
  const card = page.locator(`[data-approval-id="${r.approvalId}"]`);
  await expect(card).toBeVisible();

  await expect(card.getByTestId('hidden-text')).toContainText('5 hidden or look-alike characters');
  const code = card.getByRole('group', { name: /^Body of/ }).or(card.getByRole('region', { name: /^Body of/ }));
  for (const cp of ['U+202E', 'U+2066', 'U+2069', 'U+200B']) await expect(code.locator(`[data-code-point="${cp}"]`).first()).toHaveText(`⟨${cp}⟩`);
  // None of them is in the page as itself: what the card shows is what runs.
  const shown = await code.evaluate((el) => el.textContent ?? '');
  expect(shown).not.toMatch(/[\u202E\u2066\u2069\u200B]/);
  expect(shown).toContain('admin⟨U+202E⟩ ⟨U+2066⟩# check admins only⟨U+2069⟩ ⟨U+2066⟩');
  await card.getByText('Where they are').click();
  await expect(card.getByRole('list', { name: 'Hidden characters' })).toContainText('script.body: U+202E RIGHT-TO-LEFT OVERRIDE');
  await expect(card.getByTestId('approve-grant')).toHaveCount(0);
  await screenshot(page, 'approvals-trojan-source');

  // Approve asks again; the dialog opens on Cancel, and Enter there approves nothing. a, a asks too.
  await card.getByTestId('approve').click();
  const dialog = page.getByRole('dialog', { name: 'Approve a request with hidden characters?' });
  await expect(dialog).toContainText('U+202E RIGHT-TO-LEFT OVERRIDE');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  expect(await approvalStatus(client, r.approvalId)).toBe('pending');
  await card.click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('a');
  await page.keyboard.press('a');
  await expect(dialog).toBeVisible();
  expect(await approvalStatus(client, r.approvalId)).toBe('pending');
  await dialog.getByTestId('confirm-hidden').click();
  await expect(card).toBeHidden();
  expect(await approvalStatus(client, r.approvalId)).toBe('running');
});
