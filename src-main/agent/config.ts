// How this agent acts on its OS: a per-OS command table for device actions, patch installs and interpreters.
// A config file may override any entry (tests use harmless commands); the same execution path runs either way.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEVICE_ACTIONS } from './protocol.ts';

const Argv = z.array(z.string().min(1).max(4096)).min(1).max(64);
export const AgentConfig = z.object({
  actions: z.partialRecord(z.enum(DEVICE_ACTIONS), Argv).optional(),
  /** `{packages}` expands to the package=version arguments. */
  patchInstall: Argv.optional(),
  interpreters: z.partialRecord(z.enum(['bash', 'python', 'powershell']), Argv).optional(),
  actionTimeoutSeconds: z.number().int().min(1).max(3600).default(100),
  patchTimeoutSeconds: z.number().int().min(1).max(86_400).default(3300),
  maxBackoffSeconds: z.number().min(0.1).max(3600).default(60),
  patchScan: z.boolean().default(true),
}).strict();
export type AgentConfig = z.infer<typeof AgentConfig>;

export function loadConfig(file: string | undefined): AgentConfig {
  if (!file) return AgentConfig.parse({});
  const r = AgentConfig.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new Error(`invalid agent config ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

// Linux isolation keeps loopback and the console reachable and drops everything else (nftables).
const LINUX_ISOLATE = 'nft -f - <<EOF\ntable inet countersign_isolation\ndelete table inet countersign_isolation\n'
  + 'table inet countersign_isolation {\n chain in { type filter hook input priority 0; policy drop; iif lo accept; ct state established,related accept; }\n'
  + ' chain out { type filter hook output priority 0; policy drop; oif lo accept; ip daddr {consoleHost} accept; }\n}\nEOF';

type Table = { actions: Record<(typeof DEVICE_ACTIONS)[number], string[]>; patchInstall: string[] | null; interpreters: Record<'bash' | 'python' | 'powershell', string[]> };

export const DEFAULT_TABLES: Record<'linux' | 'macos' | 'windows', Table> = {
  linux: {
    actions: { reboot: ['systemctl', 'reboot'], shutdown: ['systemctl', 'poweroff'], lock: ['loginctl', 'lock-sessions'], isolate: ['sh', '-c', LINUX_ISOLATE] },
    patchInstall: ['apt-get', 'install', '-y', '--only-upgrade', '-o', 'Dpkg::Options::=--force-confold', '{packages}'],
    interpreters: { bash: ['bash'], python: ['python3'], powershell: ['pwsh', '-NoProfile', '-NonInteractive', '-File'] },
  },
  macos: {
    actions: { reboot: ['shutdown', '-r', 'now'], shutdown: ['shutdown', '-h', 'now'], lock: ['pmset', 'displaysleepnow'],
      isolate: ['sh', '-c', 'printf "block all\\npass out quick to {consoleHost}\\npass in quick from {consoleHost}\\n" | pfctl -ef -'] },
    patchInstall: null,
    interpreters: { bash: ['bash'], python: ['python3'], powershell: ['pwsh', '-NoProfile', '-NonInteractive', '-File'] },
  },
  windows: {
    actions: { reboot: ['shutdown', '/r', '/t', '0'], shutdown: ['shutdown', '/s', '/t', '0'], lock: ['rundll32.exe', 'user32.dll,LockWorkStation'],
      isolate: ['powershell', '-NoProfile', '-Command', 'New-NetFirewallRule -DisplayName CountersignConsole -Direction Outbound -RemoteAddress {consoleHost} -Action Allow; Set-NetFirewallProfile -All -DefaultInboundAction Block -DefaultOutboundAction Block'] },
    patchInstall: null,
    interpreters: { bash: ['bash'], python: ['python'], powershell: ['pwsh', '-NoProfile', '-NonInteractive', '-File'] },
  },
};

/** The effective table: the OS defaults with the config's overrides on top. */
export function commandTable(os: keyof typeof DEFAULT_TABLES, config: AgentConfig): Table {
  const d = DEFAULT_TABLES[os];
  return {
    actions: { ...d.actions, ...config.actions },
    patchInstall: config.patchInstall ?? d.patchInstall,
    interpreters: { ...d.interpreters, ...config.interpreters },
  };
}

/** Fills `{consoleHost}` (validated) and expands `{packages}` into separate arguments; nothing goes through a shell unquoted. */
export function expand(argv: string[], vars: { consoleHost: string; packages?: string[] }): string[] {
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(vars.consoleHost)) throw new Error(`unsafe console host '${vars.consoleHost}'`);
  return argv.flatMap((a) => (a === '{packages}' ? vars.packages ?? [] : [a.replaceAll('{consoleHost}', vars.consoleHost)]));
}
