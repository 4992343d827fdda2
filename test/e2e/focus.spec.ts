// Focus never falls to <body>: after every action it goes somewhere sensible, a page change focuses the heading and
// names the page in the title, and a modal dialog opens on its safe choice, holds the focus and gives it back.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Page } from '@playwright/test';
import { expect, server, test, waitLive } from './fixtures.ts';
import { clearQueue, openQueue, requestApproval, setupApprovals } from './queue.ts';

let client: Client;
test.beforeAll(async () => {
  client = await setupApprovals();
});
test.afterAll(async () => {
  await client.close();
});

const onBody = (page: Page) => page.evaluate(() => document.activeElement === document.body || document.activeElement === null);

async function createKey(page: Page, name: string): Promise<void> {
  const r = await page.request.post('/console/api/rpc/createKey', { data: { name, scopes: ['ai:read'], tenants: ['acme-dental'] } });
  expect(r.status()).toBe(200);
}

test('a refused passphrase puts the focus back in the field', async ({ guest: page }) => {
  await page.goto('/');
  const field = page.getByLabel('Admin passphrase');
  await expect(field).toBeFocused();
  await field.fill('not the passphrase');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('alert')).toHaveText('Wrong passphrase.');
  await expect(field).toBeFocused();
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  await page.keyboard.type(server().passphrase);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Approvals' })).toBeFocused();
  await expect(page).toHaveTitle(/Countersign · Approvals/);
});

test('a page change focuses its heading and names it in the title', async ({ signedIn: page }) => {
  await page.goto('/#/live');
  await expect(page.getByRole('heading', { level: 1, name: 'Live' })).toBeFocused();
  for (const [key, name] of [['4', 'Audit'], ['6', 'Fleet'], ['3', 'API keys'], ['7', 'Agents'], ['5', 'Policy']] as const) {
    await page.keyboard.press(key);
    await expect(page.getByRole('heading', { level: 1, name })).toBeFocused();
    await expect(page).toHaveTitle(new RegExp(`Countersign · ${name}`));
  }
  await page.getByRole('link', { name: /^Live/ }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Live' })).toBeFocused();
});

test('deciding the last request focuses the empty queue; verify focuses its result', async ({ signedIn: page }) => {
  await clearQueue(page);
  const id = await requestApproval(client, 'last one');
  const card = await openQueue(page, id);
  await card.getByTestId('approve').focus();
  await page.keyboard.press('Enter');
  await expect(card).toBeHidden();
  await expect(page.getByText('No requests waiting').locator('xpath=../..')).toBeFocused();

  await page.keyboard.press('4');
  await page.getByRole('button', { name: 'Verify chain' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('verify-result')).toBeFocused();
});

test('creating a key focuses its panel, Copy comes before Done, and Done returns to New key', async ({ signedIn: page }) => {
  await page.goto('/#/keys');
  await page.getByRole('button', { name: 'New key' }).click();
  const form = page.getByRole('form', { name: 'Create API key' });
  await expect(form.getByLabel('Name')).toBeFocused();
  await form.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('button', { name: 'New key' })).toBeFocused();

  await page.keyboard.press('Enter');
  await form.getByLabel('Name').fill('focus test key');
  await form.getByRole('checkbox', { name: /Acme Dental/i }).check();
  await form.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByRole('heading', { name: 'Key “focus test key” created' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Copy key' })).toBeFocused();
  const done = page.getByRole('button', { name: 'Done, I have copied it' });
  for (let i = 0; i < 12 && !(await done.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(done).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'New key' })).toBeFocused();
});

test('creating an enrollment token focuses its panel; Done returns to New enrollment token', async ({ signedIn: page }) => {
  await page.goto('/#/agents');
  await expect(page.getByRole('heading', { level: 1, name: 'Agents' })).toBeFocused();
  await page.keyboard.press('n');
  const form = page.getByRole('form', { name: 'Create enrollment token' });
  await form.getByLabel('Tenant').selectOption('globex-logistics');
  await form.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByRole('heading', { name: 'Enrollment token for globex-logistics created' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Copy token' })).toBeFocused();
  await page.getByRole('button', { name: 'Done, I have copied it' }).click();
  await expect(page.getByRole('button', { name: /New enrollment token/ })).toBeFocused();
  // Leave no active token behind for other specs.
  const row = page.getByTestId('token-row').filter({ hasText: 'globex-logistics' });
  await row.getByRole('button', { name: /Revoke token/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
  await expect(row).toHaveCount(0);
  expect(await onBody(page)).toBe(false);
});

test('saving the policy focuses the line that says it is saved', async ({ signedIn: page }) => {
  await page.goto('/#/policy');
  const ttl = page.getByLabel(/Approval expiry, minutes/);
  await ttl.fill('31');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByTestId('policy-status')).toHaveText('No unsaved changes');
  await expect(page.getByTestId('policy-status')).toBeFocused();
  await ttl.fill('30');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('policy-status')).toBeFocused();
  await expect(ttl).toHaveValue('30');
});

test('the revoke dialog opens on Cancel, holds the focus, closes on Esc and gives the focus back', async ({ signedIn: page }) => {
  await createKey(page, 'dialog test key');
  await page.goto('/#/keys');
  const row = page.locator('[data-testid="key-row"][data-key-name="dialog test key"]');
  const revoke = row.getByRole('button', { name: 'Revoke…' });
  await revoke.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Revoke “dialog test key”?' });
  const cancel = dialog.getByRole('button', { name: 'Cancel' });
  const confirm = dialog.getByRole('button', { name: 'Revoke key' });
  await expect(cancel).toBeFocused();
  // Enter on the safe choice cancels: the key stays active, the focus is back on its Revoke button.
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(revoke).toBeFocused();
  await expect(row).toContainText('active');

  // Tab and Shift+Tab cycle inside; the page behind is inert, so even a script cannot focus it; Esc still closes.
  await page.keyboard.press('Enter');
  await expect(cancel).toBeFocused();
  for (const [key, expected] of [['Tab', confirm], ['Tab', cancel], ['Tab', confirm], ['Shift+Tab', cancel], ['Shift+Tab', confirm]] as const) {
    await page.keyboard.press(key);
    await expect(expected).toBeFocused();
  }
  await page.getByRole('heading', { level: 1, name: 'API keys' }).focus();
  await expect(confirm).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(revoke).toBeFocused();
  await expect(row).toContainText('active');

  // Confirmed: the row goes, and the focus goes to the page heading, not to <body>.
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(row).toHaveCount(0);
  await expect(page.getByRole('heading', { level: 1, name: 'API keys' })).toBeFocused();
});

test('a drawer closes on Esc from anywhere inside it and gives the focus back to its row', async ({ signedIn: page }) => {
  await page.goto('/#/audit');
  const open = page.getByTestId('audit-row').first().getByRole('button');
  await open.focus();
  await page.keyboard.press('Enter');
  const drawer = page.getByRole('dialog', { name: /Audit entry/ });
  await expect(drawer).toContainText(/[0-9a-f]{64}/);
  await expect(drawer.getByRole('button', { name: 'Close details' })).not.toBeFocused();
  await drawer.getByText('Previous hash').click();
  await page.keyboard.press('Escape');
  await expect(drawer).toBeHidden();
  await expect(open).toBeFocused();
});

test('new requests, and decisions made elsewhere, are announced politely', async ({ signedIn: page }) => {
  await clearQueue(page);
  await page.goto('/#/live');
  await waitLive(page);
  const announcer = page.getByTestId('announcer');
  await expect(announcer).toHaveAttribute('aria-live', 'polite');
  const id = await requestApproval(client, 'announced');
  await expect(announcer).toContainText('New approval request: device_actions · reboot on northwind-legal. 1 waiting.');
  const r = await page.request.post('/console/api/rpc/deny', { data: { id, reason: 'Decided in another console.' } });
  expect(r.status()).toBe(200);
  await expect(announcer).toContainText('Request denied: device_actions · reboot on northwind-legal.');
});
