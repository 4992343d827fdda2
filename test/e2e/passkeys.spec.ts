// Passkeys in real Chromium with its virtual authenticator (CTAP2, resident keys, user verification): a technician
// signs in with their passphrase, adds a passkey under "Your passkeys", signs out and back in with the passkey alone
// (no name) and with their name; once the passkey is removed, the authenticator still offers it and the server refuses
// it. The server is a real `countersign serve` on a fresh SQLite install, opened at http://localhost:<port> (passkeys
// are bound to a hostname, so not 127.0.0.1).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test, type Page } from '@playwright/test';
import { cli, startServe, type ChildServer } from '../helpers/childServer.ts';
import { expectAccessible } from './axe.ts';

const PASS = 'alice signs in with this passphrase';
let root: string;
let dir: string;
let server: ChildServer;
let base: string;
let env: NodeJS.ProcessEnv;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cs-passkeys-'));
  dir = join(root, 'data');
  env = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: 'passkey spec admin passphrase' };
  const must = (r: { status: number | null; stderr: string }, what: string) => {
    if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  };
  must(cli(env, 'init', '--data-dir', dir, '--demo'), 'init');
  must(cli({ ...env, COUNTERSIGN_TECHNICIAN_PASSPHRASE: PASS }, 'technicians', 'create', '--data-dir', dir, '--name', 'alice', '--role', 'owner', '--tenants', 'all'), 'technicians create');
  server = await startServe(env, dir);
  base = `http://localhost:${server.port}`;
});

test.afterAll(async () => {
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Chromium's virtual authenticator for this page: a platform authenticator that holds passkeys and verifies the user. */
async function virtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials };
}

const auditRows = () => {
  const db = new Database(join(dir, 'countersign.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT decision, code, rule, outcome, detail_json FROM audit_log WHERE event = 'console' ORDER BY seq`).all() as
      { decision: string; code: string | null; rule: string; outcome: string | null; detail_json: string }[];
  } finally {
    db.close();
  }
};

test('a technician adds a passkey and signs in with it; a removed passkey is refused', async ({ browser }) => {
  const page = await (await browser.newContext({ baseURL: base })).newPage();
  const authenticator = await virtualAuthenticator(page);
  await page.goto('/');
  await page.getByLabel('Technician').fill('alice');
  await page.getByLabel('Passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText(/Signed in as alice \(owner\)/);

  // Add a passkey: the virtual authenticator makes a resident credential, the server verifies and stores it.
  await page.getByRole('button', { name: 'Your passkeys' }).click();
  const dialog = page.getByRole('dialog', { name: 'Your passkeys' });
  await expect(dialog.getByTestId('no-passkeys')).toBeVisible();
  await dialog.getByLabel("New passkey's name").fill('alice laptop');
  await dialog.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(dialog.getByTestId('passkey')).toHaveCount(1);
  await expect(dialog.getByTestId('passkey')).toContainText('alice laptop');
  await expect(dialog.getByTestId('passkey')).toContainText('not used yet');
  await expectAccessible(page, 'your passkeys, one listed');
  const held = await authenticator.credentials();
  expect(held).toHaveLength(1);
  expect(held[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Sign out, then in with the passkey alone: the authenticator offers its discoverable credential.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeVisible();
  await expectAccessible(page, 'sign-in with a passkey offered');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText(/Signed in as alice \(owner\)/);
  await expect(page.getByRole('heading', { name: 'Approvals' })).toBeVisible();

  // And with the name given first.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Technician').fill('alice');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText(/Signed in as alice \(owner\)/);

  // Remove it: the list is empty, the authenticator still holds the credential, and the server no longer accepts it.
  await page.getByRole('button', { name: 'Your passkeys' }).click();
  await expect(dialog.getByTestId('passkey')).toContainText('last used');
  await dialog.getByRole('button', { name: 'Remove passkey alice laptop' }).click();
  await dialog.getByRole('button', { name: 'Remove passkey', exact: true }).click();
  await expect(dialog.getByTestId('no-passkeys')).toBeVisible();
  await dialog.getByRole('button', { name: 'Close' }).click();
  expect(await authenticator.credentials()).toHaveLength(1);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert')).toHaveText(/Passkey not accepted: no account has this passkey/);
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();

  // The audit log names alice for each step, and records the refusal.
  const rows = auditRows();
  const find = (pred: (r: (typeof rows)[number]) => boolean) => rows.find(pred);
  expect(find((r) => r.outcome === 'passkey registered')).toMatchObject({ rule: 'alice' });
  expect(find((r) => r.outcome === 'passkey removed')).toMatchObject({ rule: 'alice' });
  const passkeyLogins = rows.filter((r) => r.outcome === 'login: alice' && JSON.parse(r.detail_json).method === 'passkey');
  expect(passkeyLogins).toHaveLength(2);
  expect(find((r) => r.code === 'PASSKEY_UNKNOWN')).toMatchObject({ decision: 'denied', rule: 'console_login' });
});

test('a console opened at another address than the relying party says where passkeys work', async ({ browser }) => {
  const page = await (await browser.newContext({ baseURL: server.url })).newPage();
  await page.goto('/');
  await expect(page.getByTestId('passkeys-elsewhere')).toHaveText(`Passkeys sign in at ${base}.`);
  await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toHaveCount(0);
});
