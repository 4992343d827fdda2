// Linux: a systemd unit. Hardened where that costs approved scripts nothing: they run as root and must still be able to
// install packages, edit /etc, manage services and reboot, so ProtectSystem, ProtectHome, capability limits,
// RestrictSUIDSGID (apt installs setuid files) and MemoryDenyWriteExecute (V8 needs W^X pages) are deliberately not set.
import type { Layout } from './layout.ts';
import type { ServiceManager, Runner } from './manager.ts';
import { must } from './manager.ts';

const quote = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`);

export function systemdUnit(l: Layout): string {
  return `# Written by countersign-agent install; removed by countersign-agent uninstall.
[Unit]
Description=Countersign endpoint agent
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=${quote(l.exe)} run --state-dir ${quote(l.stateDir)}
# Exit 75 after an upgrade, or any failure: start again.
Restart=on-failure
RestartSec=3
TimeoutStopSec=30
KillMode=mixed
UMask=0077
StateDirectory=${l.stateDir.startsWith('/var/lib/') ? l.stateDir.slice('/var/lib/'.length) : 'countersign-agent'}
StateDirectoryMode=0700
UnsetEnvironment=NODE_OPTIONS
# Hardening that leaves administration by approved scripts intact (see the note at the top of systemd.ts).
NoNewPrivileges=yes
PrivateTmp=yes
LockPersonality=yes
RestrictRealtime=yes
SystemCallArchitectures=native
LimitCORE=0
ProtectKernelLogs=yes

[Install]
WantedBy=multi-user.target
`;
}

export function systemdManager(l: Layout, run: Runner): ServiceManager {
  const unit = `${l.serviceName}.service`;
  return {
    definition: () => ({ file: l.serviceFile, text: systemdUnit(l), mode: 0o644 }),
    async register() {
      await must(run, ['systemctl', 'daemon-reload']);
      await must(run, ['systemctl', 'enable', '--now', unit]);
    },
    async unregister() {
      // Stopping an absent or stopped unit is not an error on uninstall.
      await run(['systemctl', 'disable', '--now', unit]);
    },
    async reload() {
      await must(run, ['systemctl', 'daemon-reload']);
    },
    async state() {
      const r = await run(['systemctl', 'is-active', unit]);
      return r ? r.stdout.trim() || `exit ${r.exitCode}` : 'systemctl not found';
    },
  };
}
