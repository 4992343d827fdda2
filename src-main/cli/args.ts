import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { UsageError } from './usageError.ts';

export { UsageError };

/** parseArgs for the shape, zod for the values: a bad flag is a usage error, never a stack trace. */
export function parseFlags<S extends z.ZodObject>(argv: string[], options: ParseArgsConfig['options'], schema: S): { flags: z.infer<S>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // A flag the parser takes but the schema does not name would be dropped in silence (--store once was, by policy
  // simulate, which then read the data directory's SQLite file): a defect of the command, said at its first use.
  const dropped = Object.keys(options ?? {}).filter((k) => !(k in schema.shape));
  if (dropped.length) throw new Error(`the command accepts ${dropped.map((k) => `--${k}`).join(', ')} but does not read it`);
  const r = schema.safeParse(parsed.values);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  return { flags: r.data, positionals: parsed.positionals };
}

export const dataDirFlag = { 'data-dir': { type: 'string' }, store: { type: 'string' } } as const;
export const dataDir = z.string({ error: '--data-dir D is required' }).min(1);
/** `--store postgres://…` (team mode); spread into a command's schema next to --data-dir. */
export const storeField = { store: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional() };

/** The PostgreSQL a command works on: --store, else COUNTERSIGN_DATABASE_URL, else none (the data directory's SQLite file). */
export function storeOf(flags: { store?: string }, env: NodeJS.ProcessEnv): string | undefined {
  const url = flags.store ?? (env.COUNTERSIGN_DATABASE_URL || undefined);
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) throw new UsageError('COUNTERSIGN_DATABASE_URL must be a postgres:// URL');
  return url;
}
export const csv = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
