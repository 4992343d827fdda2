// Where an installed agent lives on each OS. COUNTERSIGN_AGENT_ROOT prefixes every path (like DESTDIR): the test suite installs
// into a temporary root that way; on a managed machine it is unset and the paths are the OS's own.
import path from 'node:path';
import type { Facts } from '../protocol.ts';

export interface Layout {
  os: Facts['os'];
  /** The folder the executable is copied into, and the executable itself. */
  installDir: string;
  exe: string;
  /** Identity, journal and upgrade state: 0700 / 0600 (an ACL for SYSTEM and Administrators on Windows). */
  stateDir: string;
  /** The service definition file: systemd unit, launchd plist, or the WinSW XML next to the wrapper. */
  serviceFile: string;
  serviceName: string;
  /** systemd's runtime folder (present only where systemd is running), the logs folder on Windows and macOS. */
  runtimeMarker: string;
  logDir: string;
  join: (...p: string[]) => string;
}

export const SERVICE_NAME = { linux: 'countersign-agent', windows: 'CountersignAgent', macos: 'com.countersign.agent' } as const;

export function layoutFor(os: Facts['os'], env: NodeJS.ProcessEnv = process.env): Layout {
  // Paths are joined the way the machine running this joins them: Windows paths on Windows; the tests of the Windows
  // layout run on Linux with ProgramFiles and ProgramData pointing into a temporary folder.
  const p = process.platform === 'win32' ? path.win32 : path.posix;
  const root = env.COUNTERSIGN_AGENT_ROOT ?? '';
  const at = (...parts: string[]) => (root ? p.join(root, ...parts) : p.join(...parts));
  if (os === 'windows') {
    const programFiles = env.ProgramFiles ?? 'C:\\Program Files';
    const programData = env.ProgramData ?? 'C:\\ProgramData';
    const installDir = at(programFiles, 'Countersign Agent');
    return {
      os, installDir, exe: p.join(installDir, 'countersign-agent.exe'), stateDir: at(programData, 'Countersign Agent'),
      serviceFile: p.join(installDir, 'countersign-agent-service.xml'), serviceName: SERVICE_NAME.windows, runtimeMarker: '',
      logDir: at(programData, 'Countersign Agent', 'logs'), join: p.join,
    };
  }
  if (os === 'macos') {
    const installDir = at('/Library/Countersign Agent');
    return {
      os, installDir, exe: p.join(installDir, 'countersign-agent'), stateDir: at('/Library/Application Support/Countersign Agent'),
      serviceFile: at('/Library/LaunchDaemons/com.countersign.agent.plist'), serviceName: SERVICE_NAME.macos, runtimeMarker: '',
      logDir: at('/Library/Logs/Countersign Agent'), join: p.join,
    };
  }
  const installDir = at('/usr/local/lib/countersign-agent');
  return {
    os, installDir, exe: p.join(installDir, 'countersign-agent'), stateDir: at('/var/lib/countersign-agent'),
    serviceFile: at('/etc/systemd/system/countersign-agent.service'), serviceName: SERVICE_NAME.linux, runtimeMarker: at('/run/systemd/system'),
    logDir: '', join: p.join,
  };
}
