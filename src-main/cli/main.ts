import './compileCache.ts';
import type { Io } from './commands.ts';
// Not args.ts: its zod would be compiled before compileCache.ts runs, so never from the cache.
import { UsageError } from './usageError.ts';

// Loaded on demand: `countersign agent …` on a managed machine never loads the console (database, MCP server).
const consoleCommands = () => import('./commands.ts');

const USAGE = `countersign — governed MCP gate for an MSP's fleet

  init --data-dir D [--demo] [--store URL]   create database and install secrets (passphrase: COUNTERSIGN_ADMIN_PASSPHRASE)
  serve --data-dir D [--store URL] [--host H] [--port N] [--allowed-host NAME] [--public-url URL] [--agent-host H] [--agent-port N] [--anchor-dir A]
  demo [--data-dir D] [--port N]          init a demo fleet once, print a key, serve
  keys create --data-dir D --name N --scopes ai:read[,ai:write,ai:execute] --tenants T1[,T2] [--role admin|standard] [--expires-days N] [--owner TECHNICIAN]
  keys list --data-dir D [--json]  |  keys revoke ID --data-dir D
  tenants list --data-dir D
  audit verify --data-dir D [--anchor-dir A] [--pubkey FILE|FINGERPRINT]  |  audit verify --export F (--data-dir D | --pubkey FILE|FINGERPRINT)
  audit export --data-dir D --out F [--format jsonl|ocsf|syslog]  |  audit key --data-dir D
  enroll-tokens create --data-dir D --tenant SLUG [--uses N] [--expires-hours H]  |  enroll-tokens list|revoke ID --data-dir D
  agents list --data-dir D [--json]  |  agents revoke AGENT_OR_DEVICE_ID --data-dir D
  migrate --from-sqlite D --store URL [--data-dir T]   copy an embedded install into PostgreSQL (team mode) and verify the copy
  technicians create --data-dir D --name N [--role owner|admin|technician|viewer] [--tenants all|T1,T2]  (passphrase: COUNTERSIGN_TECHNICIAN_PASSPHRASE)
  technicians list --data-dir D  |  technicians update ID [--role R] [--tenants all|T1,T2] [--disable|--enable] --data-dir D
  technicians passkeys ID [--remove=PASSKEY_ID] --data-dir D  (list a technician's passkeys, or remove one; ids may start with '-')
  technicians reset-passphrase ID --data-dir D  |  technicians remove ID --data-dir D   (an account with keys or approvals in the record: disable it)
  four-eyes set --data-dir D [--tool T] [--action A] [--tenant S] --approvers N  |  four-eyes list|remove ID --data-dir D
  (every command that takes --data-dir also takes --store postgres://…, or reads COUNTERSIGN_DATABASE_URL)
  agent enroll --url https://HOST:PORT --token T --state-dir S [--hostname NAME]  |  agent run --state-dir S [--config F]
  agent inventory [--config F] [--hostname NAME]   print what this machine's agent reports, as JSON
  agent build --target linux-x64|linux-arm64|win-x64|win-arm64|darwin-x64|darwin-arm64|all [--version V] [--out DIR | --data-dir D]
  policy simulate --data-dir D [--days 7] --draft draft.json [--json]   replay the last days' calls under a draft policy`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'init': return await (await consoleCommands()).init(rest, io);
      case 'serve': return await (await consoleCommands()).serve(rest, io);
      case 'demo': return await (await consoleCommands()).demo(rest, io);
      case 'keys': return await (await consoleCommands()).keys(rest, io);
      case 'tenants': return await (await consoleCommands()).tenants(rest, io);
      case 'audit': return await (await import('./auditCommands.ts')).audit(rest, io);
      case 'enroll-tokens': return await (await import('./tokenCommands.ts')).enrollTokens(rest, io);
      case 'agents': return await (await import('./tokenCommands.ts')).agents(rest, io);
      case 'migrate': return await (await import('./migrateCommand.ts')).migrate(rest, io);
      case 'technicians': return await (await import('./teamCommands.ts')).technicians(rest, io);
      case 'four-eyes': return await (await import('./teamCommands.ts')).fourEyes(rest, io);
      case 'policy': return await (await import('./policyCommands.ts')).policy(rest, io);
      case 'agent': return rest[0] === 'build' ? await (await import('../agentBuild/command.ts')).agentBuild(rest.slice(1), io) : await (await import('./agentCommands.ts')).agent(rest, io);
      case undefined: case 'help': case '--help': case '-h':
        io.out(USAGE);
        return cmd === undefined ? 2 : 0;
      default: throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`countersign: ${e.message}`);
      io.err("run 'countersign help' for usage");
      return 2;
    }
    io.err(`countersign: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
    agentSelf: [process.execPath, ...process.execArgv, process.argv[1]!, 'agent'],
  });
  process.exitCode = code;
}
