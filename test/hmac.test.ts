// src-main/hmac.ts: HMAC-SHA256 from a key prepared once per Buffer gives exactly what createHmac gives with the Buffer.
import { createHmac, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { hmacSha256 } from '../src-main/hmac.ts';

it('equals createHmac under the same key, call after call, and tells keys apart', () => {
  const a = randomBytes(32);
  const b = Buffer.from(a);
  b[0]! ^= 1;
  for (const data of ['', 'countersign', 'x'.repeat(10_000), '€ ✓ 🔑']) {
    const want = createHmac('sha256', a).update(data).digest('hex');
    expect(hmacSha256(a).update(data).digest('hex')).toBe(want);
    expect(hmacSha256(a).update(data).digest('hex')).toBe(want); // the prepared key, reused
    // Another Buffer with other bytes is another key, even one equal in length and all but one bit.
    expect(hmacSha256(b).update(data).digest('hex')).toBe(createHmac('sha256', b).update(data).digest('hex'));
    expect(hmacSha256(b).update(data).digest('hex')).not.toBe(want);
  }
  // A copy with the same bytes (another Buffer object) gives the same HMAC.
  expect(hmacSha256(Buffer.from(a)).update('x').digest('hex')).toBe(hmacSha256(a).update('x').digest('hex'));
});
