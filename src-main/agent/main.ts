// The entry of the agent executable (`countersign agent build` bundles from here): only the agent's own commands, no
// console, database or build tooling. Exit code 75 asks the service manager for a restart (after an upgrade).
import sea from 'node:sea';
import { agent } from '../cli/agentCommands.ts';
import { UsageError } from '../cli/args.ts';

const io = {
  out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`), env: process.env,
  // In the executable, argv[1] repeats the executable's path (Node's single executable applications): the commands follow.
  agentSelf: sea.isSea() ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1]!],
};
agent(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  io.err(`countersign-agent: ${(e as Error).message}`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
