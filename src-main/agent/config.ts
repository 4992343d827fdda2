// How this agent acts on its OS: a per-OS command table for device actions, patch installs and interpreters.
// A config file may override any entry (tests use harmless commands); the same execution path runs either way.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEVICE_ACTIONS, PATCH_MANAGERS, type PatchManager } from './protocol.ts';
import { DEFAULT_PATCH_COMMANDS, localCommand, OS_PATCH_MANAGERS } from './patchManagers.ts';
import { SOFTWARE_SOURCES } from './software.ts';

const Argv = z.array(z.string().min(1).max(4096)).min(1).max(64);
export const AgentConfig = z.object({
  actions: z.partialRecord(z.enum(DEVICE_ACTIONS), Argv).optional(),
  /** The install command of every package manager: `{packages}` expands to the package=version arguments (see patchManagers.ts). */
  patchInstall: Argv.optional(),
  /** Per package manager: its scan and install commands. */
  patchManagers: z.partialRecord(z.enum(PATCH_MANAGERS), z.object({ scan: Argv.optional(), install: Argv.optional() }).strict()).optional(),
  /** Per source of the installed-software list (software.ts): the command that prints it. */
  softwareList: z.partialRecord(z.enum(SOFTWARE_SOURCES), Argv).optional(),
  interpreters: z.partialRecord(z.enum(['bash', 'python', 'powershell']), Argv).optional(),
  actionTimeoutSeconds: z.number().int().min(1).max(3600).default(100),
  patchTimeoutSeconds: z.number().int().min(1).max(86_400).default(3300),
  maxBackoffSeconds: z.number().min(0.1).max(3600).default(60),
  patchScan: z.boolean().default(true),
  /** After an upgrade, how long the new build has to be welcomed by the console before the old one is put back. */
  upgradeHealthSeconds: z.number().int().min(5).max(3600).default(120),
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

type PatchEntry = { name: PatchManager; scan: string[]; install: string[] };
type Table = {
  actions: Record<(typeof DEVICE_ACTIONS)[number], string[]>;
  /** The install command of the OS's first package manager. */
  patchInstall: string[] | null;
  /** The OS's package managers, in scan order. */
  patchManagers: PatchEntry[];
  interpreters: Record<'bash' | 'python' | 'powershell', string[]>;
};

export const DEFAULT_TABLES: Record<'linux' | 'macos' | 'windows', Omit<Table, 'patchInstall' | 'patchManagers'>> = {
  linux: {
    actions: { reboot: ['systemctl', 'reboot'], shutdown: ['systemctl', 'poweroff'], lock: ['loginctl', 'lock-sessions'], isolate: ['sh', '-c', LINUX_ISOLATE] },
    interpreters: { bash: ['bash'], python: ['python3'], powershell: ['pwsh', '-NoProfile', '-NonInteractive', '-File'] },
  },
  macos: {
    actions: { reboot: ['shutdown', '-r', 'now'], shutdown: ['shutdown', '-h', 'now'], lock: ['pmset', 'displaysleepnow'],
      isolate: ['sh', '-c', 'printf "block all\\npass out quick to {consoleHost}\\npass in quick from {consoleHost}\\n" | pfctl -ef -'] },
    interpreters: { bash: ['bash'], python: ['python3'], powershell: ['pwsh', '-NoProfile', '-NonInteractive', '-File'] },
  },
  windows: {
    actions: { reboot: ['shutdown', '/r', '/t', '0'], shutdown: ['shutdown', '/s', '/t', '0'], lock: ['rundll32.exe', 'user32.dll,LockWorkStation'],
      isolate: ['powershell', '-NoProfile', '-Command', 'New-NetFirewallRule -DisplayName CountersignConsole -Direction Outbound -RemoteAddress {consoleHost} -Action Allow; Set-NetFirewallProfile -All -DefaultInboundAction Block -DefaultOutboundAction Block'] },
    interpreters: { bash: ['bash'], python: ['python'], powershell: ['pwsh', '-NoProfile', '-NonInteractive', '-File'] },
  },
};

/** The effective table: the OS defaults with the config's overrides on top. */
export function commandTable(os: keyof typeof DEFAULT_TABLES, config: AgentConfig): Table {
  const d = DEFAULT_TABLES[os];
  const patchManagers = OS_PATCH_MANAGERS[os].map((name) => {
    const own = config.patchManagers?.[name];
    const std = DEFAULT_PATCH_COMMANDS[name];
    return { name, scan: own?.scan ?? localCommand(std.scan), install: own?.install ?? config.patchInstall ?? localCommand(std.install) };
  });
  return {
    actions: { ...d.actions, ...config.actions },
    patchInstall: patchManagers[0]?.install ?? null,
    patchManagers,
    interpreters: { ...d.interpreters, ...config.interpreters },
  };
}

/**
 * Fills `{consoleHost}` (validated), expands `{packages}` into separate arguments, and `{id}` / `{version}` with the halves of
 * one package's `id=version`; each stays one argument, and nothing goes through a shell unquoted.
 */
export function expand(argv: string[], vars: { consoleHost: string; packages?: string[]; package?: string }): string[] {
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(vars.consoleHost)) throw new Error(`unsafe console host '${vars.consoleHost}'`);
  const one = vars.package ?? '';
  const eq = one.indexOf('=');
  const [id, version] = eq < 0 ? [one, ''] : [one.slice(0, eq), one.slice(eq + 1)];
  if (id.startsWith('-') || version.startsWith('-')) throw new Error(`unsafe package '${one}': it would read as an option`);
  return argv.flatMap((a) => (a === '{packages}' ? vars.packages ?? []
    : [a.replaceAll('{consoleHost}', vars.consoleHost).replaceAll('{id}', id).replaceAll('{version}', version)]));
}

/** Whether an install command runs once per package (`{id}`, `{version}`) rather than once for all (`{packages}`). */
export const perPackage = (argv: string[]) => argv.some((a) => a.includes('{id}') || a.includes('{version}'));
