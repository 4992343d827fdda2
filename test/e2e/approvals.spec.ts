// The tier-3 queue: a real SDK client asks, the card appears at once with what will run, the technician decides in the UI,
// and the model reads the outcome through get_approval_status.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { budget, devices, expect, mcpClient, server, sha256, structured, test, timing, waitLive, type Device } from './fixtures.ts';

let client: Client;
let windows: Device[];
test.beforeAll(async () => {
  client = await mcpClient();
  windows = await devices(client, 'acme-dental', 'windows');
  expect(windows.length).toBeGreaterThanOrEqual(4);
});
test.afterAll(async () => {
  await client.close();
});

type Pending = { status: string; approvalId: string };
type Status = { status: string; reason: string | null; result: { commands: unknown[] } | null; commands: Record<string, number> };

test('run_script on two devices: the card appears within 1 s with both hostnames and the hash; approving runs it', async ({ signedIn: page }) => {
  await page.goto('/#/approvals');
  await waitLive(page);
  const body = `# e2e ${Date.now()}\nGet-Service -Name Spooler | Restart-Service -Force\nWrite-Output "spooler restarted on $env:COMPUTERNAME"`;
  const [a, b] = windows;
  const r = await client.callTool({ name: 'run_script', arguments: { language: 'powershell', body, deviceIds: [a!.id, b!.id] } });
  const asked = performance.now();
  const { status, approvalId } = structured<Pending>(r);
  expect(status).toBe('pending_approval');

  const card = page.locator(`[data-approval-id="${approvalId}"]`);
  await expect(card).toBeVisible({ timeout: budget(1000) });
  timing('approval card visible after the run_script call returned', performance.now() - asked);
  await expect(card).toContainText(a!.hostname);
  await expect(card).toContainText(b!.hostname);
  await expect(card.getByTestId('script-hash')).toHaveText(sha256(body));
  await expect(card.getByTestId('device-count')).toHaveText('2 devices');
  await expect(card).toContainText('hash verified');
  await expect(card).toContainText('Get-Service -Name Spooler | Restart-Service -Force');
  await expect(card).toContainText('e2e-agent');
  await expect(card).toContainText('e2e-sdk-client');
  await expect(card.getByTestId('countdown')).toHaveText(/expires in \d\d:\d\d/);
  // The pending count is in the navigation and the window title; a web notification was raised.
  await expect(page.getByRole('navigation', { name: 'Pages' }).getByLabel(/pending/)).toBeVisible();
  await expect(page).toHaveTitle(/^\(\d+\) Countersign/);
  await expect.poll(() => page.evaluate(() => (window as unknown as { __notes: string[] }).__notes)).toContain('Approval requested: run_script');

  await card.getByTestId('approve').click();
  await expect(card).toBeHidden();
  const s = structured<Status>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId } }));
  expect(s.status).toBe('running');
  expect(s.result?.commands).toHaveLength(2);
  expect(s.commands).toEqual({ queued: 2 });

  await page.getByRole('tab', { name: 'History' }).click();
  await expect(page.getByRole('table', { name: 'Decided approvals' })).toContainText('run_script');
});

test('deny with a reason typed in the UI (keyboard: j/k, d, Enter); the reason reaches the model', async ({ signedIn: page }) => {
  await page.goto('/#/approvals');
  await waitLive(page);
  const first = structured<Pending>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [windows[2]!.id], reason: 'pending updates' } }));
  const second = structured<Pending>(await client.callTool({ name: 'device_actions', arguments: { action: 'shutdown', deviceIds: [windows[3]!.id] } }));
  const c1 = page.locator(`[data-approval-id="${first.approvalId}"]`);
  const c2 = page.locator(`[data-approval-id="${second.approvalId}"]`);
  await expect(c1).toBeVisible();
  await expect(c2).toBeVisible();

  // The queue is ordered by expiry: move to the second card with j, back with k, again with j.
  const cards = page.locator('article.approval');
  const index = async (id: string) => (await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-approval-id')))).indexOf(id);
  await page.locator('h1').click();
  const target = await index(second.approvalId);
  for (let i = 0; i < target; i++) await page.keyboard.press('j');
  await page.keyboard.press('k');
  await page.keyboard.press('j');
  await expect(c2).toHaveClass(/selected/);

  await page.keyboard.press('d');
  const reason = 'Not during business hours: the clinic is open until 18:00. Schedule it for tonight.';
  await c2.getByLabel(/Reason for the model/).fill(reason);
  await page.keyboard.press('Enter');
  await expect(c2).toBeHidden();
  const s = structured<Status>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId: second.approvalId } }));
  expect(s.status).toBe('denied');
  expect(s.reason).toBe(reason);

  // a arms, a again approves the selected card.
  await c1.click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('a');
  await expect(c1.getByTestId('approve')).toHaveText('Press a or Enter to approve');
  await page.keyboard.press('a');
  await expect(c1).toBeHidden();
  expect(structured<Status>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId: first.approvalId } })).status).toBe('running');
});

test('a request edited in the database shows as tampered: Approve is off, `a` does nothing, and it can be denied', async ({ signedIn: page }) => {
  await page.goto('/#/approvals');
  await waitLive(page);
  const r = await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [windows[3]!.id], reason: 'tamper e2e' } });
  const { approvalId } = structured<Pending>(r);
  // Someone with write access to countersign.db turns the reboot into a shutdown behind the card's back.
  const db = new Database(join(server().dataDir, 'countersign.db'));
  try {
    db.prepare(`UPDATE approvals SET args_json = replace(args_json, '"reboot"', '"shutdown"'), action = 'shutdown' WHERE id = ?`).run(approvalId);
  } finally {
    db.close();
  }
  await page.reload();
  const card = page.locator(`[data-approval-id="${approvalId}"]`);
  await expect(card.getByTestId('tampered')).toBeVisible();
  await expect(card.getByTestId('approve')).toBeDisabled();
  await card.focus();
  await page.keyboard.press('a');
  await page.keyboard.press('a');
  await expect(card.getByTestId('approve')).toBeDisabled();
  await card.getByTestId('deny').click();
  await card.getByLabel(/Reason for the model/).fill('Tampered: refused.');
  await card.getByRole('button', { name: 'Deny request' }).click();
  await expect(card).toBeHidden();
  const s = structured<{ status: string; reason: string }>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId } }));
  expect(s).toMatchObject({ status: 'denied', reason: 'Tampered: refused.' });
});
