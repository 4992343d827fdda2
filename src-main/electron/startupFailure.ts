// What a person sees when the desktop app cannot start: a native dialog that says what happened and what to do,
// then a non-zero exit. Pure: main.ts shows the text, the tests read it.
import { DatabaseError } from '../store/db.ts';
import { ProtectorMismatchError } from '../store/secrets.ts';
import { PortInUseError } from '../serving.ts';

export interface FailureText {
  title: string;
  message: string;
  detail: string;
}

/** Ends start-up without another dialog: the person already chose (quit, or open the running server's console). */
export class StartupAborted extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`start-up ended by the user's choice (exit ${exitCode})`);
    this.exitCode = exitCode;
  }
}

const KEYSTORE = 'electron-safestorage';

export function describeFailure(e: unknown, dataDir: string): FailureText {
  if (e instanceof ProtectorMismatchError) {
    if (e.unsealFailure) {
      return {
        title: 'Countersign cannot unlock its data',
        message: 'The OS keystore could not open the install secrets.',
        detail: `${e.file} was sealed by the keystore of another user account or computer (${e.unsealFailure}). Start Countersign as the user who set it up, or point COUNTERSIGN_DATA_DIR at a data directory made on this account.`,
      };
    }
    return {
      title: 'Countersign cannot unlock its data',
      message: e.recorded === KEYSTORE ? 'The install secrets are sealed by the OS keystore, which this session cannot use.' : `The install secrets are sealed by '${e.recorded}', which this app does not know.`,
      detail: e.recorded === KEYSTORE
        ? `${e.file} needs the OS keystore (Keychain, Windows credentials, or GNOME Keyring / KWallet on Linux). Start Countersign in a desktop session where the keystore is unlocked${e.available.length === 1 ? ', and without COUNTERSIGN_PROTECTOR=file-0600' : ''}.`
        : `${e.file} was written by another version of Countersign. Install that version, or restore the data directory from a backup.`,
    };
  }
  if (e instanceof DatabaseError) {
    switch (e.problem) {
      case 'newer-schema':
        return { title: 'Countersign is older than its data', message: 'The database was upgraded by a newer version of Countersign.', detail: `${e.message}\n\nInstall the newer version again; this one cannot read the data without losing it.` };
      case 'locked':
        return { title: 'Countersign\'s database is busy', message: 'Another program holds a lock on the database.', detail: `${e.message}\n\nClose the other program (a database browser, a backup in progress) and start Countersign again.` };
      case 'corrupt':
      case 'empty':
        return { title: 'Countersign\'s database is damaged', message: 'The database cannot be read.', detail: `${e.message}\n\nRestore ${dataDir} from a backup. Nothing was changed.` };
      default:
        return { title: 'Countersign cannot open its database', message: 'The database cannot be opened.', detail: `${e.message}\n\nCheck that ${dataDir} exists and that your account may write there.` };
    }
  }
  if (e instanceof PortInUseError) {
    return { title: 'Countersign cannot start its server', message: `Port ${e.port} is in use.`, detail: e.message };
  }
  return { title: 'Countersign could not start', message: (e as Error)?.message ?? String(e), detail: `Data directory: ${dataDir}` };
}

export type PortChoice = 'open-console' | 'other-port' | 'quit';

/** The port-conflict question: open the running server's console (same data directory), another port, or quit. */
export function portConflictQuestion(e: PortInUseError): FailureText & { buttons: string[]; choices: PortChoice[] } {
  if (e.holder) {
    return {
      title: 'Countersign is already running',
      message: `Countersign is already serving this data directory on port ${e.port}.`,
      detail: `${e.holder.by === 'cli' ? 'A countersign serve' : 'Another Countersign window'} (pid ${e.holder.pid}) has it open. You can open that server's console in your browser, or start this app's server on another port.`,
      buttons: ['Open its console', 'Use another port', 'Quit'],
      choices: ['open-console', 'other-port', 'quit'],
    };
  }
  return {
    title: 'Port in use',
    message: `Port ${e.port} is in use by another program.`,
    detail: 'Countersign can start its MCP server on a free port instead; AI clients set up for this port must then use the address shown in the tray menu.',
    buttons: ['Use another port', 'Quit'],
    choices: ['other-port', 'quit'],
  };
}
