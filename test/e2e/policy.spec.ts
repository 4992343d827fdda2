// Policy: a value pinned by the server's environment is read-only; others save; tier overrides raise and are removed.
import { expect, test } from './fixtures.ts';

test('pinned settings are read-only; a change saves; an override is added and removed', async ({ signedIn: page }) => {
  await page.goto('/#/policy');
  const rps = page.getByLabel(/HTTP requests per second/);
  await expect(rps).toBeDisabled();
  await expect(page.getByText('pinned by COUNTERSIGN_HTTP_RPS')).toBeVisible();
  await expect(page.getByText(/1 setting is pinned by environment variables/)).toBeVisible();

  const ttl = page.getByLabel(/Approval expiry, minutes/);
  await ttl.fill('45');
  await expect(page.getByText('1 unsaved change')).toBeVisible();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByText('Policy saved: approvalTtlMinutes')).toBeVisible();
  await page.reload();
  await expect(page.getByLabel(/Approval expiry, minutes/)).toHaveValue('45');
  await page.getByLabel(/Approval expiry, minutes/).fill('30');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByText('No unsaved changes')).toBeVisible();

  const form = page.getByRole('form', { name: 'Add a tier override' });
  await form.getByLabel('Tool').selectOption('get_alerts');
  await form.getByLabel('Tenant').selectOption('acme-dental');
  await form.getByLabel('Raise to').selectOption('2');
  await form.getByRole('button', { name: 'Add override' }).click();
  const table = page.getByRole('table', { name: 'Tier overrides' });
  await expect(table).toContainText('get_alerts');
  await expect(table).toContainText('acme-dental');
  await table.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByText('No overrides')).toBeVisible();
});
