import { audit, demo, init, keys, serve, tenants, type Io } from './commands.ts';
import { UsageError } from './args.ts';

const USAGE = `countersign — governed MCP gate for an MSP's fleet

  init --data-dir D [--demo]              create database and install secrets (passphrase: COUNTERSIGN_ADMIN_PASSPHRASE)
  serve --data-dir D [--host H] [--port N] [--allowed-host NAME]
  demo [--data-dir D] [--port N]          init a demo fleet once, print a key, serve
  keys create --data-dir D --name N --scopes ai:read[,ai:write,ai:execute] --tenants T1[,T2] [--role admin|standard] [--expires-days N]
  keys list --data-dir D [--json]  |  keys revoke ID --data-dir D
  tenants list --data-dir D
  audit verify --data-dir D  |  audit verify --export F [--data-dir D]  |  audit export --data-dir D --out F`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'init': return await init(rest, io);
      case 'serve': return await serve(rest, io);
      case 'demo': return await demo(rest, io);
      case 'keys': return keys(rest, io);
      case 'tenants': return tenants(rest, io);
      case 'audit': return await audit(rest, io);
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
  });
  process.exitCode = code;
}
