import type { Store } from '../store/store.ts';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { initDataDir, isInitialized, openApp, DB_FILE, type App } from '../app.ts';
import { openDatabase } from '../store/db.ts';
import { loadSecrets } from '../store/secrets.ts';
import { hashPassphrase } from '../auth/passphrase.ts';
import { writeAdminPassphraseHash } from '../auth/credentialBinding.ts';
import { bindingKey } from '../governance/binding.ts';
import { KeyService, listTenants, ROLES, SCOPES } from '../auth/keys.ts';
import { seedDemoFleet } from '../demo/seed.ts';
import { hubOptionsFromEnv, listenerLimitsFromEnv } from '../agentServer/listener.ts';
import { startServing, type Serving } from '../serving.ts';
import { createConsoleService } from '../console/service.ts';
import { ensureAgentCert } from '../agentServer/cert.ts';
import { csv, dataDir, dataDirFlag, parseFlags, UsageError, storeField, storeOf } from './args.ts';
import { obtainPassphrase } from './passphrase.ts';
import { join } from 'node:path';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /**
   * The command line that runs this program's agent commands (`… agent` from the CLI, the agent executable itself):
   * `agent run` starts its inventory child with it. Absent when the CLI runs inside another program (tests).
   */
  agentSelf?: string[];
}

async function setPassphrase(store: Store, hmacKey: Buffer, passphrase: string): Promise<void> {
  const hash = await hashPassphrase(passphrase);
  await store.write((tx) => writeAdminPassphraseHash(bindingKey(hmacKey), tx.sql, hash));
}

export async function init(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, { ...dataDirFlag, demo: { type: 'boolean' } }, z.object({ 'data-dir': dataDir, ...storeField, demo: z.boolean().optional() }));
  const dir = resolve(flags['data-dir']);
  const passphrase = await obtainPassphrase(io.env);
  const { store, secrets } = await initDataDir(dir, undefined, { storeUrl: storeOf(flags, io.env) });
  try {
    if (flags.demo) {
      const n = await seedDemoFleet(store);
      io.err(`demo fleet: ${n.tenants} tenants, ${n.devices} devices, ${n.alerts} alerts, ${n.patches} patches, ${n.scripts} scripts`);
    }
    await setPassphrase(store, secrets.hmacKey, passphrase);
  } finally {
    await store.close();
  }
  // The agent listener's certificate exists from the start, so enrollment tokens can pin it.
  await ensureAgentCert(dir);
  io.out(`initialized ${dir}`);
  return 0;
}

const ServeFlags = z.object({
  'data-dir': dataDir, ...storeField,
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(4319),
  'allowed-host': z.array(z.string()).optional(),
  'public-url': z.string().min(1).optional(),
  'agent-host': z.string().min(1).default('127.0.0.1'),
  'agent-port': z.coerce.number().int().min(0).max(65535).default(0),
  'anchor-dir': z.string().min(1).optional(),
});
const serveOptions = {
  ...dataDirFlag, host: { type: 'string' }, port: { type: 'string' }, 'allowed-host': { type: 'string', multiple: true },
  'public-url': { type: 'string' }, 'agent-host': { type: 'string' }, 'agent-port': { type: 'string' }, 'anchor-dir': { type: 'string' },
} as const;

export async function serve(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, serveOptions, ServeFlags);
  return runServer(resolve(flags['data-dir']), flags, io);
}

async function runServer(dir: string, flags: z.infer<typeof ServeFlags>, io: Io): Promise<number> {
  const app = await openApp(dir, { env: io.env, longRunning: true, anchorDir: flags['anchor-dir'] ? resolve(flags['anchor-dir']) : undefined, storeUrl: storeOf(flags, io.env) });
  if (!['127.0.0.1', 'localhost', '::1'].includes(flags.host)) io.err(`warning: listening on ${flags.host}, beyond loopback; anyone who can reach it may try keys`);
  // The console service is made here (not inside the server) so it can also name the agent listener, which starts second.
  let serving: Serving | undefined;
  const service = createConsoleService(app, { mode: 'web', mcpBaseUrl: () => serving?.server.url ?? null, agentUrl: () => serving?.agents.url ?? null });
  try {
    serving = await startServing(app, {
      host: flags.host, port: flags.port, allowedHosts: flags['allowed-host'], console: { service },
      // Passkeys are bound to the origin browsers use: behind a proxy, its public URL.
      publicUrl: flags['public-url'] ?? (io.env.COUNTERSIGN_PUBLIC_URL || undefined),
      agentHost: flags['agent-host'], agentPort: flags['agent-port'], hub: hubOptionsFromEnv(io.env), limits: listenerLimitsFromEnv(io.env), by: 'cli',
    });
  } catch (e) {
    await app.close();
    throw e;
  }
  const running = serving;
  const { server, agents } = running;
  // stdout stays the one listening line; the agent listener is announced on stderr.
  io.err(`agents ${agents.url}`);
  // A structured log also records where this node serves (plain output has the two lines above and below).
  if (io.env.COUNTERSIGN_LOG_FORMAT === 'json') app.log(`serving MCP and the console at ${server.url}, agents at ${agents.url}, on ${app.store.dialect === 'postgres' ? 'PostgreSQL (team mode)' : 'SQLite'}`);
  io.out(`listening ${server.url}`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running.close().finally(() => app.close()).finally(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

/** First command of the quick start: a demo data directory (made once), a key to try, then serve. */
export async function demo(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, serveOptions, ServeFlags.extend({ 'data-dir': z.string().default('.countersign-demo') }));
  const dir = resolve(flags['data-dir']);
  if (!isInitialized(dir)) {
    const passphrase = io.env.COUNTERSIGN_ADMIN_PASSPHRASE ?? randomBytes(12).toString('base64url');
    await init(['--data-dir', dir, '--demo'], { ...io, env: { ...io.env, COUNTERSIGN_ADMIN_PASSPHRASE: passphrase } });
    const app = await openApp(dir, { env: io.env });
    const { secret } = await app.keys.create({ name: 'demo', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: (await listTenants(app.store.sql)).map((t) => t.slug), role: 'admin' }, 'demo');
    await app.close();
    io.err(`console: http://127.0.0.1:${flags.port}/ — admin passphrase: ${io.env.COUNTERSIGN_ADMIN_PASSPHRASE ? '(from COUNTERSIGN_ADMIN_PASSPHRASE)' : passphrase}`);
    io.err(`demo API key (shown once): ${secret}`);
    io.err(`connect Claude Code: claude mcp add --transport sse countersign http://127.0.0.1:${flags.port}/api/v1/mcp/sse --header "X-API-Key: ${secret}"`);
  } else {
    io.err(`using existing demo data in ${dir} (new key: npm run -s countersign -- keys create --data-dir ${dir} --name me --scopes ai:read,ai:write,ai:execute --tenants acme-dental)`);
  }
  return runServer(dir, flags, io);
}

async function withApp<T>(flags: { 'data-dir': string; store?: string }, io: Io, fn: (app: App) => T | Promise<T>): Promise<T> {
  const app = await openApp(resolve(flags['data-dir']), { env: io.env, storeUrl: storeOf(flags, io.env) });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

const KeyCreate = z.object({
  'data-dir': dataDir, ...storeField,
  name: z.string({ error: '--name is required' }).min(1),
  scopes: z.string({ error: '--scopes is required' }).transform(csv).pipe(z.array(z.enum(SCOPES)).min(1)),
  tenants: z.string({ error: '--tenants is required' }).transform(csv).pipe(z.array(z.string()).min(1)),
  role: z.enum(ROLES).default('standard'),
  'expires-days': z.coerce.number().int().min(1).max(3650).optional(),
  'read-per-minute': z.coerce.number().int().min(1).optional(),
  'write-per-minute': z.coerce.number().int().min(1).optional(),
  owner: z.string().min(1).optional(),
});

export function keys(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { flags } = parseFlags(rest, {
      ...dataDirFlag, name: { type: 'string' }, scopes: { type: 'string' }, tenants: { type: 'string' }, role: { type: 'string' },
      'expires-days': { type: 'string' }, 'read-per-minute': { type: 'string' }, 'write-per-minute': { type: 'string' }, owner: { type: 'string' },
    }, KeyCreate);
    return withApp(flags, io, async (app) => {
      // --owner NAME: the technician the key belongs to (team mode); it can never do more than they can.
      const owner = flags.owner ? (await app.technicians.list()).find((t) => t.name === flags.owner) : undefined;
      if (flags.owner && !owner) throw new UsageError(`--owner: no technician named ${flags.owner}`);
      const { key, secret } = await app.keys.create({
        name: flags.name, scopes: flags.scopes, tenants: flags.tenants, role: flags.role, expiresDays: flags['expires-days'],
        readPerMinute: flags['read-per-minute'], writePerMinute: flags['write-per-minute'], ownerId: owner?.id,
      });
      io.err(`created key ${key.id} (${key.name}): scopes ${key.scopes.join(',')}, tenants ${key.tenants.map((t) => t.slug).join(',')}, role ${key.role}${key.expiresAt ? `, expires ${key.expiresAt}` : ''}`);
      io.err('the key is shown once, on the next line:');
      io.out(secret);
      return 0;
    });
  }
  if (sub === 'list') {
    const { flags } = parseFlags(rest, { ...dataDirFlag, json: { type: 'boolean' } }, z.object({ 'data-dir': dataDir, ...storeField, json: z.boolean().optional() }));
    return withApp(flags, io, async (app) => {
      const list = await app.keys.list();
      if (flags.json) io.out(JSON.stringify(list, null, 1));
      else for (const k of list) {
        const state = k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt <= new Date().toISOString() ? 'expired' : 'active';
        io.out([k.id, k.name, k.prefix + '…', k.scopes.join(','), k.tenants.map((t) => t.slug).join(','), k.role, state, `calls=${k.callCount}`, `last=${k.lastUsedAt ?? '-'}`].join('\t'));
      }
      return 0;
    });
  }
  if (sub === 'revoke') {
    const { flags, positionals } = parseFlags(rest, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
    if (positionals.length !== 1) throw new UsageError('usage: countersign keys revoke ID --data-dir D');
    return withApp(flags, io, async (app) => {
      const k = await app.keys.revoke(positionals[0]!);
      io.out(`revoked ${k.id} (${k.name})`);
      return 0;
    });
  }
  throw new UsageError('usage: countersign keys create|list|revoke …');
}

export function tenants(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'list') throw new UsageError('usage: countersign tenants list --data-dir D');
  const { flags } = parseFlags(rest, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
  return withApp(flags, io, async (app) => {
    for (const t of await listTenants(app.store.sql)) io.out(t.slug);
    return 0;
  });
}
