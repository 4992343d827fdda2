// Runs one verified command: a script, a device action or a patch install, each through the command table.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, type RunOutcome } from './exec.ts';
import { commandTable, expand, perPackage, type AgentConfig } from './config.ts';
import { managerFor } from './patchManagers.ts';
import { DeviceActionPayload, OUTPUT_KEEP, PatchPayload, ScriptPayload, type CommandEnvelope, type Facts } from './protocol.ts';
import { open } from './sealed.ts';

export interface ExecContext {
  stateDir: string;
  os: Facts['os'];
  config: AgentConfig;
  consoleHost: string;
  onSpawn: (pid: number) => void;
  signal: AbortSignal;
  /** This agent's X25519 key (PKCS#8 PEM) that secret parameters are sealed to; absent for agents enrolled before. */
  boxPrivateKey?: string;
}

/** The script's parameters with each sealed value opened for this command and device, or why they cannot be. */
function openParameters(c: CommandEnvelope, s: ScriptPayload, key: string | undefined): { ok: true; params: Record<string, string> } | { ok: false; message: string } {
  const sealed = Object.entries(s.sealedParameters ?? {});
  if (!sealed.length) return { ok: true, params: s.parameters };
  if (!key) return { ok: false, message: 'secret parameters are sealed to a key this agent does not hold; re-enroll it' };
  const params = { ...s.parameters };
  try {
    for (const [name, value] of sealed) params[name] = open(key, value, { commandId: c.commandId, deviceId: c.deviceId, name });
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  return { ok: true, params };
}

export type Prepared = { ok: true; run: () => Promise<RunOutcome> } | { ok: false; message: string };

const EXT = { bash: 'sh', python: 'py', powershell: 'ps1' } as const;

/** Validates the payload for its kind and returns the run; a signed but unusable payload is refused, not run. */
export function prepare(c: CommandEnvelope, x: ExecContext): Prepared {
  const table = commandTable(x.os, x.config);
  const env = { ...process.env, COUNTERSIGN_COMMAND_ID: c.commandId };
  if (c.kind === 'script') {
    const p = ScriptPayload.safeParse(c.payload);
    if (!p.success) return { ok: false, message: `script payload invalid: ${p.error.issues[0]?.message}` };
    const s = p.data;
    if (createHash('sha256').update(s.body, 'utf8').digest('hex') !== s.sha256) return { ok: false, message: 'script body does not match its SHA-256' };
    const opened = openParameters(c, s, x.boxPrivateKey);
    if (!opened.ok) return opened;
    return {
      ok: true,
      run: async () => {
        const work = join(x.stateDir, 'work');
        mkdirSync(work, { recursive: true, mode: 0o700 });
        const file = join(work, `${c.commandId}.${EXT[s.language]}`);
        writeFileSync(file, s.body, { mode: 0o700 });
        const params = Object.fromEntries(Object.entries(opened.params).map(([k, v]) => [`CS_PARAM_${k}`, v]));
        try {
          return await runProcess({ argv: [...table.interpreters[s.language], file], env: { ...env, ...params }, cwd: work, timeoutMs: s.timeoutSeconds * 1000, onSpawn: x.onSpawn, signal: x.signal });
        } finally {
          rmSync(file, { force: true });
        }
      },
    };
  }
  if (c.kind === 'device_action') {
    const p = DeviceActionPayload.safeParse(c.payload);
    if (!p.success) return { ok: false, message: `device action payload invalid: ${p.error.issues[0]?.message}` };
    const argv = expand(table.actions[p.data.action], { consoleHost: x.consoleHost });
    return { ok: true, run: () => runProcess({ argv, env, timeoutMs: x.config.actionTimeoutSeconds * 1000, onSpawn: x.onSpawn, signal: x.signal }) };
  }
  const p = PatchPayload.safeParse(c.payload);
  if (!p.success) return { ok: false, message: `patch payload invalid: ${p.error.issues[0]?.message}` };
  // Each update goes to the package manager its externalId belongs to (apt, Windows Update, winget, softwareupdate).
  const groups = new Map<string, { install: string[]; ids: string[] }>();
  for (const id of p.data.patches) {
    const name = managerFor(x.os, id);
    const entry = table.patchManagers.find((m) => m.name === name);
    if (!entry) return { ok: false, message: `no package manager is configured for patch installs on ${x.os}` };
    const g = groups.get(name) ?? { install: entry.install, ids: [] };
    g.ids.push(id);
    groups.set(name, g);
  }
  // One run per manager, or per update where its command takes {id}/{version}; COUNTERSIGN_PATCHES holds that run's updates.
  const runs: Run[] = [];
  try {
    for (const g of groups.values()) {
      const batches = perPackage(g.install) ? g.ids.map((id) => [id]) : [g.ids];
      for (const ids of batches) {
        runs.push({
          argv: expand(g.install, { consoleHost: x.consoleHost, packages: ids, package: ids.length === 1 ? ids[0] : undefined }),
          env: { ...env, DEBIAN_FRONTEND: 'noninteractive', COUNTERSIGN_PATCHES: ids.join('\n') },
        });
      }
    }
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  return { ok: true, run: () => runSequence(runs, x) };
}

/** Runs install commands one after another under one time limit; one outcome, with each command's output under a header. */
type Run = { argv: string[]; env: NodeJS.ProcessEnv };
async function runSequence(runs: Run[], x: ExecContext): Promise<RunOutcome> {
  const deadline = performance.now() + x.config.patchTimeoutSeconds * 1000;
  const outcomes: { argv: string[]; o: RunOutcome }[] = [];
  for (const { argv, env } of runs) {
    const left = deadline - performance.now();
    if (left <= 0 || x.signal.aborted) break;
    const o = await runProcess({ argv, env, timeoutMs: left, onSpawn: x.onSpawn, signal: x.signal });
    outcomes.push({ argv, o });
    if (o.status === 'timed_out') break;
  }
  if (outcomes.length === 1 && runs.length === 1) return outcomes[0]!.o;
  const cap = (s: string) => (s.length > OUTPUT_KEEP ? `${s.slice(0, OUTPUT_KEEP - 40)}\n[… output of later commands not kept]` : s);
  const joined = (k: 'stdout' | 'stderr') => cap(outcomes.map(({ argv, o }) => `$ ${argv.slice(0, 6).join(' ').slice(0, 200)}\n${o[k]}`).join('\n'));
  const bad = outcomes.find(({ o }) => o.status !== 'completed');
  const skipped = runs.length - outcomes.length;
  return {
    status: outcomes.some(({ o }) => o.status === 'timed_out') ? 'timed_out' : bad || skipped ? 'failed' : 'completed',
    exitCode: bad ? bad.o.exitCode : skipped ? null : 0,
    stdout: joined('stdout'),
    stderr: cap(joined('stderr') + (skipped ? `\n[${skipped} install command(s) not run: the time limit ran out or the agent stopped]\n` : '')),
    durationMs: outcomes.reduce((n, { o }) => n + o.durationMs, 0),
  };
}
