// Runs one verified command: a script, a device action or a patch install, each through the command table.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess, type RunOutcome } from './exec.ts';
import { commandTable, expand, type AgentConfig } from './config.ts';
import { DeviceActionPayload, PatchPayload, ScriptPayload, type CommandEnvelope, type Facts } from './protocol.ts';

export interface ExecContext {
  stateDir: string;
  os: Facts['os'];
  config: AgentConfig;
  consoleHost: string;
  onSpawn: (pid: number) => void;
  signal: AbortSignal;
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
    return {
      ok: true,
      run: async () => {
        const work = join(x.stateDir, 'work');
        mkdirSync(work, { recursive: true, mode: 0o700 });
        const file = join(work, `${c.commandId}.${EXT[s.language]}`);
        writeFileSync(file, s.body, { mode: 0o700 });
        const params = Object.fromEntries(Object.entries(s.parameters).map(([k, v]) => [`CS_PARAM_${k}`, v]));
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
  if (!table.patchInstall) return { ok: false, message: `no package manager is configured for patch installs on ${x.os}` };
  const argv = expand(table.patchInstall, { consoleHost: x.consoleHost, packages: p.data.patches });
  return {
    ok: true,
    run: () => runProcess({ argv, env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: x.config.patchTimeoutSeconds * 1000, onSpawn: x.onSpawn, signal: x.signal }),
  };
}
