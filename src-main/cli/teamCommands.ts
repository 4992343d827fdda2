// Team mode on the command line: technician accounts (`technicians create|list|update|reset-passphrase|remove|passkeys`)
// and four-eyes rules (`four-eyes set|list|remove`). Every change is audited with the CLI as its actor, as keys and tokens are.
import { resolve } from 'node:path';
import { z } from 'zod';
import { openApp, type App } from '../app.ts';
import { TECHNICIAN_ROLES } from '../auth/technicians.ts';
import { PasskeyService } from '../auth/passkeys.ts';
import { csv, dataDir, dataDirFlag, parseFlags, storeField, storeOf, UsageError } from './args.ts';
import type { Io } from './commands.ts';
import { obtainPassphrase } from './passphrase.ts';

async function withApp<T>(flags: { 'data-dir': string; store?: string }, io: Io, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await openApp(resolve(flags['data-dir']), { env: io.env, storeUrl: storeOf(flags, io.env) });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

const tenantList = z.string().transform((s) => (s === 'all' ? 'all' as const : csv(s)));

export async function technicians(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { flags } = parseFlags(rest, { ...dataDirFlag, name: { type: 'string' }, role: { type: 'string' }, tenants: { type: 'string' } },
      z.object({ 'data-dir': dataDir, ...storeField, name: z.string({ error: '--name is required' }), role: z.enum(TECHNICIAN_ROLES).default('technician'),
        tenants: tenantList.default('all') }));
    // The technician's passphrase: COUNTERSIGN_TECHNICIAN_PASSPHRASE, or asked on a terminal.
    const passphrase = await obtainPassphrase({ COUNTERSIGN_ADMIN_PASSPHRASE: io.env.COUNTERSIGN_TECHNICIAN_PASSPHRASE });
    return withApp(flags, io, async (app) => {
      const t = await app.technicians.create({ name: flags.name, passphrase, role: flags.role, tenants: flags.tenants }, 'cli');
      io.out(`${t.id}\t${t.name}\t${t.role}\t${t.tenants === 'all' ? 'all' : t.tenants.map((x) => x.slug).join(',')}`);
      return 0;
    });
  }
  if (sub === 'list') {
    const { flags } = parseFlags(rest, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
    return withApp(flags, io, async (app) => {
      for (const t of await app.technicians.list()) {
        io.out([t.id, t.name, t.role, t.tenants === 'all' ? 'all' : t.tenants.map((x) => x.slug).join(','), t.tampered ? 'tampered' : t.disabledAt ? 'disabled' : 'active'].join('\t'));
      }
      return 0;
    });
  }
  if (sub === 'update') {
    const { flags, positionals } = parseFlags(rest, { ...dataDirFlag, role: { type: 'string' }, tenants: { type: 'string' }, disable: { type: 'boolean' }, enable: { type: 'boolean' } },
      z.object({ 'data-dir': dataDir, ...storeField, role: z.enum(TECHNICIAN_ROLES).optional(), tenants: tenantList.optional(), disable: z.boolean().optional(), enable: z.boolean().optional() }));
    if (positionals.length !== 1) throw new UsageError('usage: countersign technicians update ID [--role R] [--tenants all|T1,T2] [--disable|--enable] --data-dir D');
    return withApp(flags, io, async (app) => {
      const t = await app.technicians.update(positionals[0]!, { role: flags.role, tenants: flags.tenants, disabled: flags.disable ? true : flags.enable ? false : undefined }, 'cli');
      io.out(`${t.id}\t${t.name}\t${t.role}\t${t.tenants === 'all' ? 'all' : t.tenants.map((x) => x.slug).join(',')}\t${t.disabledAt ? 'disabled' : 'active'}`);
      return 0;
    });
  }
  if (sub === 'passkeys') {
    // An owner's recourse for a lost device: list a technician's passkeys, remove one (audited with the CLI as actor).
    const { flags, positionals } = parseFlags(rest, { ...dataDirFlag, remove: { type: 'string' } },
      z.object({ 'data-dir': dataDir, ...storeField, remove: z.string().regex(/^[A-Za-z0-9_-]{1,1400}$/, 'a passkey id from the list').optional() }));
    if (positionals.length !== 1) throw new UsageError('usage: countersign technicians passkeys ID [--remove PASSKEY_ID] --data-dir D');
    return withApp(flags, io, async (app) => {
      const t = await app.technicians.get(positionals[0]!);
      if (!t) throw new UsageError(`no technician ${positionals[0]}`);
      const passkeys = new PasskeyService(app.store, app.technicians, app.secrets.hmacKey);
      if (flags.remove) {
        await passkeys.remove(t, flags.remove, 'cli');
        io.err(`removed passkey ${flags.remove} of ${t.name}`);
        return 0;
      }
      for (const p of await passkeys.list(t.id)) io.out([p.id, p.name, p.createdAt, p.lastUsedAt ?? 'never used'].join('\t'));
      return 0;
    });
  }
  if (sub === 'reset-passphrase' || sub === 'remove') {
    const { flags, positionals } = parseFlags(rest, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
    if (positionals.length !== 1) throw new UsageError(`usage: countersign technicians ${sub} ID --data-dir D`);
    // The new passphrase: COUNTERSIGN_TECHNICIAN_PASSPHRASE, or asked on a terminal.
    const passphrase = sub === 'reset-passphrase' ? await obtainPassphrase({ COUNTERSIGN_ADMIN_PASSPHRASE: io.env.COUNTERSIGN_TECHNICIAN_PASSPHRASE }) : '';
    return withApp(flags, io, async (app) => {
      const t = sub === 'remove' ? await app.technicians.remove(positionals[0]!, 'cli') : await app.technicians.resetPassphrase(positionals[0]!, passphrase, 'cli');
      io.out(`${t.id}\t${t.name}\t${sub === 'remove' ? 'removed' : 'passphrase reset'}`);
      return 0;
    });
  }
  throw new UsageError('usage: countersign technicians create|list|update|reset-passphrase|remove|passkeys …');
}

export async function fourEyes(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'set') {
    const { flags } = parseFlags(rest, { ...dataDirFlag, tool: { type: 'string' }, action: { type: 'string' }, tenant: { type: 'string' }, approvers: { type: 'string' } },
      z.object({ 'data-dir': dataDir, ...storeField, tool: z.string().optional(), action: z.string().optional(), tenant: z.string().optional(),
        approvers: z.coerce.number().int().min(2).max(5) }));
    return withApp(flags, io, async (app) => {
      if (flags.tool && !app.gate.tools.has(flags.tool)) throw new UsageError(`--tool: unknown tool '${flags.tool}'`);
      const tenant = flags.tenant ? await app.store.sql.get<{ id: string }>('SELECT id FROM tenants WHERE slug = ?', [flags.tenant]) : undefined;
      if (flags.tenant && !tenant) throw new UsageError(`--tenant: unknown tenant '${flags.tenant}'`);
      const r = await app.fourEyes.setRule({ tool: flags.tool, action: flags.action, tenantId: tenant?.id, approvers: flags.approvers }, 'cli');
      io.out(`${r.id}\t${r.tool ?? '*'}\t${r.action ?? '*'}\t${r.tenant ?? '*'}\t${r.approvers} approvers`);
      return 0;
    });
  }
  if (sub === 'list') {
    const { flags } = parseFlags(rest, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
    return withApp(flags, io, async (app) => {
      for (const r of await app.fourEyes.listRules()) io.out(`${r.id}\t${r.tool ?? '*'}\t${r.action ?? '*'}\t${r.tenant ?? '*'}\t${r.approvers} approvers`);
      return 0;
    });
  }
  if (sub === 'remove') {
    const { flags, positionals } = parseFlags(rest, dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }));
    if (positionals.length !== 1) throw new UsageError('usage: countersign four-eyes remove ID --data-dir D');
    return withApp(flags, io, async (app) => (await app.fourEyes.removeRule(positionals[0]!, 'cli') ? 0 : (io.err(`no rule ${positionals[0]}`), 1)));
  }
  throw new UsageError('usage: countersign four-eyes set|list|remove …');
}
