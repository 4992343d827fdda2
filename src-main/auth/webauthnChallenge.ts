// WebAuthn challenges signed by the server instead of stored: asking for one writes nothing (an unauthenticated page
// may ask freely), and any node holding the install secret can check it. A challenge carries its purpose, its expiry
// and an HMAC over both and what it is bound to (the registering session, or the name a sign-in gave). That it is
// answered only once is the caller's part: it records the challenge's hash when it accepts an answer.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from '../hmac.ts';

export type ChallengePurpose = 'register' | 'login';
const PURPOSE_BYTE: Record<ChallengePurpose, number> = { register: 1, login: 2 };
const VERSION = 1;
// version(1) purpose(1) expiry ms(8) random(16) hmac(32)
const HEAD = 26;
const LENGTH = HEAD + 32;
/** Long enough for a person to touch their authenticator; the browser's own timeout (60 s) ends the prompt first. */
export const CHALLENGE_TTL_MS = 2 * 60_000;

export type ChallengeVerdict = { ok: true; expiresAt: Date; hash: string } | { ok: false; reason: string };

export class ChallengeSigner {
  private readonly key: Buffer;
  private readonly now: () => number;
  private readonly ttlMs: number;
  constructor(hmacKey: Buffer, opts: { now?: () => number; ttlMs?: number } = {}) {
    this.key = createHmac('sha256', hmacKey).update('countersign webauthn challenge').digest();
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.ttlMs ?? CHALLENGE_TTL_MS;
  }

  issue(purpose: ChallengePurpose, binding: string): Uint8Array<ArrayBuffer> {
    const out = Buffer.alloc(LENGTH);
    out[0] = VERSION;
    out[1] = PURPOSE_BYTE[purpose];
    out.writeBigUInt64BE(BigInt(this.now() + this.ttlMs), 2);
    randomBytes(16).copy(out, 10);
    this.mac(out.subarray(0, HEAD), binding).copy(out, HEAD);
    return new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + LENGTH)) as Uint8Array<ArrayBuffer>;
  }

  /** Checks a challenge as the browser echoed it (base64url in clientDataJSON): ours, for this purpose and binding, not expired. */
  check(challenge: string, purpose: ChallengePurpose, binding: string): ChallengeVerdict {
    const bytes = /^[A-Za-z0-9_-]{1,200}$/.test(challenge) ? Buffer.from(challenge, 'base64url') : Buffer.alloc(0);
    if (bytes.length !== LENGTH || bytes[0] !== VERSION) return { ok: false, reason: 'not a challenge this server issued' };
    const want = this.mac(bytes.subarray(0, HEAD), binding);
    if (!timingSafeEqual(want, bytes.subarray(HEAD))) return { ok: false, reason: 'not a challenge this server issued for this sign-in' };
    if (bytes[1] !== PURPOSE_BYTE[purpose]) return { ok: false, reason: `a challenge issued for another purpose` };
    const expires = Number(bytes.readBigUInt64BE(2));
    if (expires <= this.now()) return { ok: false, reason: 'the challenge has expired; start again' };
    return { ok: true, expiresAt: new Date(expires), hash: createHash('sha256').update(bytes).digest('hex') };
  }

  private mac(head: Buffer, binding: string): Buffer {
    return hmacSha256(this.key).update(head).update('\0').update(binding).digest();
  }
}
