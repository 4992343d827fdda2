// The live feed shows a call within 500 ms of it being made; the audit log shows the entries and its chain verifies.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { budget, expect, mcpClient, test, timing, waitLive } from './fixtures.ts';

test('the live feed shows a call within 500 ms; a click shows its arguments', async ({ signedIn: page }) => {
  const client = await mcpClient();
  await page.goto('/#/live');
  await waitLive(page);
  const rows = page.getByTestId('live-row').filter({ hasText: 'compliance_summary' });
  const before = await rows.count();
  const started = performance.now();
  await client.callTool({ name: 'compliance_summary', arguments: { tenant: 'northwind-legal' } });
  await expect(rows).toHaveCount(before + 1, { timeout: budget(500) });
  timing('live row visible after the call was made', performance.now() - started);
  const row = rows.first();
  await expect(row).toContainText('e2e-agent');
  await expect(row).toContainText('northwind-legal');
  await expect(row).toContainText('allowed');
  await expect(row.getByTestId('live-args')).toHaveText(/^\{"tenant":"northwind-legal"/);
  await row.click();
  const drawer = page.getByRole('dialog', { name: 'Details' });
  await expect(drawer.getByTestId('call-args')).toContainText('"tenant": "northwind-legal"');
  await expect(drawer.getByTestId('call-outcome')).toHaveText('ok');
  await page.keyboard.press('Escape');
  await expect(drawer).toBeHidden();

  // A call with longer arguments (a refused wipe of ten devices, so nothing changes): the row carries a short preview
  // and the device count; the drawer loads the arguments whole from the call's audit entry.
  const ids = Array.from({ length: 10 }, () => randomUUID()).sort();
  await client.callTool({ name: 'device_actions', arguments: { action: 'wipe', deviceIds: ids } });
  const big = page.getByTestId('live-row').first();
  await expect(big).toContainText('TIER4_BLOCKED');
  await expect(big.getByTestId('live-devices')).toHaveText('10 devices');
  const preview = await big.getByTestId('live-args').textContent();
  expect(new TextEncoder().encode(preview!).length).toBeLessThanOrEqual(240);
  expect(preview).toContain(ids[0]);
  expect(preview).not.toContain(ids[9]);
  await big.click();
  await expect(drawer.getByTestId('call-args')).toContainText(ids[9]!);
  await page.keyboard.press('Escape');
  await expect(drawer).toBeHidden();

  // Pause holds new calls back; resume shows them.
  await page.getByRole('button', { name: 'Pause' }).click();
  await client.callTool({ name: 'compliance_summary', arguments: { tenant: 'acme-dental' } });
  await expect(page.getByText('1 new while paused')).toBeVisible();
  await expect(rows).toHaveCount(before + 1);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(rows).toHaveCount(before + 2);

  // A denial shows its code.
  await client.callTool({ name: 'device_actions', arguments: { action: 'wipe', deviceIds: ['00000000-0000-4000-8000-000000000000'] } });
  await expect(page.getByTestId('live-row').first()).toContainText('TIER4_BLOCKED');
  await page.getByLabel('Decision').selectOption('denied');
  await expect(page.getByTestId('live-row').first()).toContainText('denied');
  await client.close();
});

test('audit shows the entries, filters and searches, verifies the chain and exports it', async ({ signedIn: page }) => {
  // The entry the search looks for, made here: specs run in any order, on either worker's server.
  const client = await mcpClient();
  await client.callTool({ name: 'compliance_summary', arguments: { tenant: 'northwind-legal' } });
  await client.close();
  await page.goto('/#/audit');
  await expect(page.getByTestId('audit-row').first()).toBeVisible();
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByTestId('verify-result')).toContainText(/Chain intact: [\d,]+ entries verified/);

  await page.getByLabel('Search').fill('compliance_summary');
  await expect(page.getByTestId('audit-row').first()).toContainText('compliance_summary');
  await page.getByLabel('Decision').selectOption('allowed');
  // The filtered page replaces the list when its answer arrives: wait for that, not for the first read of the list.
  await expect(page.getByTestId('audit-row').filter({ hasNotText: 'allowed' })).toHaveCount(0);
  await expect(page.getByTestId('audit-row').first()).toContainText('compliance_summary');
  for (const text of await page.getByTestId('audit-row').allTextContents()) expect(text).toContain('allowed');
  await page.getByTestId('audit-row').first().click();
  await expect(page.getByRole('dialog', { name: /Audit entry/ })).toContainText(/[0-9a-f]{64}/);
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Clear filters' }).click();

  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export JSONL' }).click();
  const file = await (await download).path();
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const checkpoint = JSON.parse(lines.at(-1)!) as { type: string; count: number };
  expect(checkpoint.type).toBe('checkpoint');
  expect(checkpoint.count).toBe(lines.length - 1);

  // The other SIEM formats, and the fingerprint of the latest signed checkpoint to copy into a ticket.
  await expect(page.getByTestId('checkpoint-fingerprint')).toContainText(/#\d+ @\d+ [0-9a-f]{4}(-[0-9a-f]{4}){4}/);
  await page.getByLabel('Export format').selectOption('ocsf');
  const ocsf = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export OCSF' }).click();
  const event = JSON.parse(readFileSync(await (await ocsf).path(), 'utf8').split('\n')[0]!) as { class_uid: number; metadata: { sequence: number } };
  expect(event).toMatchObject({ class_uid: 6003, metadata: { sequence: 1 } });
  await page.getByLabel('Export format').selectOption('syslog');
  const syslog = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export Syslog' }).click();
  expect(readFileSync(await (await syslog).path(), 'utf8')).toMatch(/^<\d+>1 \S+ \S+ countersign - system \[countersign@32473 seq="1" /);
});
