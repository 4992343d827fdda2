// A service manager as install/uninstall/status use it. Commands go through a Runner, which tests replace with a recorder
// (as the patch managers' command table is replaced), so the Windows and macOS registration is checked on Linux.
import type { RunOutcome } from '../exec.ts';

/** Runs argv; null when the command cannot start (not installed). */
export type Runner = (argv: string[]) => Promise<RunOutcome | null>;

export interface ServiceManager {
  /** The service definition to write before register(). */
  definition(): { file: string; text: string; mode: number };
  /** Registers the service to start at boot and starts it now. */
  register(): Promise<void>;
  /** Stops and removes the registration (tolerates an absent service). */
  unregister(): Promise<void>;
  /** Called after the definition file was removed. */
  reload(): Promise<void>;
  /** One word or line: active, inactive, running, stopped, not installed… */
  state(): Promise<string>;
  /** Files the service manager owns besides the definition (WinSW's wrapper), removed on uninstall. */
  extraFiles?: () => string[];
  /** Prepares what register() needs (WinSW writes its wrapper executable). */
  prepare?: () => Promise<void>;
  /** Locks the state folder to the service account and administrators. */
  secureState?: (dir: string) => Promise<void>;
}

export async function must(run: Runner, argv: string[]): Promise<RunOutcome> {
  const r = await run(argv);
  if (!r) throw new Error(`${argv[0]} is not available on this machine`);
  if (r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  return r;
}
