// A screenshot of every page, light and dark, at 1280×800: test-results/screenshots/<page>-<scheme>.png.
import { budget, devices, expect, mcpClient, screenshot, structured, test, waitLive } from './fixtures.ts';

test('every page, light and dark', async ({ signedIn: page, guest }) => {
  test.setTimeout(budget(90_000));
  await guest.goto('/');
  await expect(guest.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await screenshot(guest, 'login');

  const client = await mcpClient();
  const acme = await devices(client, 'acme-dental', 'windows');
  const linux = await devices(client, 'globex-logistics', 'linux');
  const scripts = structured<{ scripts: { id: string; name: string; language: string; scope: string }[] }>(
    await client.callTool({ name: 'list_scripts', arguments: { tenant: 'globex-logistics', language: 'bash', limit: 50 } })).scripts;
  const missing = structured<{ patches: { deviceId: string; patchId: string }[] }>(
    await client.callTool({ name: 'get_patch_status', arguments: { tenant: 'acme-dental', state: 'missing', os: 'windows', limit: 20 } })).patches;
  await page.goto('/#/approvals');
  await waitLive(page);
  const deploy = missing[0]!;
  await client.callTool({ name: 'deploy_patches', arguments: { deviceIds: [deploy.deviceId], patchIds: [...new Set(missing.filter((p) => p.deviceId === deploy.deviceId).map((p) => p.patchId))].slice(0, 3) } });
  await client.callTool({ name: 'run_script', arguments: { scriptId: scripts[0]!.id, deviceIds: linux.slice(0, 3).map((d) => d.id) } });
  await client.callTool({ name: 'device_actions', arguments: { action: 'isolate', deviceIds: [acme[4]!.id], reason: 'EDR flagged a suspicious PowerShell process' } });
  await expect(page.locator('article.approval')).not.toHaveCount(0);
  await page.locator('article.approval').last().scrollIntoViewIfNeeded();
  await page.locator('article.approval').first().scrollIntoViewIfNeeded();
  await screenshot(page, 'approvals');
  await screenshot(page, 'approvals-queue', { fullPage: true });
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
