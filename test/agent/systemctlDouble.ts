// A stand-in for systemctl where systemd is not running (containers, CI): it runs the installed unit's ExecStart under a
// loop that honours Restart=on-failure, as systemd would, and logs every call. Stopping waits for the whole process group
// to exit (SIGKILL after 15 s), as systemd's stop job does. Written in bash: the test's PATH has no Node.
import { chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = `#!/bin/bash
set -u
ROOT="$COUNTERSIGN_AGENT_ROOT"
echo "$*" >> "$ROOT/systemctl.log"
unit() { echo "$ROOT/etc/systemd/system/$1"; }
pidfile="$ROOT/supervisor.pid"
case "$1" in
  daemon-reload) exit 0 ;;
  enable)
    shift; [ "$1" = "--now" ] && shift
    f=$(unit "$1"); [ -f "$f" ] || { echo "Unit $1 not found." >&2; exit 5; }
    exec_start=$(sed -n 's/^ExecStart=//p' "$f"); restart=$(sed -n 's/^Restart=//p' "$f")
    setsid bash -c 'while :; do eval "$0" >>"$1" 2>&1; c=$?; echo "[double] exited $c" >>"$1"; [ "$c" = 0 ] && exit 0; [ "$2" = on-failure ] || exit "$c"; sleep 1; done' \\
      "$exec_start" "$ROOT/agent.log" "$restart" </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"; exit 0 ;;
  disable)
    shift; [ "\${1:-}" = "--now" ] && shift
    if [ -f "$pidfile" ]; then p=$(cat "$pidfile"); kill -TERM -- "-$p" 2>/dev/null; for i in $(seq 1 150); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done; kill -KILL -- "-$p" 2>/dev/null; rm -f "$pidfile"; fi
    exit 0 ;;
  is-active)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo active; exit 0; fi
    echo inactive; exit 3 ;;
  *) echo "systemctl double: unsupported $*" >&2; exit 1 ;;
esac
`;

/** A bin folder with every tool of the machine except Node and npm, plus the systemctl double; returns its path. */
export function pathWithoutNode(root: string, withDouble: boolean): string {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const skip = withDouble ? /^(node|nodejs|npm|npx|corepack|systemctl)$/ : /^(node|nodejs|npm|npx|corepack)$/;
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (skip.test(n)) continue;
      try {
        symlinkSync(join(dir, n), join(bin, n));
      } catch {
        // the first directory on PATH wins, as it would
      }
    }
  }
  if (withDouble) {
    writeFileSync(join(bin, 'systemctl'), SCRIPT);
    chmodSync(join(bin, 'systemctl'), 0o755);
  }
  return bin;
}
