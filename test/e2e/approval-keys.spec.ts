// The approval card does exactly what the focused control says: Enter and Space act on the focused button only,
// the armed approve is confirmed only by `a` or the focused Approve button, Esc backs out from anywhere in the card.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { expect, test } from './fixtures.ts';
import { approvalStatus, clearQueue, openQueue, requestApproval, setupApprovals } from './queue.ts';

let client: Client;
test.beforeAll(async () => {
  client = await setupApprovals();
});
test.afterAll(async () => {
  await client.close();
});

test('Enter on "Deny…" of an armed card opens the deny form and never approves', async ({ signedIn: page }) => {
  await clearQueue(page);
  const id = await requestApproval(client, 'enter on deny');
  const card = await openQueue(page, id);
  await card.click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('a');
  await expect(card.getByTestId('approve')).toHaveText('Press a or Enter to approve');
  await card.getByTestId('deny').focus();
  await page.keyboard.press('Enter');
  await expect(card.getByLabel(/Reason for the model/)).toBeFocused();
  expect(await approvalStatus(client, id)).toBe('pending');
  // And the deny goes through from there.
  await page.keyboard.type('Backing out with the keyboard.');
  await page.keyboard.press('Enter');
  await expect(card).toBeHidden();
  expect(await approvalStatus(client, id)).toBe('denied');
});

test('Enter on "Cancel (Esc)" of an armed card disarms it and never approves', async ({ signedIn: page }) => {
  await clearQueue(page);
  const id = await requestApproval(client, 'enter on cancel');
  const card = await openQueue(page, id);
  await card.click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('a');
  const cancel = card.getByRole('button', { name: 'Cancel (Esc)' });
  await cancel.focus();
  await page.keyboard.press('Enter');
  await expect(card.getByTestId('approve')).toHaveText('Approve');
  await expect(cancel).toBeHidden();
  expect(await approvalStatus(client, id)).toBe('pending');
});
