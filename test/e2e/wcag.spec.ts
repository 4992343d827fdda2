// axe-core finds no WCAG 2.1 A or AA violation in any state of the console, light or dark: every page empty and filled,
// the card armed and denying, the history expanded, every drawer and dialog open, the narrow layout with its menu open.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { expectAccessible } from './axe.ts';
import { budget, devices, expect, screenshot, server, structured, test } from './fixtures.ts';
import { clearQueue, fillQueue, requestApproval, setupApprovals } from './queue.ts';

let client: Client;
test.beforeAll(async () => {
  client = await setupApprovals();
});
test.afterAll(async () => {
  await client.close();
});

test('sign-in, empty and refused', async ({ guest: page }) => {
  await page.goto('/');
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await expectAccessible(page, 'sign-in');
  await page.getByLabel('Admin passphrase').fill('not the passphrase');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('alert')).toHaveText('Wrong passphrase.');
  await expectAccessible(page, 'sign-in refused');
  await page.getByLabel('Admin passphrase').fill(server().passphrase);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Approvals' })).toBeVisible();
});

test('approvals: empty, filled, armed, denying, history, history expanded, shortcuts overlay', async ({ signedIn: page }) => {
  test.setTimeout(budget(120_000));
  await clearQueue(page);
  await page.goto('/#/approvals');
  await expect(page.getByText('No requests waiting')).toBeVisible();
  await expectAccessible(page, 'approvals, empty');

  await fillQueue(client);
  await requestApproval(client, 'reboot for the accessibility run');
  const cards = page.locator('article.approval');
  await expect(cards).toHaveCount(4);
  await expectAccessible(page, 'approvals, four cards');

  await cards.nth(1).click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('a');
  await expect(cards.nth(1).getByTestId('approve')).toHaveText(/to approve/);
  await expectAccessible(page, 'approvals, armed card');
  await page.keyboard.press('Escape');
  await page.keyboard.press('d');
  await expect(cards.nth(1).getByLabel(/Reason for the model/)).toBeFocused();
  // With a reason the red Deny button is enabled, so its contrast counts.
  await page.keyboard.type('Not on a Friday.');
  await expect(cards.nth(1).getByRole('button', { name: 'Deny request' })).toBeEnabled();
  await expectAccessible(page, 'approvals, deny form');
  await page.keyboard.press('Enter');
  await expect(cards).toHaveCount(3);

  await page.keyboard.press('?');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeVisible();
  await expectAccessible(page, 'shortcuts overlay');
  await page.keyboard.press('Escape');

  await page.getByRole('tab', { name: 'History' }).click();
  const history = page.getByRole('table', { name: 'Decided approvals' });
  await expect(history).toBeVisible();
  await expectAccessible(page, 'approvals, history');
  await history.getByRole('button', { name: /run_script|device_actions/ }).first().click();
  await expect(history.locator('tr.expanded')).toBeVisible();
  await expectAccessible(page, 'approvals, history expanded');
  await clearQueue(page);
});

test('live, audit: filled, empty, drawers open, verify result', async ({ signedIn: page }) => {
  test.setTimeout(budget(120_000));
  await page.goto('/#/live');
  await expect(page.getByTestId('live-row').first()).toBeVisible();
  await expectAccessible(page, 'live');
  await page.getByTestId('live-row').first().getByRole('button').click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await expectAccessible(page, 'live, call details');
  await page.keyboard.press('Escape');
  // No call of this suite is throttled: the filtered list is empty.
  await page.getByLabel('Decision').selectOption('throttled');
  await expect(page.getByText('No calls match these filters')).toBeVisible();
  await expectAccessible(page, 'live, nothing matches');

  await page.goto('/#/audit');
  await expect(page.getByTestId('audit-row').first()).toBeVisible();
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByTestId('verify-result')).toBeVisible();
  await expectAccessible(page, 'audit, verified');
  await page.getByTestId('audit-row').first().click();
  await expect(page.getByRole('dialog', { name: /Audit entry/ })).toContainText(/[0-9a-f]{64}/);
  await expectAccessible(page, 'audit, entry details');
  await page.keyboard.press('Escape');
  await page.getByLabel('Search').fill('no entry has this text 7f3a');
  await expect(page.getByText('No entries match')).toBeVisible();
  await expectAccessible(page, 'audit, nothing matches');
});

test('keys, policy, fleet, agents: lists, forms, shown-once panels, the revoke dialog', async ({ signedIn: page }) => {
  test.setTimeout(budget(120_000));
  await page.goto('/#/keys');
  await expect(page.getByRole('table', { name: 'API keys' })).toBeVisible();
  await expectAccessible(page, 'keys');
  await page.getByRole('button', { name: 'New key' }).click();
  await expectAccessible(page, 'keys, create form');
  await page.getByLabel('Name').fill('accessibility run key');
  await page.getByRole('checkbox', { name: /Globex/i }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-key-secret')).toBeVisible();
  await expectAccessible(page, 'keys, key shown once');
  await page.getByRole('button', { name: 'Done, I have copied it' }).click();
  await page.locator('[data-testid="key-row"][data-key-name="accessibility run key"]').getByRole('button', { name: 'Revoke…' }).click();
  await expect(page.getByRole('dialog', { name: /Revoke/ })).toBeVisible();
  await expectAccessible(page, 'keys, revoke dialog');
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();

  await page.goto('/#/policy');
  await expect(page.getByRole('heading', { name: 'Tier overrides' })).toBeVisible();
  await expectAccessible(page, 'policy');

  await page.goto('/#/fleet');
  await expect(page.locator('.recharts-bar-rectangle').first()).toBeVisible();
  await expectAccessible(page, 'fleet');

  await page.goto('/#/agents');
  await expect(page.getByRole('heading', { name: 'Enrollment tokens' })).toBeVisible();
  await expectAccessible(page, 'agents');
  await page.getByRole('button', { name: /New enrollment token/ }).click();
  // The page's install commands have a tenant choice of their own: the token form's is meant.
  await page.getByRole('form', { name: 'Create enrollment token' }).getByLabel('Tenant').selectOption('acme-dental');
  await expectAccessible(page, 'agents, token form');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.getByTestId('new-token-secret')).toBeVisible();
  // Other specs on this server make acme-dental tokens too (the install commands): this run's row is found by its prefix.
  const prefix = (await page.getByTestId('new-token-secret').textContent())!.slice(0, 11);
  await expectAccessible(page, 'agents, token shown once');
  await page.getByRole('button', { name: 'Done, I have copied it' }).click();
  const row = page.getByTestId('token-row').filter({ has: page.getByRole('button', { name: `Revoke token ${prefix}…` }) });
  await row.getByRole('button', { name: /Revoke token/ }).click();
  await expectAccessible(page, 'agents, revoke dialog');
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
  await expect(row).toHaveCount(0);
});

test('standing approvals: the grant dialog, a plan card, hidden characters and their confirmation, grants, decision times, the simulation', async ({ signedIn: page }) => {
  test.setTimeout(budget(150_000));
  await clearQueue(page);
  const [d] = await devices(client, 'acme-dental', 'windows');
  const call = async (name: string, args: Record<string, unknown>) => structured<{ approvalId: string }>(await client.callTool({ name, arguments: args })).approvalId;
  const grantable = await call('device_actions', { action: 'shutdown', deviceIds: [d!.id], reason: 'accessibility run: grant', ticket: { system: 'halopsa', id: '7781' } });
  const planned = await call('propose_plan', { goal: 'accessibility run: a plan', steps: [
    { tool: 'device_actions', arguments: { action: 'isolate', deviceIds: [d!.id], reason: 'step one' } },
    { tool: 'run_script', arguments: { language: 'powershell', body: 'Write-Output "step two"', deviceIds: [d!.id] } },
  ] });
  const hidden = await call('run_script', { language: 'powershell', body: 'Write-Output "ok\u202E"\u200B', deviceIds: [d!.id] });
  await page.goto('/#/approvals');
  await expect(page.locator('article.approval')).toHaveCount(3);
  await expect(page.locator(`[data-approval-id="${planned}"]`).getByTestId('plan-step')).toHaveCount(2);
  await expect(page.locator(`[data-approval-id="${hidden}"]`).getByTestId('hidden-text')).toBeVisible();
  await expectAccessible(page, 'approvals, a plan card, a hidden-character card, a ticket');

  await page.locator(`[data-approval-id="${hidden}"]`).getByTestId('approve').click();
  await expect(page.getByRole('dialog', { name: /hidden characters/ })).toBeVisible();
  await expectAccessible(page, 'approvals, hidden characters: the second confirmation');
  await page.keyboard.press('Escape');

  const card = page.locator(`[data-approval-id="${grantable}"]`);
  await card.getByTestId('approve-grant').click();
  const dialog = page.getByRole('dialog', { name: 'Approve and allow similar calls' });
  await expect(dialog).toBeVisible();
  await expectAccessible(page, 'approvals, the grant dialog');
  await dialog.getByTestId('grant-confirm').click();
  await expect(card).toBeHidden();
  await page.locator(`[data-approval-id="${planned}"]`).getByTestId('approve').click();
  await expect(page.locator('article.approval')).toHaveCount(1);

  await page.getByRole('tab', { name: 'Grants' }).click();
  await expect(page.getByTestId('grant-row').first()).toBeVisible();
  await expect(page.getByTestId('plan-row').first()).toBeVisible();
  await expectAccessible(page, 'approvals, grants and plans');
  await page.getByTestId('grant-row').first().getByRole('button', { name: 'Revoke…' }).click();
  await expectAccessible(page, 'approvals, revoke a grant');
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke grant' }).click();
  await page.getByTestId('plan-row').first().getByRole('button', { name: 'Stop…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Stop plan' }).click();
  await expect(page.getByTestId('plan-row')).toHaveCount(0);

  await page.getByRole('tab', { name: 'Decision times' }).click();
  await expect(page.getByTestId('decision-times')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Decisions per day' })).toBeVisible();
  await expectAccessible(page, 'approvals, decision times');
  await screenshot(page, 'approvals-decision-times');

  await page.goto('/#/policy');
  await page.getByRole('checkbox', { name: /Acme/ }).first().check();
  await page.getByText(/Draft tier overrides/).click();
  await page.getByRole('button', { name: 'Add to draft' }).click();
  await page.getByTestId('simulate').click();
  await expect(page.getByTestId('simulation-result')).toBeVisible();
  await expectAccessible(page, 'policy, a simulated draft');
  await page.getByTestId('simulation-result').scrollIntoViewIfNeeded();
  await screenshot(page, 'policy-simulation');
  await page.getByRole('button', { name: 'Discard', exact: true }).click();
  await clearQueue(page);
});

test('narrow (320 CSS px, 400% zoom): the menu, a page, a drawer', async ({ signedIn: page }) => {
  await page.setViewportSize({ width: 320, height: 480 });
  await page.goto('/#/live');
  await expect(page.getByTestId('live-row').first()).toBeVisible();
  await expectAccessible(page, 'live at 320 px');
  await page.getByRole('button', { name: 'Menu' }).click();
  await expect(page.getByRole('navigation', { name: 'Pages' })).toBeVisible();
  await expectAccessible(page, 'menu open at 320 px');
  await page.getByRole('link', { name: /^Audit/ }).click();
  await page.getByTestId('audit-row').first().click();
  // The entry loaded, as in the wide check above: axe looks at the drawer as it settles, not at its loading line.
  await expect(page.getByRole('dialog', { name: /Audit entry/ })).toContainText(/[0-9a-f]{64}/);
  await expectAccessible(page, 'audit entry at 320 px');
});
