// `countersign technicians passkeys ID [--remove=PASSKEY_ID]` as a real child process: an owner lists a technician's
// passkeys and removes one for a lost device (audited with the CLI as its actor); an unknown one is a clear error.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp } from '../../src-main/app.ts';
import { PasskeyService } from '../../src-main/auth/passkeys.ts';
import { cli, cliEnv } from '../helpers/childServer.ts';
import { initTestDir } from '../helpers/server.ts';
import { SoftAuthenticator } from '../helpers/softAuthenticator.ts';

const RP = { id: 'localhost', origin: 'http://localhost:4319' };
let dir: string;
let technicianId: string;
let credentialId: string;

beforeAll(async () => {
  dir = await initTestDir();
  const app = await openApp(dir, { log: () => {} });
  try {
    const t = await app.technicians.create({ name: 'lee', passphrase: 'lee passphrase 123', role: 'technician', tenants: 'all' }, 'test');
    technicianId = t.id;
    const passkeys = new PasskeyService(app.store, app.technicians, app.secrets.hmacKey);
    const keys = new SoftAuthenticator(RP.origin);
    credentialId = (await passkeys.register(RP, t, 'session', { name: 'lee phone', response: keys.create(await passkeys.registrationOptions(RP, t, 'session')) })).id;
  } finally {
    await app.close();
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('lists a technician\'s passkeys and removes one, audited with the CLI as actor', async () => {
  const env = cliEnv('unused passphrase');
  const listed = cli(env, 'technicians', 'passkeys', technicianId, '--data-dir', dir);
  expect(listed.status, listed.stderr).toBe(0);
  expect(listed.stdout.trim().split('\t').slice(0, 2)).toEqual([credentialId, 'lee phone']);
  expect(listed.stdout).toContain('never used');
  const removed = cli(env, 'technicians', 'passkeys', technicianId, `--remove=${credentialId}`, '--data-dir', dir);
  expect(removed.status, removed.stderr).toBe(0);
  expect(removed.stderr).toContain(`removed passkey ${credentialId} of lee`);
  expect(cli(env, 'technicians', 'passkeys', technicianId, '--data-dir', dir).stdout.trim()).toBe('');
  const again = cli(env, 'technicians', 'passkeys', technicianId, `--remove=${credentialId}`, '--data-dir', dir);
  expect([again.status, again.stderr.trim()]).toEqual([1, 'countersign: no such passkey of this technician']);
  const app = await openApp(dir, { log: () => {} });
  try {
    const entry = await app.store.sql.get<{ rule: string; detail_json: string }>(`SELECT rule, detail_json FROM audit_log WHERE outcome = 'passkey removed'`);
    expect(entry!.rule).toBe('cli');
    expect(JSON.parse(entry!.detail_json)).toMatchObject({ technician: 'lee', authenticator: 'lee phone' });
  } finally {
    await app.close();
  }
  const unknown = cli(env, 'technicians', 'passkeys', 'nobody', '--data-dir', dir);
  expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringContaining('no technician nobody')]);
  const bad = cli(env, 'technicians', 'passkeys', technicianId, '--remove', 'not an id!', '--data-dir', dir);
  expect(bad.status).toBe(2);
});
