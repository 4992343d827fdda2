// Self-upgrade of the agent executable: download over the pinned channel, check the SHA-256 the console signed, let the new
// build prove it starts and reaches the console (self-test), swap atomically keeping the old one, and exit for the service
// manager to restart. The new process reports the command once the console has welcomed it; if it never is, it puts the old
// executable back and exits again (rollback), and the old one reports the failure.
import { createHash } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, linkSync, readFileSync, renameSync, rmSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { z } from 'zod';
import { runProcess, type RunOutcome } from './exec.ts';
import { AGENT_VERSION, AgentUpgradePayload, DOWNLOAD_PATH } from './protocol.ts';
import { writeSecretFile, type Identity } from './state.ts';
import { pinnedTlsOptions } from './tls.ts';

export const RESTART_EXIT_CODE = 75;

const Marker = z.object({
  commandId: z.string().max(64), from: z.string().max(50), to: z.string().max(50), previous: z.string().max(4096), self: z.string().max(4096),
  state: z.enum(['applied', 'rolled_back']), reason: z.string().max(1000).optional(), at: z.string().max(40),
});
export type UpgradeMarker = z.infer<typeof Marker>;
const markerPath = (stateDir: string) => join(stateDir, 'upgrade.json');

export function readMarker(stateDir: string): UpgradeMarker | null {
  try {
    return existsSync(markerPath(stateDir)) ? Marker.parse(JSON.parse(readFileSync(markerPath(stateDir), 'utf8'))) : null;
  } catch {
    return null;
  }
}
export const clearMarker = (stateDir: string) => rmSync(markerPath(stateDir), { force: true });
const writeMarker = (stateDir: string, m: UpgradeMarker) => writeSecretFile(markerPath(stateDir), JSON.stringify(m));

export interface UpgradeContext {
  stateDir: string;
  identity: Identity;
  /** The running executable; null when the agent runs from source and cannot replace itself. */
  self: string | null;
  signal: AbortSignal;
  onSpawn: (pid: number) => void;
}

export type UpgradeOutcome = RunOutcome & { restart?: boolean };
const fail = (stderr: string, started: number): UpgradeOutcome => ({ status: 'failed', exitCode: null, stdout: '', stderr, durationMs: performance.now() - started });

class Busy extends Error {
  readonly waitMs: number;
  constructor(message: string, waitMs: number) {
    super(message);
    this.waitMs = waitMs;
  }
}

/** Streams the build to `file`, hashing as it goes and never keeping more than the signed size. */
function downloadOnce(url: string, file: string, maxBytes: number, id: Identity, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${id.agentId}.${id.secret}` };
    const req = https.get(url, { ...pinnedTlsOptions(id.certPem, id.certSha256), headers, signal, timeout: 60_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const wait = Math.min(Math.max(Number(res.headers['retry-after']) || 5, 1), 60) * 1000;
        const why = `the console answered ${res.statusCode} for ${url}`;
        return reject(res.statusCode === 429 || res.statusCode === 503 ? new Busy(why, wait) : new Error(why));
      }
      const hash = createHash('sha256');
      const out = createWriteStream(file, { mode: 0o700 });
      let n = 0;
      res.on('data', (b: Buffer) => {
        n += b.length;
        if (n > maxBytes) return res.destroy(new Error(`the download is larger than the signed ${maxBytes} bytes`));
        hash.update(b);
      });
      let failed: Error | null = null;
      res.pipe(out);
      res.on('error', (e) => {
        failed = e;
        out.destroy();
      });
      res.on('aborted', () => (failed ??= new Error('the console closed the download early')));
      out.on('error', (e) => (failed ??= e));
      // 'close', not 'finish': the file must be closed before it is executed (else ETXTBSY).
      out.on('close', () => (failed ? reject(failed) : resolve(hash.digest('hex'))));
    });
    req.on('timeout', () => req.destroy(new Error('the download stalled for 60 s')));
    req.on('error', reject);
  });
}

/** A busy console (429, 503: many agents upgrading at once) is asked again, as it says when; anything else fails at once. */
async function download(url: string, file: string, maxBytes: number, id: Identity, signal: AbortSignal): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(url, file, maxBytes, id, signal);
    } catch (e) {
      if (!(e instanceof Busy) || attempt >= 6 || signal.aborted) throw e;
      await new Promise((r) => setTimeout(r, e.waitMs * (0.5 + Math.random())));
    }
  }
}

/** Runs a verified upgrade command. `restart: true` means the new build is in place and this process must exit. */
export async function applyUpgrade(commandId: string, payload: unknown, x: UpgradeContext): Promise<UpgradeOutcome> {
  const started = performance.now();
  const p = AgentUpgradePayload.safeParse(payload);
  if (!p.success) return fail(`upgrade payload invalid: ${p.error.issues[0]?.message}`, started);
  const u = p.data;
  if (!x.self) return fail('this agent runs from source, not as a built executable: it cannot replace itself (upgrade it with git and npm ci)', started);
  if (u.version === AGENT_VERSION) return { status: 'completed', exitCode: 0, stdout: `already at ${u.version}\n`, stderr: '', durationMs: performance.now() - started };
  const incoming = `${x.self}.download-${commandId.slice(0, 8)}`;
  try {
    const url = new URL(`${DOWNLOAD_PATH}/${u.target}/${u.version}`, x.identity.url).href;
    const got = await download(url, incoming, u.size, x.identity, x.signal);
    if (got !== u.sha256) return fail(`refused: the downloaded build has SHA-256 ${got}, the console signed ${u.sha256}; nothing was changed, ${AGENT_VERSION} keeps running`, started);
    chmodSync(incoming, 0o755);
    const test = await runProcess({ argv: [incoming, 'self-test', '--state-dir', x.stateDir, '--expect-version', u.version], timeoutMs: 60_000, onSpawn: x.onSpawn, signal: x.signal });
    if (test.exitCode !== 0) return fail(`refused: the new build failed its self-test (exit ${test.exitCode}): ${(test.stderr || test.stdout).trim().slice(0, 500)}; ${AGENT_VERSION} keeps running`, started);
    const previous = `${x.self}.previous`;
    rmSync(previous, { force: true });
    if (process.platform === 'win32') {
      // A running .exe can be renamed but not replaced.
      renameSync(x.self, previous);
      try {
        renameSync(incoming, x.self);
      } catch (e) {
        renameSync(previous, x.self);
        throw e;
      }
    } else {
      linkSync(x.self, previous);
      renameSync(incoming, x.self); // atomic: the service starts either the old or the new build, never neither
    }
    writeMarker(x.stateDir, { commandId, from: AGENT_VERSION, to: u.version, previous, self: x.self, state: 'applied', at: new Date().toISOString() });
    return { status: 'completed', exitCode: 0, stdout: `${AGENT_VERSION} → ${u.version} in place; restarting\n`, stderr: '', durationMs: performance.now() - started, restart: true };
  } catch (e) {
    return fail(`upgrade failed: ${(e as Error).message}; ${AGENT_VERSION} keeps running`, started);
  } finally {
    rmSync(incoming, { force: true });
  }
}

/** After a restart: the new build never reached the console, so the old one goes back (it reports the failure when it starts). */
export function rollBack(stateDir: string, m: UpgradeMarker, reason: string): void {
  if (process.platform === 'win32') {
    rmSync(`${m.self}.failed`, { force: true });
    renameSync(m.self, `${m.self}.failed`);
  }
  renameSync(m.previous, m.self);
  writeMarker(stateDir, { ...m, state: 'rolled_back', reason });
}

/** The upgrade outcome a freshly started agent has to report, if any (called before it connects). */
export function upgradeOnStart(stateDir: string): { marker: UpgradeMarker; verdict: 'confirm_on_welcome' | 'failed'; message: string } | null {
  const m = readMarker(stateDir);
  if (!m) return null;
  if (m.state === 'rolled_back') return { marker: m, verdict: 'failed', message: `rolled back to ${AGENT_VERSION}: ${m.reason ?? 'the new build did not come up'}` };
  if (m.to !== AGENT_VERSION) return { marker: m, verdict: 'failed', message: `the upgrade to ${m.to} did not take: the agent restarted as ${AGENT_VERSION}` };
  return { marker: m, verdict: 'confirm_on_welcome', message: `upgraded from ${m.from} to ${m.to}` };
}
