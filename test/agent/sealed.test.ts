// The sealing of secret parameters (agent/sealed.ts) on its own: a value opens only with the recipient's key and for
// the command, device and parameter it was sealed for; any altered byte, a wrong version or a malformed value is refused.
import { describe, expect, it } from 'vitest';
import { BOX_PUBLIC_KEY, checkBoxPublicKey, newBoxKeyPair, open, seal, SEALED_VALUE } from '../../src-main/agent/sealed.ts';

const ctx = { commandId: '6f1e0c1a-0000-4000-8000-000000000001', deviceId: '6f1e0c1a-0000-4000-8000-0000000000d1', name: 'pw' };

describe('sealed parameters', () => {
  const device = newBoxKeyPair();
  const other = newBoxKeyPair();

  it('round trip, any value a parameter can hold (up to 1024 characters, multibyte), a fresh ciphertext each time', () => {
    expect(device.publicKey).toMatch(BOX_PUBLIC_KEY);
    for (const v of ['', 'hunter2', 'é€😀'.repeat(200), 'x'.repeat(1024), '😀'.repeat(512)]) {
      const s = seal(device.publicKey, v, ctx);
      expect(s).toMatch(SEALED_VALUE);
      expect(open(device.privateKeyPem, s, ctx)).toBe(v);
    }
    expect(seal(device.publicKey, 'same', ctx)).not.toBe(seal(device.publicKey, 'same', ctx));
  });

  it('does not open with another device\'s key, nor for another command, device or parameter', () => {
    const s = seal(device.publicKey, 'secret', ctx);
    expect(() => open(other.privateKeyPem, s, ctx)).toThrow(/does not open/);
    for (const c of [{ ...ctx, commandId: 'x' }, { ...ctx, deviceId: 'y' }, { ...ctx, name: 'other' }]) expect(() => open(device.privateKeyPem, s, c)).toThrow(/does not open/);
  });

  it('every altered byte is refused; a wrong version or a malformed value too', () => {
    const s = seal(device.publicKey, 'secret', ctx);
    const raw = Buffer.from(s, 'base64url');
    for (let i = 1; i < raw.length; i++) {
      const t = Buffer.from(raw);
      t[i]! ^= 0x01;
      expect(() => open(device.privateKeyPem, t.toString('base64url'), ctx), `byte ${i}`).toThrow();
    }
    const v2 = Buffer.from(raw);
    v2[0] = 2;
    expect(() => open(device.privateKeyPem, v2.toString('base64url'), ctx)).toThrow(/malformed/);
    for (const bad of ['', 'not base64!', s.slice(0, 40)]) expect(() => open(device.privateKeyPem, bad, ctx)).toThrow(/malformed/);
  });

  it('an enrollment key must be a real X25519 public key', () => {
    expect(() => checkBoxPublicKey(device.publicKey)).not.toThrow();
    expect(() => checkBoxPublicKey('short')).toThrow(/X25519/);
    // All zeros is a low-order point: every shared secret with it would be zero.
    expect(() => checkBoxPublicKey(Buffer.alloc(32).toString('base64url'))).toThrow();
  });
});
