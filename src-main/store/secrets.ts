import { generateKeyPairSync, randomBytes, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, chmodSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Install secrets: the HMAC key API keys are stored under, and the Ed25519 key that signs audit checkpoints.
 * A `SecretProtector` lets the Electron shell wrap them with safeStorage; plain Node keeps them in a 0600 file.
 * The file records which protector sealed it. A process opens it only with that protector (the desktop has both,
 * the CLI only the file one); changing the seal is `resealSecrets`, which the desktop does only on the user's word.
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

/** The secrets were sealed by a protector this process does not have (the OS keystore, seen from the CLI). */
export class ProtectorMismatchError extends Error {
  readonly file: string;
  readonly recorded: string;
  readonly available: readonly string[];
  /** Set when the recorded protector is here but could not open the seal (another OS account or machine). */
  readonly unsealFailure: string | undefined;
  constructor(file: string, recorded: string, available: readonly string[], unsealFailure?: string) {
    const hint = recorded === 'electron-safestorage' && !available.includes(recorded)
      ? ' Only the desktop app can open the OS keystore: choose "Allow command-line access…" in its tray menu to re-seal them as a 0600 file.'
      : '';
    super(unsealFailure
      ? `install secrets ${file} were sealed by '${recorded}' but it cannot open them here (${unsealFailure})`
      : `install secrets ${file} were sealed by '${recorded}', this process uses ${available.map((k) => `'${k}'`).join(' or ')}.${hint}`);
    this.unsealFailure = unsealFailure;
    this.file = file;
    this.recorded = recorded;
    this.available = available;
  }
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
  const body = sealedBody(hmacKey, Buffer.from(pem), protector);
  writeFileSync(file, JSON.stringify(body, null, 2), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return loadSecrets(dataDir, protector);
}

const sealedBody = (hmacKey: Buffer, pem: Buffer, protector: SecretProtector): z.infer<typeof SecretsFile> => ({
  version: 1,
  protector: protector.kind,
  hmacKey: protector.protect(hmacKey).toString('base64'),
  signingKeyPem: protector.protect(pem).toString('base64'),
});

function readSecretsFile(dataDir: string): z.infer<typeof SecretsFile> {
  const file = secretsPath(dataDir);
  try {
    // An install copied or restored with a loose mode is tightened on its next start.
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch {
    // Not ours to change; reading it still works.
  }
  try {
    return SecretsFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new Error(`cannot read install secrets ${file}: ${(e as Error).message}`);
  }
}

/** Which protector sealed this directory's secrets. */
export const recordedProtector = (dataDir: string): string => readSecretsFile(dataDir).protector;

function unseal(dataDir: string, protectors: SecretProtector | readonly SecretProtector[]): { hmacKey: Buffer; pem: Buffer } {
  const parsed = readSecretsFile(dataDir);
  const list = Array.isArray(protectors) ? protectors : [protectors as SecretProtector];
  const protector = list.find((p) => p.kind === parsed.protector);
  if (!protector) throw new ProtectorMismatchError(secretsPath(dataDir), parsed.protector, list.map((p) => p.kind));
  try {
    return { hmacKey: protector.unprotect(Buffer.from(parsed.hmacKey, 'base64')), pem: protector.unprotect(Buffer.from(parsed.signingKeyPem, 'base64')) };
  } catch (e) {
    // A keystore seal made under another OS account or machine: same kind, but this keystore cannot open it.
    throw new ProtectorMismatchError(secretsPath(dataDir), parsed.protector, list.map((p) => p.kind), (e as Error).message);
  }
}

/** Opens the secrets with the protector recorded in the file, which must be one of `protectors`. */
export function loadSecrets(dataDir: string, protectors: SecretProtector | readonly SecretProtector[] = plainFileProtector): Secrets {
  const { hmacKey, pem } = unseal(dataDir, protectors);
  const signingKey = createPrivateKey(pem.toString());
  return { hmacKey, signingKey, verifyKey: createPublicKey(signingKey) };
}

/**
 * Re-seals the same secrets with another protector: unsealed with the recorded one, sealed with `to`, checked to
 * open again, then swapped in by rename so a crash leaves the old file or the new one, never half of either.
 */
export function resealSecrets(dataDir: string, protectors: readonly SecretProtector[], to: SecretProtector): void {
  const { hmacKey, pem } = unseal(dataDir, protectors);
  const body = sealedBody(hmacKey, pem, to);
  if (!to.unprotect(Buffer.from(body.hmacKey, 'base64')).equals(hmacKey)) throw new Error(`the '${to.kind}' protector did not give the secrets back; nothing was changed`);
  const file = secretsPath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(body, null, 2), { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
