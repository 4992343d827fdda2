// The vault for secret script parameters: a keyed mask (equal values give equal masks, so an identical call still finds
// its pending approval, and a mask reveals nothing) and AES-256-GCM sealing. Both keys derive from the install's signing
// key, which never enters the database.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { hmacSha256 } from '../hmac.ts';

/** Secret parameter values by name. */
export type Secrets = Record<string, string>;

export interface SecretVault {
  mask(value: string): string;
  seal(secrets: Secrets): string;
  unseal(sealed: string): Secrets;
}

export function secretVault(signingKey: KeyObject): SecretVault {
  const ikm = signingKey.export({ type: 'pkcs8', format: 'der' });
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'countersign', info, 32));
  const mac = derive('secret parameter mask');
  const key = derive('secret parameter seal');
  return {
    mask: (value) => `[secret:${hmacSha256(mac).update(value).digest('hex').slice(0, 16)}]`,
    seal(secrets) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(JSON.stringify(secrets), 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    },
    unseal(sealed) {
      const raw = Buffer.from(sealed, 'base64');
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as Secrets;
    },
  };
}
