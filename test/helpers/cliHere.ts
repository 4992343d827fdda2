// The CLI's commands run by its own entry point in this process: the same code and output as childServer.ts's `cli`,
// without a Node start-up (about 0.3 s of CPU each). For a suite's setup and checks around serve and agent child
// processes; the suites about the CLI itself (test/cli, test/audit/verifyCli) run it as a process.
import { main } from '../../src-main/cli/main.ts';
import { createdKey, demoDirIn, initArgs, initialised, keyArgs, verified, type CliKey, type CliRun, type KeyOptions } from './childServer.ts';

export async function cliHere(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const status = await main(args, { out: (l) => (stdout += `${l}\n`), err: (l) => (stderr += `${l}\n`), env });
  return { status, stdout, stderr };
}

/** `init --demo` in a fresh temporary directory; returns the data directory. */
export async function initDemoDirHere(env: NodeJS.ProcessEnv, prefix = 'cs-fault-'): Promise<string> {
  const dir = demoDirIn(prefix);
  return initialised(await cliHere(env, ...initArgs(dir)), dir);
}

export async function createKeyHere(env: NodeJS.ProcessEnv, dir: string, o: KeyOptions): Promise<CliKey> {
  return createdKey(await cliHere(env, ...keyArgs(dir, o)), o.name);
}

/** `audit verify --data-dir D`: exit code and its one line. */
export async function auditVerifyHere(env: NodeJS.ProcessEnv, dir: string): Promise<{ status: number | null; out: string }> {
  return verified(await cliHere(env, 'audit', 'verify', '--data-dir', dir));
}
