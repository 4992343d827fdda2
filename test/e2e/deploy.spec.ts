// Deploying agents from the Agents page: published builds with their SHA-256, and one-line install commands with a fresh
// token that pin the listener's certificate (the Linux line is run for real in test/agent/executable.test.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, screenshot, server, test } from './fixtures.ts';

const BODY = 'stand-in agent build for the page';
const SHA = createHash('sha256').update(BODY).digest('hex');
const dir = () => join(server().dataDir, 'agent-builds', '0.3.0');

test.beforeAll(() => {
  for (const t of ['linux-x64', 'win-x64']) {
    mkdirSync(join(dir(), t), { recursive: true });
    writeFileSync(join(dir(), t, t === 'win-x64' ? 'countersign-agent.exe' : 'countersign-agent'), BODY);
  }
  writeFileSync(join(dir(), 'manifest.json'), JSON.stringify({ version: '0.3.0', targets: Object.fromEntries(['linux-x64', 'win-x64'].map((t) => [t, {
    target: t, file: `${t}/countersign-agent${t === 'win-x64' ? '.exe' : ''}`, sha256: SHA, size: BODY.length, runtime: `node-${t}@24.21.0`, signed: false, builtAt: new Date().toISOString(),
  }])) }));
});
test.afterAll(() => rmSync(join(server().dataDir, 'agent-builds'), { recursive: true, force: true }));

test('the Agents page lists published builds and makes one-line install commands with a fresh token', async ({ signedIn: page }) => {
  await page.goto('/#/agents');
  const builds = page.getByRole('table', { name: 'Agent builds' });
  await expect(builds).toContainText('0.3.0');
  await expect(page.getByTestId('sha-linux-x64-0.3.0')).toHaveText(SHA);
  await expect(builds.getByRole('link', { name: 'linux-x64' })).toHaveAttribute('href', `${server().agentUrl}/agent/v1/download/linux-x64/0.3.0`);

  const form = page.getByRole('form', { name: 'Make install commands' });
  await form.getByLabel('Tenant').selectOption('acme-dental');
  await form.getByLabel('Machines (token uses)').fill('5');
  await form.getByRole('button', { name: 'Make install commands' }).click();
  const linux = page.getByLabel('linux-x64 install command');
  await expect(linux).toContainText(`--pinnedpubkey 'sha256//`);
  await expect(linux).toContainText(`echo "${SHA}  $f" | sha256sum -c -`);
  await expect(linux).toContainText(`install --url '${server().agentUrl}' --token 'cset.`);
  await expect(page.getByLabel('win-x64 install command')).toContainText(`-ne '${SHA.toUpperCase()}'`);
  await page.getByRole('button', { name: 'Copy linux-x64 command' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await linux.textContent());
  await screenshot(page, 'agents-deploy', { fullPage: true });
});
