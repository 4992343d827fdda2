// One card for a plan: every step shown with its own detail; approved, the steps run in order without cards (Live says
// which step); a call that deviates gets its own card and ends the plan.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { budget, devices, expect, mcpClient, screenshot, structured, test, waitLive, type Device } from './fixtures.ts';
import { clearQueue } from './queue.ts';

let client: Client;
let win: Device[];
let script: { id: string; sha256: string; name: string };
test.beforeAll(async () => {
  client = await mcpClient();
  win = (await devices(client, 'globex-logistics', 'windows')).slice(0, 2);
  const scripts = structured<{ scripts: { id: string; sha256: string; name: string; scope: string }[] }>(
    await client.callTool({ name: 'list_scripts', arguments: { language: 'powershell', limit: 50 } })).scripts;
  script = scripts.find((s) => s.scope === 'library')!;
});
test.afterAll(async () => {
  await client.close();
});

type Result = { status?: string; approvalId?: string; executionId?: string };

test('a plan card approved: its steps run in order without cards; a deviating call gets its own card', async ({ signedIn: page }) => {
  test.setTimeout(budget(90_000));
  await clearQueue(page);
  await page.goto('/#/approvals');
  await waitLive(page);
  const d = win[0]!;
  const steps = [
    { tool: 'device_actions', arguments: { action: 'isolate', deviceIds: [d.id], reason: 'plan e2e: contain' } },
    { tool: 'run_script', arguments: { scriptId: script.id, deviceIds: [d.id] } },
    { tool: 'device_actions', arguments: { action: 'reboot', deviceIds: [d.id], reason: 'plan e2e: finish' } },
  ];
  const proposed = structured<Result>(await client.callTool({ name: 'propose_plan', arguments: { goal: `Contain and clean ${d.hostname}`, steps, ticket: { system: 'connectwise', id: '55120' } } }));
  expect(proposed.status).toBe('pending_approval');
  const card = page.locator(`[data-approval-id="${proposed.approvalId}"]`);
  await expect(card).toBeVisible();
  const plan = card.getByTestId('plan');
  await expect(plan).toContainText(`Contain and clean ${d.hostname}`);
  await expect(plan.getByTestId('plan-step')).toHaveCount(3);
  await expect(plan.getByTestId('plan-step').nth(0)).toContainText('device_actions (isolate)');
  await expect(plan.getByTestId('plan-step').nth(0)).toContainText('plan e2e: contain');
  await expect(plan.getByTestId('plan-step').nth(1).getByTestId('script-hash')).toHaveText(script.sha256);
  await expect(plan.getByTestId('plan-step').nth(1)).toContainText(d.hostname);
  await expect(card.getByTestId('ticket')).toContainText('ConnectWise 55120');
  // A plan cannot start a grant: only Approve and Deny are offered.
  await expect(card.getByTestId('approve-grant')).toHaveCount(0);
  await screenshot(page, 'approvals-plan-card', { fullPage: true });
  await card.getByTestId('approve').click();
  await expect(card).toBeHidden();
  expect(structured<{ status: string }>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId: proposed.approvalId } })).status).toBe('completed');

  // Steps 1 and 2, as proposed and in order: no card.
  for (const s of steps.slice(0, 2)) {
    const r = structured<Result>(await client.callTool({ name: s.tool, arguments: s.arguments }));
    expect(r.status).toBeUndefined();
    expect(r.executionId).toBeTruthy();
  }
  await page.goto('/#/live');
  await expect(page.getByTestId('live-row').filter({ hasText: 'plan step 1' })).toHaveCount(1);
  await expect(page.getByTestId('live-row').filter({ hasText: 'plan step 2' })).toHaveCount(1);

  // Step 3 on another device: its own card, and the plan ends; the real step 3 then needs a card too.
  await page.goto('/#/approvals');
  const deviating = structured<Result>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [win[1]!.id], reason: 'plan e2e: not the plan' } }));
  expect(deviating.status).toBe('pending_approval');
  await expect(page.locator(`[data-approval-id="${deviating.approvalId}"]`)).toBeVisible();
  const third = structured<Result>(await client.callTool({ name: steps[2]!.tool, arguments: steps[2]!.arguments }));
  expect(third.status).toBe('pending_approval');
  await page.getByRole('tab', { name: 'Grants' }).click();
  await page.getByRole('checkbox', { name: 'Also show ended grants and plans' }).check();
  const row = page.getByTestId('plan-row').filter({ hasText: `Contain and clean ${d.hostname}` });
  await expect(row).toContainText('stopped');
  await expect(row).toContainText('2 / 3');
  await clearQueue(page);
});
