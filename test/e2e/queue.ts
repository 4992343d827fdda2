// Tier-3 requests for the keyboard and accessibility specs: each one distinct (its own reason), on one demo device.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Locator, Page } from '@playwright/test';
import { devices, expect, mcpClient, structured, type Device } from './fixtures.ts';

let device: Device;
let made = 0;

export async function setupApprovals(): Promise<Client> {
  const client = await mcpClient();
  const [first] = await devices(client, 'northwind-legal', 'windows');
  expect(first).toBeDefined();
  device = first!;
  return client;
}

/** A pending reboot request; `tag` makes it distinct from every other (the reason is part of its digest). */
export async function requestApproval(client: Client, tag: string): Promise<string> {
  const r = await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device.id], reason: `${tag} #${++made} ${Date.now()}` } });
  const { status, approvalId } = structured<{ status: string; approvalId: string }>(r);
  expect(status).toBe('pending_approval');
  return approvalId;
}

export async function approvalStatus(client: Client, approvalId: string): Promise<string> {
  return structured<{ status: string }>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId } })).status;
}

/** Denies whatever earlier specs left pending, so the queue holds only this spec's cards. */
export async function clearQueue(page: Page): Promise<void> {
  const list = await page.request.post('/console/api/rpc/listApprovals', { data: { status: ['pending'], limit: 500 } });
  expect(list.status()).toBe(200);
  const { result } = (await list.json()) as { result: { approvals: { id: string }[] } };
  for (const a of result.approvals) {
    const r = await page.request.post('/console/api/rpc/deny', { data: { id: a.id, reason: 'Cleared by the e2e suite.' } });
    expect(r.status()).toBe(200);
  }
}

/** A pending ad-hoc PowerShell script long enough that its body scrolls (so the card has every kind of control). */
export async function requestScript(client: Client, tag: string): Promise<string> {
  const body = [`# ${tag} #${++made} ${Date.now()}`, ...Array.from({ length: 40 }, (_, i) => `Write-Output "step ${i + 1}"`)].join('\n');
  const r = await client.callTool({ name: 'run_script', arguments: { language: 'powershell', body, deviceIds: [device.id] } });
  const { status, approvalId } = structured<{ status: string; approvalId: string }>(r);
  expect(status).toBe('pending_approval');
  return approvalId;
}

/** Opens the approvals page and waits for the card of `approvalId`. */
export async function openQueue(page: Page, approvalId: string): Promise<Locator> {
  await page.goto('/#/approvals');
  const card = page.locator(`[data-approval-id="${approvalId}"]`);
  await expect(card).toBeVisible();
  return card;
}

/** The cards a technician sees on a busy day: a patch deployment, a library script on three devices, an isolation. */
export async function fillQueue(client: Client): Promise<string[]> {
  const acme = await devices(client, 'acme-dental', 'windows');
  const linux = await devices(client, 'globex-logistics', 'linux');
  const scripts = structured<{ scripts: { id: string }[] }>(
    await client.callTool({ name: 'list_scripts', arguments: { tenant: 'globex-logistics', language: 'bash', limit: 50 } })).scripts;
  const missing = structured<{ patches: { deviceId: string; patchId: string }[] }>(
    await client.callTool({ name: 'get_patch_status', arguments: { tenant: 'acme-dental', state: 'missing', os: 'windows', limit: 20 } })).patches;
  const deploy = missing[0]!;
  const calls = [
    { name: 'deploy_patches', arguments: { deviceIds: [deploy.deviceId], patchIds: [...new Set(missing.filter((p) => p.deviceId === deploy.deviceId).map((p) => p.patchId))].slice(0, 3) } },
    { name: 'run_script', arguments: { scriptId: scripts[0]!.id, deviceIds: linux.slice(0, 3).map((d) => d.id) } },
    { name: 'device_actions', arguments: { action: 'isolate', deviceIds: [acme[4]!.id], reason: 'EDR flagged a suspicious PowerShell process' } },
  ];
  const ids: string[] = [];
  for (const c of calls) ids.push(structured<{ approvalId: string }>(await client.callTool(c)).approvalId);
  return ids;
}
