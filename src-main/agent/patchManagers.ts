// The package managers an agent uses for missing updates, per OS, each with its scan and install commands. Which ones run
// is decided by the OS, then by the tool's presence (a scan command that cannot start means "not installed here").
// The agent config may override any command (tests do); the same code path runs either way.
import { readdirSync } from 'node:fs';
import { win32 } from 'node:path';
import type { Facts, PatchManager } from './protocol.ts';

export interface ManagerCommands {
  /** Lists the missing updates; its output goes to the manager's parser (patchParsers.ts). */
  scan: string[];
  /**
   * Installs approved updates. `{packages}` expands to every externalId (one run); `{id}` and `{version}` make one run per
   * update, with the two halves of its `id=version`. The ids are also in the environment as COUNTERSIGN_PATCHES, one per line.
   */
  install: string[];
}

/** Scanned in this order; an OS's first manager is its default for installs. */
export const OS_PATCH_MANAGERS: Record<Facts['os'], PatchManager[]> = {
  linux: ['apt'],
  windows: ['windows_update', 'winget'],
  macos: ['softwareupdate'],
};

const PS = ['powershell', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command'];

// Windows Update through the Windows Update Agent COM API (what RMM agents use: no module to install, MsrcSeverity and
// reboot behaviour per update). UTF-8 output so localized titles survive; always a JSON array, even of one or none.
export const WU_SCAN = `$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
$session = New-Object -ComObject Microsoft.Update.Session
$result = $session.CreateUpdateSearcher().Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
$out = foreach ($u in $result.Updates) {
  [pscustomobject]@{
    Title = $u.Title; UpdateID = $u.Identity.UpdateID; RevisionNumber = $u.Identity.RevisionNumber
    KBArticleIDs = @($u.KBArticleIDs); MsrcSeverity = $u.MsrcSeverity; RebootBehavior = $u.InstallationBehavior.RebootBehavior
    Categories = @($u.Categories | ForEach-Object { $_.Name }); IsDownloaded = $u.IsDownloaded
  }
}
ConvertTo-Json -InputObject @($out) -Depth 3 -Compress`;

// Installs exactly the approved updates (by KB or update id) that Windows Update still offers; exit 1 if any is missing or fails.
export const WU_INSTALL = `$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8
$wanted = @($env:COUNTERSIGN_PATCHES -split "\`n" | Where-Object { $_ } | ForEach-Object { ($_ -split '=')[0] })
$session = New-Object -ComObject Microsoft.Update.Session
$offered = $session.CreateUpdateSearcher().Search("IsInstalled=0 and IsHidden=0 and Type='Software'").Updates
$todo = New-Object -ComObject Microsoft.Update.UpdateColl
$matched = @{}
foreach ($u in $offered) {
  $keys = @($u.Identity.UpdateID) + @($u.KBArticleIDs | ForEach-Object { "KB$_" })
  $hit = $keys | Where-Object { $wanted -contains $_ } | Select-Object -First 1
  if ($hit -and -not $matched.ContainsKey($hit)) { if (-not $u.EulaAccepted) { $u.AcceptEula() }; [void]$todo.Add($u); $matched[$hit] = $true }
}
$missing = @($wanted | Where-Object { -not $matched.ContainsKey($_) })
if ($missing.Count) { Write-Output "not offered by Windows Update (installed, superseded or hidden): $($missing -join ', ')" }
if ($todo.Count -eq 0) { exit 1 }
$downloader = $session.CreateUpdateDownloader(); $downloader.Updates = $todo
Write-Output "download: result $($downloader.Download().ResultCode)"
$installer = $session.CreateUpdateInstaller(); $installer.Updates = $todo
$r = $installer.Install()
for ($i = 0; $i -lt $todo.Count; $i++) { Write-Output ("{0}: result {1}" -f $todo.Item($i).Title, $r.GetUpdateResult($i).ResultCode) }
Write-Output "reboot required: $($r.RebootRequired)"
if ($r.ResultCode -ne 2 -or $missing.Count) { exit 1 }`;

export const DEFAULT_PATCH_COMMANDS: Record<PatchManager, ManagerCommands> = {
  apt: {
    scan: ['apt', 'list', '--upgradable'],
    install: ['apt-get', 'install', '-y', '--only-upgrade', '-o', 'Dpkg::Options::=--force-confold', '{packages}'],
  },
  windows_update: { scan: [...PS, WU_SCAN], install: [...PS, WU_INSTALL] },
  winget: {
    scan: ['winget', 'upgrade', '--accept-source-agreements', '--disable-interactivity'],
    install: ['winget', 'upgrade', '--id', '{id}', '--version', '{version}', '--exact', '--silent',
      '--accept-package-agreements', '--accept-source-agreements', '--disable-interactivity'],
  },
  softwareupdate: {
    scan: ['softwareupdate', '--list'],
    // Installs, never restarts by itself: a needed restart is the technician's separate, approved device action.
    install: ['softwareupdate', '--install', '{id}', '--agree-to-license'],
  },
};

const KB_OR_UPDATE_ID = /^(KB\d{4,8}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})=/i;

/** Which manager installs an externalId on this OS: its syntax says (see EXTERNAL_ID). */
export function managerFor(os: Facts['os'], externalId: string): PatchManager {
  if (os === 'windows') return KB_OR_UPDATE_ID.test(externalId) ? 'windows_update' : 'winget';
  return os === 'macos' ? 'softwareupdate' : 'apt';
}

/** `id=version` split at the first `=` (neither half may hold one). */
export function splitExternalId(externalId: string): { id: string; version: string } {
  const i = externalId.indexOf('=');
  return i < 0 ? { id: externalId, version: '' } : { id: externalId.slice(0, i), version: externalId.slice(i + 1) };
}

const APP_INSTALLER = /^Microsoft\.DesktopAppInstaller_(\d+(?:\.\d+)*)_(?:x64|arm64|x86)__8wekyb3d8bbwe$/i;

/**
 * winget ships in the App Installer package, which is on the PATH of signed-in users but not of SYSTEM, the account an
 * agent service runs as. Finds the newest installed copy under Program Files\WindowsApps; null when there is none.
 */
export function wingetPath(programFiles = process.env.ProgramW6432 ?? process.env.ProgramFiles ?? 'C:\\Program Files', list: (dir: string) => string[] = readdirSync): string | null {
  const dir = win32.join(programFiles, 'WindowsApps');
  let names: string[];
  try {
    names = list(dir);
  } catch {
    return null;
  }
  const version = (n: string) => APP_INSTALLER.exec(n)![1]!.split('.').map(Number);
  const newest = names.filter((n) => APP_INSTALLER.test(n)).sort((a, b) => {
    const [x, y] = [version(a), version(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  }).at(-1);
  return newest ? win32.join(dir, newest, 'winget.exe') : null;
}

/** The default commands as this machine runs them: on Windows, `winget` by its full path where PATH lacks it. */
export function localCommand(argv: string[], platform = process.platform): string[] {
  if (argv[0] !== 'winget' || platform !== 'win32') return argv;
  return [wingetPath() ?? 'winget', ...argv.slice(1)];
}
