// Web mode sign-in: the passphrase from init, a session cookie, sign-out, and what an expired session looks like.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { expect, server, test, waitLive } from './fixtures.ts';

test('the console serves its page with a strict CSP and frame denial', async ({ guest }) => {
  const res = await guest.request.get('/');
  expect(res.status()).toBe(200);
  const h = res.headers();
  expect(h['content-security-policy']).toContain("default-src 'self'");
  expect(h['content-security-policy']).toContain("script-src 'self'");
  expect(h['content-security-policy']).not.toContain('unsafe');
  expect(h['x-frame-options']).toBe('DENY');
  expect(h['referrer-policy']).toBe('no-referrer');
  expect((await guest.request.get('/..%2f..%2fpackage.json')).status()).toBe(404);
});

test('log in with the passphrase; a wrong one is refused', async ({ guest }) => {
  await guest.goto('/');
  const form = guest.getByRole('form', { name: 'Sign in' });
  await expect(form).toBeVisible();
  await guest.getByLabel('Admin passphrase').fill('not the passphrase');
  await guest.getByRole('button', { name: 'Sign in' }).click();
  await expect(guest.getByRole('alert')).toHaveText('Wrong passphrase.');
  await guest.getByLabel('Admin passphrase').fill(server().passphrase);
  await guest.keyboard.press('Enter');
  await expect(guest.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  await expect(guest.getByRole('navigation', { name: 'Pages' })).toBeVisible();
  await waitLive(guest);
  const cookie = (await guest.context().cookies()).find((c) => c.name === 'cs_console')!;
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

  // Sign out: back to the form, and the cookie no longer works.
  await guest.getByRole('button', { name: 'Sign out' }).click();
  await expect(guest.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await expect(guest.getByText('Signed out.')).toBeVisible();
  const r = await guest.request.post('/console/api/rpc/session', { data: {}, headers: { Cookie: `cs_console=${cookie.value}` } });
  expect(r.status()).toBe(401);
});

test('an expired session returns to the sign-in form with a notice', async ({ guest }) => {
  await guest.goto('/');
  await guest.getByLabel('Admin passphrase').fill(server().passphrase);
  await guest.keyboard.press('Enter');
  await expect(guest.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  // Expire this page's session (the newest one) in the store, as time would.
  const db = new Database(join(server().dataDir, 'countersign.db'));
  try {
    db.prepare('UPDATE console_sessions SET expires_at = ? WHERE created_at = (SELECT max(created_at) FROM console_sessions)').run(new Date(Date.now() - 1000).toISOString());
  } finally {
    db.close();
  }
  // The next call the page makes (here: opening the keys page) gets 401; the page may already have made one.
  await guest.evaluate(() => {
    window.location.hash = '#/keys';
  });
  await expect(guest.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await expect(guest.getByText(/session has ended|session expired/)).toBeVisible();
});
