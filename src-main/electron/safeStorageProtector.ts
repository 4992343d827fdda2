import type { SecretProtector } from '../store/secrets.ts';

/** The subset of Electron's safeStorage we use; injected so this stays testable in plain Node. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(sealed: Buffer): string;
  getSelectedStorageBackend?(): string;
}

/**
 * Install secrets sealed by the OS keystore (Keychain, DPAPI, libsecret/kwallet). Returns undefined where the OS
 * offers none — on Linux, `basic_text` is a hard-coded password, no protection — so the caller keeps the 0600 file.
 */
export function safeStorageProtector(safe: SafeStorageLike, platform = process.platform): SecretProtector | undefined {
  if (!safe.isEncryptionAvailable()) return undefined;
  if (platform === 'linux' && safe.getSelectedStorageBackend?.() === 'basic_text') return undefined;
  return {
    kind: 'electron-safestorage',
    // base64 round trip: encryptString takes text, and the secrets are binary.
    protect: (plain) => safe.encryptString(plain.toString('base64')),
    unprotect: (sealed) => Buffer.from(safe.decryptString(sealed), 'base64'),
  };
}
