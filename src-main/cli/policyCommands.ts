// `countersign policy simulate`: the tool calls of the last N days decided again under a draft policy, with the gate's
// own decision code (src-main/governance/simulate.ts), before anyone applies it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { openApp } from '../app.ts';
import { PolicySimulator, type SimulationReport } from '../governance/simulate.ts';
import { dataDir, dataDirFlag, parseFlags, storeField, storeOf, UsageError } from './args.ts';
import type { Io } from './commands.ts';

const Flags = z.object({
  'data-dir': dataDir, ...storeField,
  days: z.coerce.number().int().min(1).max(90).default(7),
  draft: z.string({ error: '--draft FILE is required (a JSON draft: values, overrides, grants)' }).min(1),
  json: z.boolean().optional(),
});

const row = (label: string, c: SimulationReport['before']) => `${label.padEnd(28)} ${String(c.ran).padStart(7)} ${String(c.card).padStart(7)} ${String(c.denied).padStart(7)}`;

export async function policy(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'simulate') throw new UsageError('usage: countersign policy simulate --data-dir D [--store postgres://…] [--days 7] --draft draft.json [--json]');
  const { flags } = parseFlags(rest, { ...dataDirFlag, days: { type: 'string' }, draft: { type: 'string' }, json: { type: 'boolean' } }, Flags);
  let draft: unknown;
  try {
    draft = JSON.parse(readFileSync(resolve(flags.draft), 'utf8'));
  } catch (e) {
    throw new UsageError(`--draft ${flags.draft}: ${(e as Error).message}`);
  }
  const app = await openApp(resolve(flags['data-dir']), { env: io.env, storeUrl: storeOf(flags, io.env) });
  try {
    const r = await new PolicySimulator(app.gate).run(draft as never, { days: flags.days });
    if (flags.json) {
      io.out(JSON.stringify(r, null, 1));
      return 0;
    }
    io.out(`${r.entries} tool calls from ${r.from} to ${r.to}, replayed under the draft in ${Math.round(r.ms)} ms`);
    if (r.counted) io.out(`${r.counted} more refusal(s) were counted during a flood, not stored one by one: not replayed`);
    io.out(`${''.padEnd(28)} ${'ran'.padStart(7)} ${'card'.padStart(7)} ${'denied'.padStart(7)}`);
    io.out(row('as recorded', r.before));
    io.out(row('under the draft', r.after));
    for (const c of r.changes) io.out(`  ${c.from} → ${c.to}: ${c.count}`);
    io.out('by tool (recorded → draft):');
    for (const t of r.byTool) if (JSON.stringify(t.before) !== JSON.stringify(t.after)) io.out(`  ${t.tool}: ${JSON.stringify(t.before)} → ${JSON.stringify(t.after)}`);
    io.out('by key (recorded → draft):');
    for (const k of r.byKey) if (JSON.stringify(k.before) !== JSON.stringify(k.after)) io.out(`  ${k.keyName ?? k.keyId}: ${JSON.stringify(k.before)} → ${JSON.stringify(k.after)}`);
    if (r.grants.length) io.out('grants:');
    for (const g of r.grants) io.out(`  ${g.id}: ${g.covered} call(s) covered — ${g.description}`);
    if (r.examples.length) io.out('examples:');
    for (const e of r.examples) io.out(`  #${e.seq} ${e.at} ${e.tool}${e.action ? ` (${e.action})` : ''} by ${e.keyName ?? '?'}: ${e.from} → ${e.to}: ${e.reason}`);
    return 0;
  } catch (e) {
    if (e instanceof Error && (e as { code?: string }).code === 'BAD_INPUT') throw new UsageError(`--draft ${flags.draft}: ${e.message}`);
    throw e;
  } finally {
    await app.close();
  }
}
