// `countersign-agent install | uninstall | status`: enroll, copy the executable to the OS's place, lock the state down,
// register and start the service; and undo all of it. Every OS command goes through the Runner (tests record them).
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { capture } from '../exec.ts';
import { enrollAgent } from '../enroll.ts';
import { identityPath, loadIdentity, type Identity } from '../state.ts';
import { readStatus } from '../status.ts';
import type { Facts } from '../protocol.ts';
import { layoutFor, type Layout } from './layout.ts';
import type { Runner, ServiceManager } from './manager.ts';
import { systemdManager } from './systemd.ts';
import { windowsManager } from './windows.ts';
import { launchdManager } from './launchd.ts';

export const defaultRunner: Runner = (argv) => capture(argv, 120_000);

export function managerFor(l: Layout, run: Runner, winsw: () => Buffer): ServiceManager {
  if (l.os === 'windows') return windowsManager(l, run, winsw);
  if (l.os === 'macos') return launchdManager(l, run);
  return systemdManager(l, run);
}

export interface InstallContext {
  layout: Layout;
  manager: ServiceManager;
  /** The executable to copy (process.execPath of the agent executable). */
  self: string;
  log: (line: string) => void;
  /** Enrollment; tests of the Windows and macOS logic pass a stand-in that writes an identity. */
  enroll?: (p: { url: string; token: string; stateDir: string; hostname?: string }) => Promise<Identity>;
  isRoot?: () => boolean;
}

const isRootDefault = () => process.platform === 'win32' || process.getuid?.() === 0;

/** What install leaves on the machine (uninstall removes exactly these; the tests check each is gone). */
export function installedPaths(c: Pick<InstallContext, 'layout' | 'manager'>): string[] {
  const l = c.layout;
  return [l.exe, l.installDir, l.stateDir, l.serviceFile, ...(c.manager.extraFiles?.() ?? []), ...(l.logDir ? [l.logDir] : [])];
}

export async function install(p: { url: string; token: string; hostname?: string }, c: InstallContext): Promise<Identity> {
  const l = c.layout;
  if (!(c.isRoot ?? isRootDefault)()) throw new Error(`install needs ${l.os === 'windows' ? 'an Administrator' : 'root'}: it writes ${l.installDir} and registers a service`);
  if (l.os === 'linux' && !existsSync(l.runtimeMarker)) {
    throw new Error(`systemd is not running on this machine (no ${l.runtimeMarker}); run the agent under your own supervisor with: countersign-agent enroll … then run --state-dir DIR`);
  }
  if (existsSync(identityPath(l.stateDir)) || existsSync(l.exe)) throw new Error(`an agent is already installed here (${l.installDir}); run uninstall first`);
  const identity = await (c.enroll ?? enrollAgent)({ url: p.url, token: p.token, stateDir: l.stateDir, hostname: p.hostname });
  c.log(`enrolled device ${identity.deviceId} in tenant ${identity.tenant}; pinned console certificate ${identity.certSha256}`);
  try {
    await c.manager.secureState?.(l.stateDir);
    mkdirSync(l.installDir, { recursive: true, mode: 0o755 });
    const tmp = `${l.exe}.tmp-${process.pid}`;
    copyFileSync(c.self, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, l.exe);
    if (l.logDir) mkdirSync(l.logDir, { recursive: true, mode: 0o700 });
    const def = c.manager.definition();
    mkdirSync(dirname(def.file), { recursive: true, mode: 0o755 });
    writeFileSync(def.file, def.text, { mode: def.mode });
    chmodSync(def.file, def.mode);
    await c.manager.prepare?.();
    await c.manager.register();
  } catch (e) {
    c.log(`install failed, undoing it: ${(e as Error).message}`);
    await removeAll(c).catch(() => {});
    throw new Error(`install failed: ${(e as Error).message}. The machine was left as before; the agent stays enrolled in the console (revoke it there).`);
  }
  c.log(`installed ${l.exe}; service ${l.serviceName} registered and started`);
  return identity;
}

async function removeAll(c: Pick<InstallContext, 'layout' | 'manager'>): Promise<void> {
  await c.manager.unregister();
  rmSync(c.layout.serviceFile, { force: true });
  await c.manager.reload();
  for (const f of installedPaths(c)) rmSync(f, { recursive: true, force: true });
}

export async function uninstall(c: Pick<InstallContext, 'layout' | 'manager' | 'log' | 'isRoot'>): Promise<string[]> {
  if (!(c.isRoot ?? isRootDefault)()) throw new Error(`uninstall needs ${c.layout.os === 'windows' ? 'an Administrator' : 'root'}`);
  await removeAll(c);
  const left = installedPaths(c).filter((f) => existsSync(f));
  c.log(left.length ? `uninstalled, but these could not be removed: ${left.join(', ')}` : `uninstalled: service ${c.layout.serviceName}, ${c.layout.installDir} and ${c.layout.stateDir} removed`);
  return left;
}

export async function status(c: Pick<InstallContext, 'layout' | 'manager'>): Promise<string[]> {
  const l = c.layout;
  const lines: string[] = [];
  let id: Identity | null = null;
  try {
    id = loadIdentity(l.stateDir);
  } catch {
    // not enrolled, or the state is unreadable: said below
  }
  lines.push(id ? `enrolled: device ${id.deviceId}, tenant ${id.tenant}, console ${id.url} (since ${id.enrolledAt})` : `enrolled: no (no identity in ${l.stateDir})`);
  const s = id ? readStatus(l.stateDir) : null;
  lines.push(`connection: ${s ? `${s.connected ? 'connected' : 'disconnected'} since ${s.since} (agent ${s.version}, pid ${s.pid}${s.running ? '' : ', not running'})` : 'unknown (the agent has not run yet)'}`);
  lines.push(`service: ${existsSync(l.serviceFile) ? await c.manager.state() : 'not installed'}`);
  return lines;
}

const noWinsw = (): Buffer => {
  throw new Error('WinSW is carried only by the Windows agent executable');
};

export function serviceContext(os: Facts['os'], log: (l: string) => void, run: Runner = defaultRunner, winsw: () => Buffer = noWinsw): InstallContext {
  const layout = layoutFor(os);
  return { layout, manager: managerFor(layout, run, winsw), self: process.execPath, log };
}
