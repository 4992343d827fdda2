// `countersign enroll-tokens create|list|revoke` (per-tenant tokens that enroll endpoint agents) and `countersign agents list|revoke`.
import { resolve } from 'node:path';
import { z } from 'zod';
import { openApp } from '../app.ts';
import { ensureAgentCert } from '../agentServer/cert.ts';
import { EnrollmentTokens } from '../agentServer/tokens.ts';
import { listAgents, revokeAgent } from '../agentServer/agents.ts';
import { dataDir, dataDirFlag, parseFlags, UsageError, storeField, storeOf } from './args.ts';
import type { Io } from './commands.ts';

const TokenCreate = z.object({
  'data-dir': dataDir, ...storeField,
  tenant: z.string({ error: '--tenant SLUG is required' }).min(2),
  uses: z.coerce.number().int().min(1).max(10_000).default(1),
  'expires-hours': z.coerce.number().min(0.001).max(24 * 365).default(24),
});

export async function enrollTokens(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { flags } = parseFlags(rest, { ...dataDirFlag, tenant: { type: 'string' }, uses: { type: 'string' }, 'expires-hours': { type: 'string' } }, TokenCreate);
    const dir = resolve(flags['data-dir']);
    const cert = await ensureAgentCert(dir);
    const app = await openApp(dir, { env: io.env, storeUrl: storeOf(flags, io.env) });
    try {
      const { token, info } = await new EnrollmentTokens(app.store, app.secrets.hmacKey).create({ tenant: flags.tenant, uses: flags.uses, expiresHours: flags['expires-hours'] }, cert.sha256);
      io.err(`created enrollment token ${info.id} for tenant ${info.tenant}: ${info.maxUses} use(s), expires ${info.expiresAt}; pins certificate ${cert.sha256}`);
      io.err('the token is shown once, on the next line:');
      io.out(token);
      return 0;
    } finally {
      await app.close();
    }
  }
  if (sub === 'list' || sub === 'revoke') {
    const { flags, positionals } = parseFlags(rest, { ...dataDirFlag, json: { type: 'boolean' } }, z.object({ 'data-dir': dataDir, ...storeField, json: z.boolean().optional() }));
    if (sub === 'revoke' && positionals.length !== 1) throw new UsageError('usage: countersign enroll-tokens revoke ID --data-dir D');
    const app = await openApp(resolve(flags['data-dir']), { env: io.env, storeUrl: storeOf(flags, io.env) });
    try {
      const tokens = new EnrollmentTokens(app.store, app.secrets.hmacKey);
      if (sub === 'revoke') {
        const t = await tokens.revoke(positionals[0]!);
        io.out(`revoked ${t.id} (${t.tenant})`);
        return 0;
      }
      const list = await tokens.list();
      if (flags.json) io.out(JSON.stringify(list, null, 1));
      else for (const t of list) io.out([t.id, t.tenant, `${t.prefix}…`, t.state, `uses=${t.uses}/${t.maxUses}`, `expires=${t.expiresAt}`].join('\t'));
      return 0;
    } finally {
      await app.close();
    }
  }
  throw new UsageError('usage: countersign enroll-tokens create|list|revoke …');
}

export async function agents(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'list' && sub !== 'revoke') throw new UsageError('usage: countersign agents list [--json] | agents revoke AGENT_OR_DEVICE_ID --data-dir D');
  const { flags, positionals } = parseFlags(rest, { ...dataDirFlag, json: { type: 'boolean' } }, z.object({ 'data-dir': dataDir, ...storeField, json: z.boolean().optional() }));
  if (sub === 'revoke' && positionals.length !== 1) throw new UsageError('usage: countersign agents revoke AGENT_OR_DEVICE_ID --data-dir D');
  const app = await openApp(resolve(flags['data-dir']), { env: io.env, storeUrl: storeOf(flags, io.env) });
  try {
    if (sub === 'revoke') {
      const a = await revokeAgent(app.store, positionals[0]!);
      io.out(`revoked agent ${a.id} (${a.hostname}, ${a.tenant})`);
      return 0;
    }
    const list = await listAgents(app.store.sql);
    if (flags.json) io.out(JSON.stringify(list, null, 1));
    else for (const a of list) io.out([a.id, a.deviceId, a.hostname, a.tenant, a.revokedAt ? 'revoked' : a.status, `seen=${a.lastHeartbeatAt ?? '-'}`].join('\t'));
    return 0;
  } finally {
    await app.close();
  }
}
