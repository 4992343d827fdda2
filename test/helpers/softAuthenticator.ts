// A software WebAuthn authenticator for server-side tests: a P-256 key pair per credential, 'none' attestation, the
// authenticator data and signatures a real authenticator produces (the Playwright spec uses Chromium's virtual one).
// Its knobs make the bad cases: another origin, no user verification, a counter that goes back.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest();

interface Credential {
  id: Buffer;
  key: KeyObject;
  cose: Uint8Array;
  rpId: string;
  userHandle: string;
  counter: number;
}

export interface Touch {
  origin?: string;
  userVerified?: boolean;
  /** Sets the signature counter before this use (a clone replays an older one). */
  counter?: number;
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];
  private readonly origin: string;
  constructor(origin: string) {
    this.origin = origin;
  }

  /** navigator.credentials.create() for these options: the RegistrationResponseJSON the browser would send. */
  create(options: { challenge: string; rp: { id?: string }; user: { id: string } }, touch: Touch = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
    const cred: Credential = { id: randomBytes(32), key: privateKey, cose, rpId: options.rp.id!, userHandle: options.user.id, counter: 0 };
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, touch);
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(cred.id.length);
    const authData = Buffer.concat([this.authHead(cred, touch, 0x40), Buffer.alloc(16), idLen, cred.id, Buffer.from(cose)]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
    this.credentials.push(cred);
    return {
      id: b64u(cred.id), rawId: b64u(cred.id), type: 'public-key' as const, clientExtensionResults: {},
      response: { clientDataJSON: b64u(clientDataJSON), attestationObject: b64u(attestationObject), transports: ['internal'] },
    };
  }

  /** Holds a credential for localhost that no server has seen. */
  withCredential(): this {
    this.create({ challenge: 'AA', rp: { id: 'localhost' }, user: { id: 'bm9ib2R5' } });
    return this;
  }

  /** navigator.credentials.get() with one of its credentials (the last made, by default). */
  get(options: { challenge: string }, touch: Touch = {}, cred: Credential | undefined = this.credentials.at(-1)) {
    if (!cred) throw new Error('this authenticator holds no credential');
    if (touch.counter !== undefined) cred.counter = touch.counter;
    else cred.counter++;
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, touch);
    const authenticatorData = this.authHead(cred, touch, 0);
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), cred.key);
    return {
      id: b64u(cred.id), rawId: b64u(cred.id), type: 'public-key' as const, clientExtensionResults: {},
      response: { clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authenticatorData), signature: b64u(signature), userHandle: cred.userHandle },
    };
  }

  private clientData(type: string, challenge: string, touch: Touch): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: touch.origin ?? this.origin, crossOrigin: false }));
  }

  /** rpIdHash, flags (user present, user verified unless told otherwise, plus `extra`), counter. */
  private authHead(cred: Credential, touch: Touch, extra: number): Buffer {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(cred.counter);
    const flags = 0x01 | (touch.userVerified === false ? 0 : 0x04) | extra;
    return Buffer.concat([sha256(cred.rpId), Buffer.from([flags]), counter]);
  }
}
