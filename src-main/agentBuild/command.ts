// `countersign agent build --target T|all [--version V] [--out DIR | --data-dir D] [--cache DIR] [--sign-command CMD]`.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseFlags, UsageError } from '../cli/args.ts';
import type { Io } from '../cli/commands.ts';
import { AGENT_VERSION } from '../agent/protocol.ts';
import { buildAgents } from './build.ts';
import { buildsDir } from './manifest.ts';
import { TARGETS, TargetSchema, VERSION } from './targets.ts';

export const defaultCacheDir = (env: NodeJS.ProcessEnv) => env.COUNTERSIGN_BUILD_CACHE ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? '.', '.cache'), 'countersign', 'agent-build');

export async function agentBuild(argv: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(argv, {
    target: { type: 'string', multiple: true }, version: { type: 'string' }, out: { type: 'string' }, 'data-dir': { type: 'string' }, cache: { type: 'string' }, 'sign-command': { type: 'string' },
  }, z.object({
    target: z.array(z.union([TargetSchema, z.literal('all')]), { error: `--target ${TARGETS.join('|')}|all is required` }).min(1),
    version: VERSION.optional(), out: z.string().min(1).optional(), 'data-dir': z.string().min(1).optional(), cache: z.string().min(1).optional(),
    'sign-command': z.string().min(1).max(4000).optional(),
  }));
  if (flags.out && flags['data-dir']) throw new UsageError('give --out DIR or --data-dir D, not both');
  const targets = flags.target.includes('all') ? [...TARGETS] : [...new Set(flags.target as (typeof TARGETS)[number][])];
  const outDir = resolve(flags.out ?? (flags['data-dir'] ? buildsDir(flags['data-dir']) : 'out/agent'));
  const r = await buildAgents({
    targets, outDir, version: flags.version ?? AGENT_VERSION, cacheDir: resolve(flags.cache ?? defaultCacheDir(io.env)), signCommand: flags['sign-command'], log: (l) => io.err(l),
  });
  for (const b of r.built) io.out(`${b.sha256}  ${b.path}  (${b.target}, ${r.version}, ${(b.size / 1_048_576).toFixed(1)} MiB, ${b.runtime}${b.signed ? ', signed' : ''})`);
  for (const x of r.refused) io.err(x.reason);
  io.err(`built ${r.built.length} of ${targets.length} target(s) in ${(r.ms / 1000).toFixed(1)} s; manifest ${join(outDir, r.version, 'manifest.json')}`);
  return r.refused.length ? 3 : 0;
}
