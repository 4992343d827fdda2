// Windows: a service through WinSW, the service wrapper the executable carries inside itself (a Node executable cannot answer
// the Service Control Manager on its own). WinSW runs `countersign-agent.exe run`, and the SCM restarts it when it exits
// (after an upgrade, or on a failure). The state folder's ACL admits only SYSTEM and Administrators (by SID: locale-proof).
import { writeFileSync } from 'node:fs';
import type { Layout } from './layout.ts';
import type { Runner, ServiceManager } from './manager.ts';
import { must } from './manager.ts';

/** The WinSW asset name in the executable (src-main/agentBuild/build.ts embeds it under this name). */
export const WINSW_ASSET = 'winsw.exe';
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const wrapperPath = (l: Layout) => l.join(l.installDir, 'countersign-agent-service.exe');

export function winswXml(l: Layout): string {
  return `<!-- Written by countersign-agent install; removed by countersign-agent uninstall. -->
<service>
  <id>${l.serviceName}</id>
  <name>Countersign Agent</name>
  <description>Countersign endpoint agent: reports inventory and runs only commands the console signed.</description>
  <executable>${xml(l.exe)}</executable>
  <arguments>run --state-dir "${xml(l.stateDir)}"</arguments>
  <startmode>Automatic</startmode>
  <onfailure action="restart" delay="3 sec"/>
  <onfailure action="restart" delay="10 sec"/>
  <onfailure action="restart" delay="30 sec"/>
  <resetfailure>1 hour</resetfailure>
  <stoptimeout>30 sec</stoptimeout>
  <logpath>${xml(l.logDir)}</logpath>
  <log mode="roll"/>
</service>
`;
}

/** SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) only, inherited by everything below; nothing inherited from above. */
export const stateAcl = (dir: string) => ['icacls', dir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'];

export function windowsManager(l: Layout, run: Runner, winsw: () => Buffer): ServiceManager {
  const wrapper = wrapperPath(l);
  return {
    definition: () => ({ file: l.serviceFile, text: winswXml(l), mode: 0o644 }),
    extraFiles: () => [wrapper],
    async prepare() {
      writeFileSync(wrapper, winsw());
    },
    async secureState(dir) {
      await must(run, stateAcl(dir));
    },
    async register() {
      await must(run, [wrapper, 'install']);
      await must(run, ['sc.exe', 'failureflag', l.serviceName, '1']);
      await must(run, ['sc.exe', 'start', l.serviceName]);
    },
    async unregister() {
      await run(['sc.exe', 'stop', l.serviceName]);
      await run([wrapper, 'uninstall']);
    },
    async reload() {},
    async state() {
      const r = await run(['sc.exe', 'query', l.serviceName]);
      if (!r) return 'sc.exe not found';
      return /STATE\s*:\s*\d+\s+(\w+)/.exec(r.stdout)?.[1]?.toLowerCase() ?? (r.exitCode === 1060 ? 'not installed' : `exit ${r.exitCode}`);
    },
  };
}
