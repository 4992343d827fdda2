// The desktop's door to the install secrets. It opens a directory with whichever protector sealed it: the OS keystore
// (safeStorage) or the 0600 file the CLI uses, so a directory made by either door opens here. It changes the seal
// only when the person says so, from the tray menu, because each seal shuts one door: the keystore keeps the secrets
// out of backups and other accounts but the CLI cannot open it; the 0600 file lets the CLI in.
import { plainFileProtector, recordedProtector, type SecretProtector } from '../store/secrets.ts';
import { safeStorageProtector, type SafeStorageLike } from './safeStorageProtector.ts';

export interface DesktopSecrets {
  /** The OS keystore, where a real one exists and COUNTERSIGN_PROTECTOR does not force the file. */
  keystore: SecretProtector | undefined;
  /** Every protector this process may open the secrets with. */
  protectors: SecretProtector[];
  /** The protector a data directory made by the desktop is sealed with. */
  forNew: SecretProtector;
}

export function desktopSecrets(safe: SafeStorageLike, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): DesktopSecrets {
  const forced = env.COUNTERSIGN_PROTECTOR;
  if (forced !== undefined && forced !== plainFileProtector.kind) throw new Error(`COUNTERSIGN_PROTECTOR may only be '${plainFileProtector.kind}' (or unset), not '${forced}'`);
  const keystore = forced ? undefined : safeStorageProtector(safe, platform);
  return { keystore, protectors: keystore ? [keystore, plainFileProtector] : [plainFileProtector], forNew: keystore ?? plainFileProtector };
}

export interface ResealOffer {
  menuLabel: string;
  title: string;
  message: string;
  detail: string;
  buttons: [string, string];
  to: SecretProtector;
}

/** What the tray offers for this directory's seal, or null where there is no choice (no keystore here). */
export function resealOffer(dataDir: string, secrets: DesktopSecrets): ResealOffer | null {
  const { keystore } = secrets;
  if (!keystore) return null;
  const kind = recordedProtector(dataDir);
  if (kind === plainFileProtector.kind) {
    return {
      menuLabel: 'Protect secrets with the OS keystore…',
      title: 'Protect the install secrets with the OS keystore?',
      message: 'Seal the API-key and signing secrets with the OS keystore instead of a file readable by your account.',
      detail: 'The countersign command line cannot open the keystore: after this, commands such as "countersign keys create" on this data directory stop working until you choose "Allow command-line access…" here.',
      buttons: ['Seal with the keystore', 'Cancel'],
      to: keystore,
    };
  }
  if (kind === keystore.kind) {
    return {
      menuLabel: 'Allow command-line access…',
      title: 'Allow the command line to open this data directory?',
      message: 'Re-seal the API-key and signing secrets as a file only your user account can read (mode 0600).',
      detail: 'The countersign command line can then open this data directory, for example to create keys while this window is open. The OS keystore no longer protects the secrets: anyone who can read your files or backups can read them.',
      buttons: ['Allow command-line access', 'Cancel'],
      to: plainFileProtector,
    };
  }
  return null;
}
