// Signed WebAuthn challenges: accepted for their purpose and binding until they expire; anything else is refused.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { ChallengeSigner } from '../../src-main/auth/webauthnChallenge.ts';

const key = randomBytes(32);
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const hashOf = (v: ReturnType<ChallengeSigner['check']>) => (v.ok ? v.hash : null);

it('accepts a challenge for its purpose and binding until it expires; refuses a foreign, altered or garbled one', () => {
  let now = 1_000_000;
  const signer = new ChallengeSigner(key, { now: () => now, ttlMs: 1000 });
  const c = b64u(signer.issue('login', 'login:dana'));
  expect(signer.check(c, 'login', 'login:dana')).toMatchObject({ ok: true, expiresAt: new Date(1_001_000) });
  // The same challenge always hashes alike (the key of its single-use record); another one does not.
  expect(hashOf(signer.check(c, 'login', 'login:dana'))).toMatch(/^[0-9a-f]{64}$/);
  expect(hashOf(signer.check(c, 'login', 'login:dana'))).toBe(hashOf(signer.check(c, 'login', 'login:dana')));
  expect(hashOf(signer.check(b64u(signer.issue('login', 'login:dana')), 'login', 'login:dana'))).not.toBe(hashOf(signer.check(c, 'login', 'login:dana')));
  expect(signer.check(c, 'login', 'login:ed')).toEqual({ ok: false, reason: 'not a challenge this server issued for this sign-in' });
  expect(signer.check(b64u(signer.issue('register', 'login:dana')), 'login', 'login:dana')).toEqual({ ok: false, reason: 'a challenge issued for another purpose' });
  expect(new ChallengeSigner(randomBytes(32), { now: () => now }).check(c, 'login', 'login:dana').ok).toBe(false);
  const tampered = Buffer.from(c, 'base64url');
  tampered[5]! ^= 1;
  expect(signer.check(b64u(tampered), 'login', 'login:dana').ok).toBe(false);
  for (const junk of ['', 'AAAA', 'not base64url!', 'A'.repeat(500)]) expect(signer.check(junk, 'login', 'login:dana')).toEqual({ ok: false, reason: 'not a challenge this server issued' });
  now += 999;
  expect(signer.check(c, 'login', 'login:dana').ok).toBe(true);
  now += 1;
  expect(signer.check(c, 'login', 'login:dana')).toEqual({ ok: false, reason: 'the challenge has expired; start again' });
});
