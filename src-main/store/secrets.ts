import { generateKeyPairSync, randomBytes, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Install secrets: the HMAC key API keys are stored under, and the Ed25519 key that signs audit checkpoints.
 * A `SecretProtector` lets the Electron shell wrap them with safeStorage; plain Node keeps them in a 0600 file.
 */
export interface SecretProtector {
  readonly kind: string;
  protect(plain: Buffer): Buffer;
  unprotect(sealed: Buffer): Buffer;
}

export const plainFileProtector: SecretProtector = {
  kind: 'file-0600',
  protect: (b) => b,
  unprotect: (b) => b,
};

export interface Secrets {
  hmacKey: Buffer;
  signingKey: KeyObject;
  verifyKey: KeyObject;
}

const SecretsFile = z.object({
  version: z.literal(1),
  protector: z.string(),
  hmacKey: z.string().min(1),
  signingKeyPem: z.string().min(1),
});

export const secretsPath = (dataDir: string) => join(dataDir, 'secrets.json');

export function createSecrets(dataDir: string, protector: SecretProtector = plainFileProtector): Secrets {
  const file = secretsPath(dataDir);
  if (existsSync(file)) throw new Error(`${file} already exists; refusing to replace install secrets`);
  const hmacKey = randomBytes(32);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const body = {
    version: 1,
    protector: protector.kind,
    hmacKey: protector.protect(hmacKey).toString('base64'),
    signingKeyPem: protector.protect(Buffer.from(pem)).toString('base64'),
  };
  writeFileSync(file, JSON.stringify(body, null, 2), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return loadSecrets(dataDir, protector);
}

export function loadSecrets(dataDir: string, protector: SecretProtector = plainFileProtector): Secrets {
  const file = secretsPath(dataDir);
  let parsed: z.infer<typeof SecretsFile>;
  try {
    // An install copied or restored with a loose mode is tightened on its next start.
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // Not ours to change; reading it still works.
  }
  try {
    parsed = SecretsFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new Error(`cannot read install secrets ${file}: ${(e as Error).message}`);
  }
  if (parsed.protector !== protector.kind) {
    throw new Error(`install secrets were sealed by '${parsed.protector}', this process uses '${protector.kind}'`);
  }
  const hmacKey = protector.unprotect(Buffer.from(parsed.hmacKey, 'base64'));
  const signingKey = createPrivateKey(protector.unprotect(Buffer.from(parsed.signingKeyPem, 'base64')).toString());
  return { hmacKey, signingKey, verifyKey: createPublicKey(signingKey) };
}
