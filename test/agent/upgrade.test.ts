// The agent's self-upgrade on real files against the real agent listener, with shell scripts standing in for builds (the
// real executable is upgraded end to end in executable.test.ts): hash, size and self-test refusals change nothing; a good
// build is swapped in atomically with the old one kept; a build the console never welcomes is rolled back and reported.
import { createHash, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { startAgentListener, type RunningAgentListener } from '../../src-main/agentServer/listener.ts';
import { loadAgentCert } from '../../src-main/agentServer/cert.ts';
import { EnrollmentTokens } from '../../src-main/agentServer/tokens.ts';
import { enrollAgent } from '../../src-main/agent/enroll.ts';
import { buildsDir } from '../../src-main/agentBuild/manifest.ts';
import { applyUpgrade, readMarker, rollBack, upgradeOnStart } from '../../src-main/agent/upgrade.ts';
import { Agent } from '../../src-main/agent/run.ts';
import { AgentConfig } from '../../src-main/agent/config.ts';
import { AGENT_VERSION } from '../../src-main/agent/protocol.ts';
import { ensureStateDir, identityPath, Journal, writeSecretFile, type Identity } from '../../src-main/agent/state.ts';
import { initTestDir } from '../helpers/server.ts';
import { budget } from '../helpers/wait.ts';

let app: App;
let listener: RunningAgentListener;
let identity: Identity;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Publishes a "build": a shell script whose self-test exits with `selfTest`. */
function publish(version: string, selfTest: number): { sha256: string; size: number } {
  const body = `#!/bin/sh\n# stand-in agent ${version}\n[ "$1" = self-test ] && exit ${selfTest}\necho ${version}\n`;
  const dir = join(buildsDir(app.dataDir), version);
  mkdirSync(join(dir, 'linux-x64'), { recursive: true });
  writeFileSync(join(dir, 'linux-x64', 'countersign-agent'), body);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version, targets: { 'linux-x64': {
    target: 'linux-x64', file: 'linux-x64/countersign-agent', sha256: sha(body), size: body.length, runtime: 'stand-in', signed: false, builtAt: new Date().toISOString(),
  } } }));
  return { sha256: sha(body), size: body.length };
}

const made: string[] = [];
function machine() {
  const dir = mkdtempSync(join(tmpdir(), 'cs-upgrade-'));
  made.push(dir);
  const self = join(dir, 'countersign-agent');
  writeFileSync(self, '#!/bin/sh\necho old build\n');
  chmodSync(self, 0o755);
  const stateDir = join(dir, 'state');
  ensureStateDir(stateDir);
  writeSecretFile(identityPath(stateDir), JSON.stringify(identity));
  return { dir, self, stateDir };
}

const upgrade = (m: ReturnType<typeof machine>, payload: Record<string, unknown>, self: string | null = m.self) =>
  applyUpgrade(randomUUID(), { action: 'upgrade_agent', target: 'linux-x64', reason: null, ...payload }, {
    stateDir: m.stateDir, identity, self, signal: new AbortController().signal, onSpawn: () => {},
  });
const leftovers = (m: ReturnType<typeof machine>) => readdirSync(m.dir).filter((f) => f !== 'state' && f !== 'countersign-agent');

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  listener = await startAgentListener(app);
  const cert = loadAgentCert(app.dataDir)!;
  // A really enrolled agent: downloads carry its credentials.
  const { token } = await new EnrollmentTokens(app.store, app.secrets.hmacKey).create({ tenant: 'acme-dental' }, cert.sha256);
  const idDir = mkdtempSync(join(tmpdir(), 'cs-upgrade-id-'));
  made.push(idDir);
  identity = await enrollAgent({ url: listener.url, token, stateDir: join(idDir, 'state'), hostname: 'upgrade-test' });
});
afterAll(async () => {
  await listener?.close();
  app?.close();
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('applyUpgrade', () => {
  it('a good build is swapped in atomically, the old one kept as .previous, and a marker left for the next start', async () => {
    const m = machine();
    const b = publish('7.0.0', 0);
    const r = await upgrade(m, { version: '7.0.0', ...b });
    expect(r).toMatchObject({ status: 'completed', restart: true });
    expect(readFileSync(m.self, 'utf8')).toContain('stand-in agent 7.0.0');
    expect(readFileSync(`${m.self}.previous`, 'utf8')).toBe('#!/bin/sh\necho old build\n');
    expect(readMarker(m.stateDir)).toMatchObject({ from: AGENT_VERSION, to: '7.0.0', state: 'applied', previous: `${m.self}.previous` });
    expect(leftovers(m)).toEqual(['countersign-agent.previous']);
  });

  it.each([
    ['a download whose SHA-256 differs from the signed one', () => ({ ...publish('7.1.0', 0), version: '7.1.0', sha256: 'f'.repeat(64) }), /refused: the downloaded build has SHA-256 [0-9a-f]{64}, the console signed f{64}; nothing was changed/],
    ['a download larger than the signed size', () => ({ ...publish('7.2.0', 0), version: '7.2.0', size: 10 }), /larger than the signed 10 bytes/],
    ['a build that fails its self-test', () => ({ ...publish('7.3.0', 3), version: '7.3.0' }), /failed its self-test \(exit 3\)/],
    ['a version the console does not have', () => ({ version: '9.9.9', sha256: 'a'.repeat(64), size: 100 }), /the console answered 404/],
  ])('%s is refused and nothing changes', async (_what, payload, message) => {
    const m = machine();
    const r = await upgrade(m, payload());
    expect(r.status).toBe('failed');
    expect(r.stderr).toMatch(message);
    expect(r.restart).toBeUndefined();
    expect(readFileSync(m.self, 'utf8')).toBe('#!/bin/sh\necho old build\n');
    expect(readMarker(m.stateDir)).toBeNull();
    expect(leftovers(m)).toEqual([]);
  });

  it('an agent run from source cannot replace itself, and says so', async () => {
    const m = machine();
    const r = await upgrade(m, { version: '7.0.0', ...publish('7.0.0', 0) }, null);
    expect(r.stderr).toMatch(/runs from source/);
  });

  it('a malformed payload is refused before anything is downloaded', async () => {
    const m = machine();
    expect((await upgrade(m, { version: '../../x', sha256: 'a'.repeat(64), size: 1 })).stderr).toMatch(/upgrade payload invalid/);
  });
});

describe('after the restart', () => {
  it('the new build confirms on welcome; a mismatching version or a rollback is reported failed', () => {
    const m = machine();
    const base = { commandId: 'c1', from: '0.0.9', previous: `${m.self}.previous`, self: m.self, at: new Date().toISOString() };
    writeSecretFile(join(m.stateDir, 'upgrade.json'), JSON.stringify({ ...base, to: AGENT_VERSION, state: 'applied' }));
    expect(upgradeOnStart(m.stateDir)).toMatchObject({ verdict: 'confirm_on_welcome', message: `upgraded from 0.0.9 to ${AGENT_VERSION}` });
    writeSecretFile(join(m.stateDir, 'upgrade.json'), JSON.stringify({ ...base, to: '9.0.0', state: 'applied' }));
    expect(upgradeOnStart(m.stateDir)).toMatchObject({ verdict: 'failed', message: `the upgrade to 9.0.0 did not take: the agent restarted as ${AGENT_VERSION}` });
    writeFileSync(join(m.stateDir, 'upgrade.json'), '{not json');
    expect(upgradeOnStart(m.stateDir)).toBeNull();
  });

  it('a new build the console never welcomes puts the old one back, exits for a restart, and the old one reports the failure', async () => {
    const m = machine();
    // The state an upgrade leaves: the new build (this source tree's version) in place, the old kept, the command started.
    writeFileSync(`${m.self}.previous`, '#!/bin/sh\necho old build\n');
    writeFileSync(m.self, '#!/bin/sh\necho new build\n');
    const commandId = randomUUID();
    new Journal(m.stateDir).start(commandId, 'nonce-of-the-upgrade-0001');
    writeSecretFile(join(m.stateDir, 'upgrade.json'), JSON.stringify({ commandId, from: '0.0.9', to: AGENT_VERSION, previous: `${m.self}.previous`, self: m.self, state: 'applied', at: new Date().toISOString() }));
    // The console is unreachable for this identity (port 9 discards): it is never welcomed.
    const dead = { ...identity, url: 'https://127.0.0.1:9' };
    writeSecretFile(identityPath(m.stateDir), JSON.stringify(dead));
    const logs: string[] = [];
    const config = AgentConfig.parse({ upgradeHealthSeconds: 5, maxBackoffSeconds: 1, patchScan: false });
    const end = await new Agent({ stateDir: m.stateDir, config, log: (l) => logs.push(l), signal: new AbortController().signal, self: m.self }).run();
    expect(end).toBe('restart');
    expect(readFileSync(m.self, 'utf8')).toBe('#!/bin/sh\necho old build\n');
    expect(readMarker(m.stateDir)).toMatchObject({ state: 'rolled_back', reason: `${AGENT_VERSION} was not welcomed by the console within 5 s` });
    expect(new Journal(m.stateDir).interrupted().map((i) => i.commandId)).toEqual([commandId]); // not reported yet: the old build does that
    // The old build starts (the same source stands in for it): it reports the command failed and clears the marker.
    const stop = new AbortController();
    const old = new Agent({ stateDir: m.stateDir, config, log: (l) => logs.push(l), signal: stop.signal, self: m.self });
    const run = old.run();
    stop.abort();
    expect(await run).toBe('stopped');
    const [result] = new Journal(m.stateDir).outbox();
    expect(result).toMatchObject({ commandId, status: 'failed' });
    expect(result!.stderr).toMatch(new RegExp(`rolled back to ${AGENT_VERSION.replaceAll('.', '\\.')}: ${AGENT_VERSION.replaceAll('.', '\\.')} was not welcomed`));
    expect(existsSync(join(m.stateDir, 'upgrade.json'))).toBe(false);
  }, budget(30_000));

  it('rollBack restores the kept build over the new one', () => {
    const m = machine();
    writeFileSync(`${m.self}.previous`, 'old');
    writeFileSync(m.self, 'new');
    rollBack(m.stateDir, { commandId: 'c', from: '1.0.0', to: '2.0.0', previous: `${m.self}.previous`, self: m.self, state: 'applied', at: 'x' }, 'because');
    expect(readFileSync(m.self, 'utf8')).toBe('old');
    expect(existsSync(`${m.self}.previous`)).toBe(false);
  });
});
