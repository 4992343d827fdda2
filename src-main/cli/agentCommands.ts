// `countersign agent enroll|run`: the endpoint agent. Imports only src-main/agent (no database, no MCP server).
import { resolve } from 'node:path';
import { z } from 'zod';
import { enrollAgent } from '../agent/enroll.ts';
import { loadConfig } from '../agent/config.ts';
import { runAgent } from '../agent/run.ts';
import { parseFlags, UsageError } from './args.ts';
import type { Io } from './commands.ts';

const stateDir = z.string({ error: '--state-dir S is required' }).min(1);

export async function agent(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'enroll') {
    const { flags } = parseFlags(rest, { url: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' }, hostname: { type: 'string' } },
      z.object({ url: z.string({ error: '--url URL is required' }).url(), token: z.string({ error: '--token T is required' }).min(1), 'state-dir': stateDir,
        hostname: z.string().min(1).max(253).optional() }));
    const id = await enrollAgent({ url: flags.url, token: flags.token, stateDir: resolve(flags['state-dir']), hostname: flags.hostname });
    io.err(`pinned console certificate ${id.certSha256}`);
    io.out(`enrolled device ${id.deviceId} in tenant ${id.tenant} (agent ${id.agentId}); state in ${resolve(flags['state-dir'])}`);
    return 0;
  }
  if (sub === 'run') {
    const { flags } = parseFlags(rest, { 'state-dir': { type: 'string' }, config: { type: 'string' } }, z.object({ 'state-dir': stateDir, config: z.string().min(1).optional() }));
    const config = loadConfig(flags.config ?? io.env.COUNTERSIGN_AGENT_CONFIG);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await runAgent({ stateDir: resolve(flags['state-dir']), config, log: (l) => io.err(`[agent] ${l}`), signal: stop.signal });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  }
  throw new UsageError('usage: countersign agent enroll --url URL --token T --state-dir S [--hostname NAME] | agent run --state-dir S [--config F]');
}
