// macOS: a launchd daemon (root, at boot, restarted whenever it exits unsuccessfully: after an upgrade or a failure).
import type { Layout } from './layout.ts';
import type { Runner, ServiceManager } from './manager.ts';
import { must } from './manager.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function launchdPlist(l: Layout): string {
  const args = [l.exe, 'run', '--state-dir', l.stateDir].map((a) => `    <string>${esc(a)}</string>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${l.serviceName}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardErrorPath</key>
  <string>${esc(l.join(l.logDir, 'agent.log'))}</string>
  <key>ProcessType</key>
  <string>Background</string>
</dict>
</plist>
`;
}

export function launchdManager(l: Layout, run: Runner): ServiceManager {
  const target = `system/${l.serviceName}`;
  return {
    definition: () => ({ file: l.serviceFile, text: launchdPlist(l), mode: 0o644 }),
    async register() {
      await must(run, ['launchctl', 'bootstrap', 'system', l.serviceFile]);
      await must(run, ['launchctl', 'enable', target]);
      await must(run, ['launchctl', 'kickstart', target]);
    },
    async unregister() {
      await run(['launchctl', 'bootout', target]);
    },
    async reload() {},
    async state() {
      const r = await run(['launchctl', 'print', target]);
      if (!r) return 'launchctl not found';
      return r.exitCode === 0 ? (/^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim() ?? 'loaded') : 'not installed';
    },
  };
}
