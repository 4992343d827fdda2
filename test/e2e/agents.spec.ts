// An enrollment token made in the UI enrolls a real agent (the CLI's `agent enroll` and `agent run` as child processes
// against the server's agent listener); the agent shows online, is revoked in the UI, and shows offline.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { budget, expect, screenshot, server, test } from './fixtures.ts';

const MAIN = resolve(import.meta.dirname, '../../src-main/cli/main.ts');
const HOST = 'e2e-frontdesk-01';
// Harmless stand-ins for the OS command table (the same code path runs); no apt scan, so the demo fleet's patch figures stay put.
const CONFIG = {
  actions: { reboot: ['echo', 'would reboot'], shutdown: ['echo', 'would shut down'], lock: ['echo', 'would lock'], isolate: ['echo', 'would isolate'] },
  patchInstall: ['echo', 'would install', '{packages}'], patchScan: false, maxBackoffSeconds: 1,
};

function cli(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += String(d)));
  child.stderr!.on('data', (d) => (text += String(d)));
  const exited = new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
  return { child, output: () => text, exited };
}

test('a token made in the UI enrolls a real agent, which shows online; revoked in the UI, it shows offline', async ({ signedIn: page }) => {
  test.setTimeout(budget(90_000));
  const root = mkdtempSync(join(tmpdir(), 'cs-e2e-agent-'));
  const stateDir = join(root, 'state');
  writeFileSync(join(root, 'agent.json'), JSON.stringify(CONFIG));
  let agent: ReturnType<typeof cli> | undefined;
  try {
    await page.goto('/#/agents');
    await expect(page.getByTestId('agent-url')).toHaveText(server().agentUrl);
    await expect(page.getByText('No agents enrolled yet')).toBeVisible();
    await expect(page.getByText('No enrollment tokens yet')).toBeVisible();
    await screenshot(page, 'agents-empty');

    // Keyboard: n opens the form with the tenant focused.
    await page.keyboard.press('n');
    const form = page.getByRole('form', { name: 'Create enrollment token' });
    await expect(form.getByLabel('Tenant')).toBeFocused();
    await form.getByLabel('Tenant').selectOption('northwind-legal');
    await form.getByLabel('Uses').fill('1');
    await form.getByLabel('Expires after').selectOption({ label: '1 hour' });
    await screenshot(page, 'agents-create');
    await form.getByRole('button', { name: 'Create token' }).click();

    const secret = (await page.getByTestId('new-token-secret').textContent())!;
    expect(secret).toMatch(/^cset\.[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await expect(page.getByRole('button', { name: 'Copied', exact: true })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const command = (await page.getByLabel('Enroll command').textContent())!;
    expect(command).toBe(`countersign agent enroll --url ${server().agentUrl} --token ${secret} --state-dir /var/lib/countersign-agent`);
    await page.getByRole('button', { name: 'Copy enroll command' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
    await expect(page.getByLabel('Run command')).toHaveText('countersign agent run --state-dir /var/lib/countersign-agent');
    await screenshot(page, 'agents-token-created');

    // The pasted command, with a state directory of this test and a recognisable hostname.
    const args = command.replace(/^countersign /, '').replace(/--state-dir \S+$/, `--state-dir ${stateDir}`).split(' ');
    const enroll = cli([...args, '--hostname', HOST]);
    expect(await enroll.exited, enroll.output()).toBe(0);
    expect(enroll.output()).toMatch(/enrolled device \S+ in tenant northwind-legal/);
    agent = cli(['agent', 'run', '--state-dir', stateDir, '--config', join(root, 'agent.json')]);

    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    const row = page.locator(`[data-testid="agent-row"][data-hostname="${HOST}"]`);
    await expect(row).toContainText('northwind-legal');
    await expect(row.getByTestId('agent-status')).toHaveText('online', { timeout: budget(15_000) });
    await expect(row).toContainText('127.0.0.1');
    await expect(page.getByTestId('agent-counts')).toHaveText('1 online · 1 agent');
    // One use, now used: the token leaves the active list.
    await expect(page.getByText('No active enrollment tokens')).toBeVisible();
    await page.getByRole('checkbox', { name: /Show used up, expired and revoked/ }).check();
    await expect(page.getByTestId('token-row').first()).toContainText('used up');
    await expect(page.getByTestId('token-row').first()).toContainText('1/1');
    await page.getByRole('checkbox', { name: /Show used up, expired and revoked/ }).uncheck();

    // A second token, revoked from its row.
    await page.getByRole('button', { name: /New enrollment token/ }).click();
    await form.getByLabel('Tenant').selectOption('acme-dental');
    await form.getByLabel('Uses').fill('5');
    await form.getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    const spare = page.getByTestId('token-row').filter({ hasText: 'acme-dental' });
    await expect(spare).toContainText('0/5');
    await screenshot(page, 'agents');
    await spare.getByRole('button', { name: /Revoke token/ }).click();
    const tokenDialog = page.getByRole('dialog', { name: /Revoke token/ });
    await expect(tokenDialog).toContainText('No new machine can enroll');
    await tokenDialog.getByRole('button', { name: 'Revoke token' }).click();
    await expect(page.getByText('No active enrollment tokens')).toBeVisible();

    // Revoke the agent: the dialog asks first and opens on Cancel, the safe choice; Tab, then Enter confirms.
    await row.getByRole('button', { name: `Revoke agent ${HOST}…` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke agent “${HOST}”?` });
    await expect(dialog).toContainText('refused on every reconnect');
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name: 'Revoke agent' })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(dialog).toBeHidden();
    await expect(row.getByTestId('agent-status')).toHaveText(/offline\s*revoked/, { timeout: budget(15_000) });
    await expect(row.getByRole('button', { name: /Revoke/ })).toHaveCount(0);
    await expect(page.getByTestId('agent-counts')).toHaveText('0 online · 1 agent');
    await expect.poll(() => agent!.output(), { timeout: budget(15_000) }).toMatch(/refused the connection: HTTP 401/);
    await screenshot(page, 'agents-revoked');
  } finally {
    agent?.child.kill('SIGTERM');
    await agent?.exited;
    rmSync(root, { recursive: true, force: true });
  }
});
