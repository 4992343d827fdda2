// A policy edited in the database without the install secret, in Chromium: an install whose stored write limit was
// raised behind Countersign's back starts with the policy unverified. Every page says so; the Policy page shows the
// stricter values that apply and keeps them when an admin says so, and the notice goes.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { cliEnv, initDemoDir, startServe, type ChildServer } from '../helpers/childServer.ts';
import { expect, test } from './fixtures.ts';

const PASS = 'policy integrity passphrase';
let s: ChildServer;

test.beforeAll(async () => {
  const env = cliEnv(PASS);
  const dir = initDemoDir(env, 'cs-e2e-policy-');
  // The database writer's edit: a write limit far above the default, no binding to match.
  const db = new Database(join(dir, 'countersign.db'));
  db.prepare(`INSERT INTO settings (name, value_json, updated_at) VALUES ('defaultWritePerMinute', '5000', ?)`).run(new Date().toISOString());
  db.close();
  s = await startServe(env, dir);
});
test.afterAll(async () => {
  await s?.stop();
});

test('an unverified policy is announced on every page, shown as it applies, and kept by an admin', async ({ browser }) => {
  const page = await (await browser.newContext({ baseURL: s.url })).newPage();
  await page.goto('/');
  await page.getByLabel('Admin passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  const notice = page.getByTestId('policy-integrity-notice');
  await expect(notice).toContainText('changed without the install secret');

  await notice.getByRole('link', { name: 'Policy' }).click();
  const accept = page.getByTestId('policy-accept');
  await expect(accept).toContainText('This policy failed its integrity check');
  // The stored 5000 is looser than the default: the default applies, and is what the page shows.
  await expect(page.getByLabel(/Writes per minute, per key/)).toHaveValue('60');
  await accept.getByRole('button', { name: 'Keep the policy shown' }).click();
  await expect(accept).toBeHidden();
  await expect(notice).toBeHidden();
  await page.reload();
  await expect(page.getByLabel(/Writes per minute, per key/)).toHaveValue('60');
  await expect(page.getByTestId('policy-integrity-notice')).toBeHidden();
});
