import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

export class UsageError extends Error {}

/** parseArgs for the shape, zod for the values: a bad flag is a usage error, never a stack trace. */
export function parseFlags<S extends z.ZodObject>(argv: string[], options: ParseArgsConfig['options'], schema: S): { flags: z.infer<S>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const r = schema.safeParse(parsed.values);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  return { flags: r.data, positionals: parsed.positionals };
}

export const dataDirFlag = { 'data-dir': { type: 'string' } } as const;
export const dataDir = z.string({ error: '--data-dir D is required' }).min(1);
export const csv = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
