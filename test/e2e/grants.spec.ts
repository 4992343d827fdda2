// A grant made from a card: "Approve and allow similar…" approves it and bounds what may follow without a card; the
// model's next calls inside it run at once and show in Live with the grant id; revoked in the Grants view, the next
// call gets a card again.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { budget, devices, expect, mcpClient, screenshot, structured, test, waitLive, type Device } from './fixtures.ts';
import { clearQueue } from './queue.ts';

let client: Client;
let targets: Device[];
test.beforeAll(async () => {
  client = await mcpClient();
  targets = (await devices(client, 'acme-dental', 'windows')).slice(0, 2);
  expect(targets).toHaveLength(2);
});
test.afterAll(async () => {
  await client.close();
});

type Result = { status?: string; approvalId?: string; executionId?: string };
const reboot = async (d: Device, reason: string) => structured<Result>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [d.id], reason } }));

test('a grant from a card: similar calls run without a card and show in Live with the grant id; revoked, the next call gets a card', async ({ signedIn: page }) => {
  test.setTimeout(budget(90_000));
  await clearQueue(page);
  await page.goto('/#/approvals');
  await waitLive(page);
  const first = await reboot(targets[0]!, 'grant e2e: apply updates');
  expect(first.status).toBe('pending_approval');
  const card = page.locator(`[data-approval-id="${first.approvalId}"]`);
  await expect(card).toBeVisible();

  // Enter on the focused button opens the dialog; it opens on Cancel, and Enter there approves nothing.
  await card.getByTestId('approve-grant').focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Approve and allow similar calls' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(card).toBeVisible();

  // Narrow it: this device only (the card's), at most 3 calls, for 30 minutes.
  await card.getByTestId('approve-grant').click();
  await expect(dialog).toContainText(targets[0]!.hostname);
  await expect(dialog.getByRole('spinbutton', { name: 'Devices per call, at most' })).toHaveValue('1');
  await dialog.getByRole('spinbutton', { name: 'Minutes' }).fill('30');
  await dialog.getByRole('spinbutton', { name: 'Uses' }).fill('3');
  await screenshot(page, 'approvals-grant-dialog');
  await dialog.getByTestId('grant-confirm').click();
  await expect(card).toBeHidden();
  const { grants } = (await (await page.request.post('/console/api/rpc/listGrants', { data: { live: true } })).json()).result as { grants: { id: string; sourceApprovalId: string }[] };
  const grant = grants.find((g) => g.sourceApprovalId === first.approvalId)!;
  expect(grant).toBeDefined();

  // The model repeats the pattern: it runs at once, twice; another device is outside the grant.
  for (const n of [1, 2]) {
    const r = await reboot(targets[0]!, `grant e2e: again ${n}`);
    expect(r.status).toBeUndefined();
    expect(r.executionId).toBeTruthy();
  }
  const outside = await reboot(targets[1]!, 'grant e2e: another device');
  expect(outside.status).toBe('pending_approval');
  await expect(page.locator(`[data-approval-id="${outside.approvalId}"]`)).toBeVisible();

  // Live shows both runs with the grant id.
  await page.goto('/#/live');
  const rows = page.getByTestId('live-row').filter({ has: page.getByTestId('live-grant') });
  await expect(rows).toHaveCount(2);
  await expect(rows.first().getByTestId('live-grant')).toHaveText(`grant ${grant.id.slice(0, 8)}`);
  await rows.first().getByRole('button').click();
  await expect(page.getByTestId('call-grant')).toHaveText(grant.id);
  await page.keyboard.press('Escape');

  // Revoked in the Grants view: the next call gets a card.
  await page.goto('/#/approvals');
  await page.getByRole('tab', { name: 'Grants' }).click();
  const row = page.locator(`[data-grant-id="${grant.id}"]`);
  await expect(row).toContainText('device_actions · reboot');
  await expect(row).toContainText('2 / 3');
  await screenshot(page, 'approvals-grants');
  await row.getByRole('button', { name: 'Revoke…' }).click();
  const confirm = page.getByRole('dialog', { name: /Revoke the grant/ });
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await confirm.getByRole('button', { name: 'Revoke grant' }).click();
  await expect(row).toBeHidden();
  const after = await reboot(targets[0]!, 'grant e2e: after revoke');
  expect(after.status).toBe('pending_approval');
  await page.getByRole('tab', { name: /Pending/ }).click();
  await expect(page.locator(`[data-approval-id="${after.approvalId}"]`)).toBeVisible();
  await clearQueue(page);
});
