// The team pages in Chromium, against a `countersign serve` of its own (technician accounts switch a server's sign-in to
// names, so the shared server of the other specs is left alone): an owner creates a technician with one tenant on the
// Technicians page, and the technician, signed in, sees only that tenant's cards (and is offered neither the whole-log
// export nor a policy simulation); a four-eyes rule added on the
// Four-eyes page makes the next card need two approvers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cli, createKey, startServe, type ChildServer } from '../helpers/childServer.ts';
import { budget, structured } from './fixtures.ts';
import { expectAccessible } from './axe.ts';

const PASS = { admin: 'team pages admin passphrase', olivia: 'olivia owns the install', toby: 'toby works acme only' };

test.describe.configure({ mode: 'serial' });

let root: string;
let serve: ChildServer;
let client: Client;

async function signIn(browser: Browser, name: string, passphrase: string): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: serve.url })).newPage();
  await page.goto('/');
  await page.getByLabel('Technician').fill(name);
  await page.getByLabel('Passphrase').fill(passphrase);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText(new RegExp(`Signed in as ${name} \\(`));
  return page;
}

const ask = async (tenant: string, reason: string) => {
  const devices = structured<{ devices: { id: string }[] }>(await client.callTool({ name: 'list_devices', arguments: { tenant, limit: 1 } })).devices;
  const r = structured<{ status: string; approvalId: string }>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [devices[0]!.id], reason } }));
  expect(r.status).toBe('pending_approval');
  return r.approvalId;
};

test.beforeAll(async () => {
  test.setTimeout(budget(120_000));
  root = mkdtempSync(join(tmpdir(), 'cs-team-pages-'));
  const dir = join(root, 'data');
  const env = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: PASS.admin };
  const init = cli(env, 'init', '--data-dir', dir, '--demo');
  expect(init.status, init.stderr).toBe(0);
  const owner = cli({ ...env, COUNTERSIGN_TECHNICIAN_PASSPHRASE: PASS.olivia }, 'technicians', 'create', '--data-dir', dir, '--name', 'olivia', '--role', 'owner', '--tenants', 'all');
  expect(owner.status, owner.stderr).toBe(0);
  const key = createKey(env, dir, { name: 'team-pages-ai', tenants: 'acme-dental,globex-logistics' });
  serve = await startServe(env, dir);
  client = new Client({ name: 'team-pages-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', serve.url), { requestInit: { headers: { 'X-API-Key': key.secret } } }));
});

test.afterAll(async () => {
  await client?.close();
  await serve?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('an owner creates a technician with one tenant; the technician sees only that tenant\'s cards', async ({ browser }) => {
  const olivia = await signIn(browser, 'olivia', PASS.olivia);
  await olivia.getByRole('link', { name: 'Technicians' }).click();
  await expect(olivia.getByRole('heading', { name: 'Technicians' })).toBeVisible();
  await olivia.getByRole('button', { name: 'New technician' }).click();
  const form = olivia.getByRole('form', { name: 'Create technician' });
  await form.getByLabel('Name').fill('toby');
  await form.getByLabel('Initial passphrase').fill(PASS.toby);
  await form.getByRole('radio', { name: /^technician/ }).check();
  await form.getByRole('checkbox', { name: /Acme Dental/ }).check();
  await form.getByRole('button', { name: 'Create technician' }).click();
  const row = olivia.locator('[data-testid="technician-row"][data-name="toby"]');
  await expect(row.getByTestId('technician-tenants')).toHaveText('acme-dental');
  await expect(row).toContainText('technician');
  await expectAccessible(olivia, 'technicians page');

  const acme = await ask('acme-dental', 'acme card');
  const globex = await ask('globex-logistics', 'globex card');
  const toby = await signIn(browser, 'toby', PASS.toby);
  await expect(toby.locator(`[data-approval-id="${acme}"]`)).toBeVisible();
  await expect(toby.locator(`[data-approval-id="${globex}"]`)).toHaveCount(0);
  // Toby manages nothing: the team pages are not in his nav.
  await expect(toby.getByRole('link', { name: 'Technicians' })).toHaveCount(0);
  // The audit export holds every tenant's entries: not offered to Toby (the server refuses it to him); Olivia has it.
  await toby.getByRole('link', { name: 'Audit' }).click();
  await expect(toby.getByRole('button', { name: /^Export/ })).toBeDisabled();
  // Nor a policy simulation, which replays every tenant's calls: said on the page.
  await toby.getByRole('link', { name: 'Policy' }).click();
  await expect(toby.getByTestId('simulate')).toBeDisabled();
  await expect(toby.getByTestId('simulate-every-tenant')).toBeVisible();
  // The policy's values and overrides for all tenants hold for every tenant: read-only for him, said on the page.
  await expect(toby.getByTestId('policy-every-tenant')).toBeVisible();
  await expect(toby.getByRole('checkbox', { name: /Only admin-role keys/ })).toBeDisabled();
  await expect(toby.getByRole('form', { name: 'Add a tier override' }).getByLabel('Tenant').locator('option')).toHaveText(['acme-dental']);
  await olivia.getByRole('link', { name: 'Policy' }).click();
  await expect(olivia.getByRole('checkbox', { name: /Only admin-role keys/ })).toBeEnabled();
  await expect(olivia.getByTestId('policy-every-tenant')).toHaveCount(0);
  await olivia.getByRole('link', { name: 'Audit' }).click();
  await expect(olivia.getByRole('button', { name: /^Export/ })).toBeEnabled();
  // Olivia (all tenants) sees both.
  await olivia.getByRole('link', { name: 'Approvals' }).click();
  await expect(olivia.locator(`[data-approval-id="${globex}"]`)).toBeVisible();
  await expect(olivia.locator(`[data-approval-id="${acme}"]`)).toBeVisible();
  // Decided, so the next test starts with an empty acme queue.
  await olivia.locator(`[data-approval-id="${acme}"]`).getByTestId('approve').click();
  await expect(toby.locator(`[data-approval-id="${acme}"]`)).toBeHidden();
  await toby.context().close();
  await olivia.context().close();
});

test('a four-eyes rule added on the page makes the next card need two approvers', async ({ browser }) => {
  const olivia = await signIn(browser, 'olivia', PASS.olivia);
  await olivia.getByRole('link', { name: 'Four-eyes' }).click();
  await olivia.getByRole('button', { name: 'Add rule' }).click();
  const form = olivia.getByRole('form', { name: 'Add four-eyes rule' });
  await form.getByLabel('Tool').selectOption('device_actions');
  await form.getByLabel('Action').selectOption('reboot');
  await form.getByLabel('Tenant').selectOption('acme-dental');
  await form.getByLabel('Approvers').fill('2');
  await form.getByRole('button', { name: 'Add rule' }).click();
  const rule = olivia.getByTestId('rule-row');
  await expect(rule).toHaveCount(1);
  await expect(rule).toContainText('device_actions');
  await expect(rule).toContainText('acme-dental');
  await expectAccessible(olivia, 'four-eyes page');

  const id = await ask('acme-dental', 'needs four eyes');
  const toby = await signIn(browser, 'toby', PASS.toby);
  const tobyCard = toby.locator(`[data-approval-id="${id}"]`);
  await expect(tobyCard.getByTestId('four-eyes')).toContainText('2 technicians must approve');
  await tobyCard.getByTestId('approve').click();
  await expect(tobyCard.getByTestId('four-eyes')).toContainText('Approved by toby. 1 more needed');
  await olivia.getByRole('link', { name: 'Approvals' }).click();
  const oliviaCard = olivia.locator(`[data-approval-id="${id}"]`);
  await expect(oliviaCard.getByTestId('four-eyes')).toContainText('Approved by toby. 1 more needed');
  await oliviaCard.getByTestId('approve').click();
  await expect(oliviaCard).toBeHidden();
  await expect(tobyCard).toBeHidden();
  const card = await (await olivia.request.post('/console/api/rpc/getApproval', { data: { id } })).json() as { result: { approval: { decidedBy: string; status: string } } };
  expect(card.result.approval).toMatchObject({ decidedBy: 'toby, olivia' });
  await toby.context().close();
  await olivia.context().close();
});

test('narrowing a technician\'s tenants on the page narrows their key at its next call', async ({ browser }) => {
  const toby = await signIn(browser, 'toby', PASS.toby);
  const made = await (await toby.request.post('/console/api/rpc/createKey', { data: { name: 'toby-ai', scopes: ['ai:read'], tenants: ['acme-dental'] } })).json() as { result: { secret: string } };
  const tobyClient = new Client({ name: 'toby-client', version: '1.0.0' });
  await tobyClient.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', serve.url), { requestInit: { headers: { 'X-API-Key': made.result.secret } } }));
  const reads = async () => !(await tobyClient.callTool({ name: 'list_devices', arguments: { tenant: 'acme-dental', limit: 1 } })).isError;
  expect(await reads()).toBe(true);
  const olivia = await signIn(browser, 'olivia', PASS.olivia);
  await olivia.getByRole('link', { name: 'Technicians' }).click();
  const row = olivia.locator('[data-testid="technician-row"][data-name="toby"]');
  await expect(row.getByTestId('technician-keys')).toHaveText('1');
  await row.getByRole('button', { name: 'Role and tenants of toby' }).click();
  const dialog = olivia.getByRole('dialog', { name: 'Role and tenants of toby' });
  await dialog.getByRole('checkbox', { name: /Acme Dental/ }).uncheck();
  await dialog.getByRole('checkbox', { name: /Globex/ }).check();
  await expectAccessible(olivia, 'technician access dialog');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(row.getByTestId('technician-tenants')).toHaveText('globex-logistics');
  // The same session, its very next call: Acme is gone from the key (its owner no longer reaches it).
  expect(await reads()).toBe(false);
  await tobyClient.close();
  await toby.context().close();
  await olivia.context().close();
});
