// Secret script parameters sealed to one device: the console encrypts each value to the X25519 public key the agent
// made at enrollment (an ephemeral X25519 key, HKDF-SHA256, AES-256-GCM), so the signed command, the queued row and
// the wire carry only ciphertext. The context (command, device, parameter name) is bound into the key and the tag:
// a value sealed for another command, device or parameter does not open. Used by the console and by the agent.
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

const VERSION = 1;
const NONCE = 12;
const TAG = 16;
const RAW_KEY = 32;
/** A raw X25519 public key, base64url (what enrollment sends and the agents row keeps). */
export const BOX_PUBLIC_KEY = /^[A-Za-z0-9_-]{43}$/;
/** A sealed value: version byte, ephemeral public key, nonce, ciphertext, tag; base64url. A 1024-character value stays under 4.2 KB. */
export const SEALED_VALUE = /^[A-Za-z0-9_-]{82,5600}$/;

export interface SealContext { commandId: string; deviceId: string; name: string }

const info = (c: SealContext) => Buffer.from(`countersign sealed parameter v${VERSION}\0${c.commandId}\0${c.deviceId}\0${c.name}`);

const rawOf = (k: KeyObject) => Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url');
const publicKeyOf = (b64: string): KeyObject => {
  if (!BOX_PUBLIC_KEY.test(b64)) throw new Error('not an X25519 public key (43 base64url characters)');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64 }, format: 'jwk' });
};

/** The agent's key pair, made at enrollment: the public half for the console, the private half (PKCS#8 PEM) for its state file. */
export function newBoxKeyPair(): { publicKey: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawOf(publicKey).toString('base64url'), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** Throws unless `b64` is a usable X25519 public key: well-formed, and not a low-order point (whose shared secret is zero). */
export function checkBoxPublicKey(b64: string): void {
  diffieHellman({ privateKey: generateKeyPairSync('x25519').privateKey, publicKey: publicKeyOf(b64) });
}

function keyFor(shared: Buffer, ephemeral: Buffer, recipient: Buffer, c: SealContext): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), info(c), 32));
}

/** `value` sealed to the device's public key, for this command and parameter only. */
export function seal(recipientPublicKey: string, value: string, c: SealContext): string {
  const recipient = publicKeyOf(recipientPublicKey);
  const eph = generateKeyPairSync('x25519');
  const ephRaw = rawOf(eph.publicKey);
  const key = keyFor(diffieHellman({ privateKey: eph.privateKey, publicKey: recipient }), ephRaw, rawOf(recipient), c);
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(info(c));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), ephRaw, nonce, body, cipher.getAuthTag()]).toString('base64url');
}

/** The value, or an Error: sealed to another key, for another context, altered, or not a sealed value at all. */
export function open(privateKeyPem: string, sealed: string, c: SealContext): string {
  const buf = SEALED_VALUE.test(sealed) ? Buffer.from(sealed, 'base64url') : Buffer.alloc(0);
  if (buf.length < 1 + RAW_KEY + NONCE + TAG || buf[0] !== VERSION) throw new Error(`sealed parameter ${c.name} is malformed`);
  const privateKey = createPrivateKey(privateKeyPem);
  const ephRaw = buf.subarray(1, 1 + RAW_KEY);
  const nonce = buf.subarray(1 + RAW_KEY, 1 + RAW_KEY + NONCE);
  const body = buf.subarray(1 + RAW_KEY + NONCE, buf.length - TAG);
  const ephemeral = publicKeyOf(ephRaw.toString('base64url'));
  const key = keyFor(diffieHellman({ privateKey, publicKey: ephemeral }), ephRaw, rawOf(createPublicKey(privateKey)), c);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(info(c));
  decipher.setAuthTag(buf.subarray(buf.length - TAG));
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`sealed parameter ${c.name} does not open with this device's key (sealed to another device or command, or altered)`);
  }
}
