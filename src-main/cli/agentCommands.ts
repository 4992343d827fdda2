// `countersign agent …` and the agent executable's own commands: enroll, run, install, uninstall, status, self-test, version.
// Imports only src-main/agent (no database, no MCP server): this is what `countersign agent build` bundles.
import https from 'node:https';
import { resolve } from 'node:path';
import sea from 'node:sea';
import { z } from 'zod';
import { enrollAgent } from '../agent/enroll.ts';
import { loadConfig } from '../agent/config.ts';
import { Agent } from '../agent/run.ts';
import { osName } from '../agent/inventory.ts';
import { collectInventory } from '../agent/inventoryReport.ts';
import { AGENT_VERSION } from '../agent/protocol.ts';
import { loadIdentity } from '../agent/state.ts';
import { pinnedTlsOptions } from '../agent/tls.ts';
import { RESTART_EXIT_CODE } from '../agent/upgrade.ts';
import { install, serviceContext, status, uninstall } from '../agent/service/install.ts';
import { WINSW_ASSET } from '../agent/service/windows.ts';
import { parseFlags, UsageError } from './args.ts';
import type { Io } from './commands.ts';

const stateDir = z.string({ error: '--state-dir S is required' }).min(1);
const USAGE = `usage: countersign agent enroll --url URL --token T --state-dir S [--hostname NAME] | agent run --state-dir S [--config F]
  | agent inventory [--config F] [--hostname NAME]   (what the agent reports, as JSON)
  the agent executable also: install --url URL --token T [--hostname NAME] | uninstall | status | self-test --state-dir S [--expect-version V] | version`;

/** WinSW, carried inside the Windows executable. */
const winsw = () => Buffer.from(sea.getAsset(WINSW_ASSET));

/** Reaches the console over the pinned channel (GET /agent/v1/healthz): the new build's proof before an upgrade swaps it in. */
function healthz(url: string, certPem: string, pin: string): Promise<number> {
  return new Promise((ok, bad) => {
    const req = https.get(new URL('/agent/v1/healthz', url), { ...pinnedTlsOptions(certPem, pin), timeout: 15_000 }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', bad);
  });
}

export async function agent(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  const log = (l: string) => io.err(l);
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
      // The inventory child reads the same configuration: the same --config, or the same environment.
      const inventoryCommand = io.agentSelf && [...io.agentSelf, 'inventory', ...(flags.config ? ['--config', resolve(flags.config)] : [])];
      const end = await new Agent({ stateDir: resolve(flags['state-dir']), config, log: (l) => io.err(`[agent] ${l}`), signal: stop.signal,
        self: sea.isSea() ? process.execPath : null, inventoryCommand }).run();
      // A new build is in place: the service manager starts it (Restart=on-failure, launchd KeepAlive, SCM failure actions).
      return end === 'restart' ? RESTART_EXIT_CODE : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  if (sub === 'inventory') {
    // What this machine reports: printed as JSON (the agent's run collects it this way, in a process of its own).
    const { flags } = parseFlags(rest, { config: { type: 'string' }, hostname: { type: 'string' } },
      z.object({ config: z.string().min(1).optional(), hostname: z.string().min(1).max(253).optional() }));
    const config = loadConfig(flags.config ?? io.env.COUNTERSIGN_AGENT_CONFIG);
    io.out(JSON.stringify(await collectInventory(config, log, flags.hostname)));
    return 0;
  }
  if (sub === 'install') {
    const { flags } = parseFlags(rest, { url: { type: 'string' }, token: { type: 'string' }, hostname: { type: 'string' } },
      z.object({ url: z.string({ error: '--url URL is required' }).url(), token: z.string({ error: '--token T is required' }).min(1), hostname: z.string().min(1).max(253).optional() }));
    if (!sea.isSea()) throw new UsageError('install works from the agent executable (countersign agent build makes it), not from source');
    const id = await install({ url: flags.url, token: flags.token, hostname: flags.hostname }, serviceContext(osName(), log, undefined, winsw));
    io.out(`installed: device ${id.deviceId} in tenant ${id.tenant}, agent ${AGENT_VERSION}`);
    return 0;
  }
  if (sub === 'uninstall') {
    parseFlags(rest, {}, z.object({}));
    const left = await uninstall(serviceContext(osName(), log, undefined, winsw));
    return left.length ? 1 : 0;
  }
  if (sub === 'status') {
    parseFlags(rest, {}, z.object({}));
    for (const l of await status(serviceContext(osName(), log, undefined, winsw))) io.out(l);
    io.out(`version: ${AGENT_VERSION}`);
    return 0;
  }
  if (sub === 'self-test') {
    const { flags } = parseFlags(rest, { 'state-dir': { type: 'string' }, 'expect-version': { type: 'string' } },
      z.object({ 'state-dir': stateDir, 'expect-version': z.string().max(50).optional() }));
    if (flags['expect-version'] && flags['expect-version'] !== AGENT_VERSION) throw new Error(`this build is ${AGENT_VERSION}, not ${flags['expect-version']}`);
    const id = loadIdentity(resolve(flags['state-dir']));
    const code = await healthz(id.url, id.certPem, id.certSha256);
    if (code !== 200) throw new Error(`the console answered ${code} on its health check`);
    io.out(`countersign-agent ${AGENT_VERSION}: state readable, console ${id.url} reachable over the pinned certificate`);
    return 0;
  }
  if (sub === 'version' || sub === '--version') {
    io.out(AGENT_VERSION);
    return 0;
  }
  throw new UsageError(USAGE);
}
