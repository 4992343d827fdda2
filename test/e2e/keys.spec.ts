// A key made in the UI works from an SDK client; revoked in the UI, the next call fails.
import { devices, expect, mcpClient, server, test } from './fixtures.ts';

test('create a key, copy it, use it from an SDK client, revoke it: the next call fails with 401', async ({ signedIn: page }) => {
  await page.goto('/#/keys');
  await page.getByRole('button', { name: 'New key' }).click();
  const form = page.getByRole('form', { name: 'Create API key' });
  await form.getByLabel('Name').fill('e2e ui key');
  await form.getByRole('checkbox', { name: /ai:write/ }).check();
  await form.getByRole('checkbox', { name: /Acme Dental/i }).check();
  await form.getByLabel('Reads per minute').fill('120');
  await form.getByRole('button', { name: 'Create key' }).click();

  const shown = await page.getByTestId('new-key-secret').textContent();
  expect(shown).toMatch(/^csk_[A-Za-z0-9_-]{32}$/);
  await page.getByRole('button', { name: 'Copy key' }).click();
  await expect(page.getByRole('button', { name: 'Copied', exact: true })).toBeVisible();
  const key = await page.evaluate(() => navigator.clipboard.readText());
  expect(key).toBe(shown);

  // The Claude Code snippet is the README's, with this server and this key.
  await expect(page.getByLabel('Claude Code snippet')).toHaveText(`claude mcp add --transport sse countersign ${server().url}/api/v1/mcp/sse --header "X-API-Key: ${key}"`);
  for (const tab of ['Claude Desktop', 'Cursor', 'Windsurf']) {
    await page.getByRole('tab', { name: tab, exact: true }).click();
    await expect(page.getByLabel(`${tab} snippet`)).toContainText(`${server().url}/api/v1/mcp`);
  }
  await expect(page.getByLabel('Windsurf snippet')).toContainText('"serverUrl"');

  const client = await mcpClient(key);
  const mine = await devices(client, 'acme-dental', 'linux');
  expect(mine.every((d) => d.tenant === 'acme-dental')).toBe(true);

  await page.getByRole('button', { name: 'Done, I have copied it' }).click();
  await expect(page.getByTestId('new-key-secret')).toBeHidden();
  const row = page.locator('[data-testid="key-row"][data-key-name="e2e ui key"]');
  await expect(row).toContainText('acme-dental');
  await expect(row).toContainText('ai:write');
  await expect(row).toContainText(/\/120/);
  await page.reload();
  await expect(row.locator('td.num.mono')).toHaveText('1');

  await row.getByRole('button', { name: 'Revoke…' }).click();
  const dialog = page.getByRole('dialog', { name: /Revoke/ });
  await expect(dialog).toContainText('fails on its next request');
  await dialog.getByRole('button', { name: 'Revoke key' }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole('checkbox', { name: /Show revoked/ }).check();
  await expect(row).toContainText('revoked');

  const failed = await client.callTool({ name: 'list_devices', arguments: {} }).then(() => null, (e: Error) => e);
  expect(failed?.message).toMatch(/401|revoked/i);
  await client.close().catch(() => {});
});
