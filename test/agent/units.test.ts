// The agent's parts in process: signing at queue time, verification, the journal, the command table, apt parsing, processes.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { deviceActions } from '../../src-main/tools/devices.ts';
import { envelopeFor } from '../../src-main/agentServer/signing.ts';
import { signCommand } from '../../src-main/store/store.ts';
import { LEASE_EXPIRED } from '../../src-main/governance/commandResults.ts';
import { acceptedUntil, CommandVerifier } from '../../src-main/agent/verify.ts';
import { Journal } from '../../src-main/agent/state.ts';
import { parseAptUpgradable } from '../../src-main/agent/patches.ts';
import { AgentConfig, commandTable, expand } from '../../src-main/agent/config.ts';
import { backoffMs } from '../../src-main/agent/run.ts';
import { killOrphan, runProcess } from '../../src-main/agent/exec.ts';
import { spawn } from 'node:child_process';
import { alive, until } from '../helpers/wait.ts';
import { CLOCK_SKEW_MS, COMMAND_VALIDITY_MS, OUTPUT_KEEP } from '../../src-main/agent/protocol.ts';

const DAY = 86_400_000;

const pem = (k: import('node:crypto').KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

/** Pids whose environment carries COUNTERSIGN_COMMAND_ID=id (what killOrphan looks for), without killing anything. */
function carriers(id: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`COUNTERSIGN_COMMAND_ID=${id}`);
    } catch {
      return false;
    }
  });
}

describe('signed commands', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let h: Harness;
  let device: string;
  let other: string;
  beforeAll(async () => {
    h = await createHarness({ signingKey: privateKey });
    device = (h.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`).get() as { id: string }).id;
    other = (h.db.prepare(`SELECT id FROM devices WHERE id != ? LIMIT 1`).get(device) as { id: string }).id;
  });
  const lock = async () => (await h.run(deviceActions, { action: 'lock', deviceIds: [device] }, h.ctx(['acme-dental']))).commands[0]!.commandId;
  const journal = () => new Journal(mkdtempSync(join(tmpdir(), 'cs-journal-')));

  it('a command whose signature row is gone travels unsigned and is refused', async () => {
    const id = await lock();
    h.db.prepare('DELETE FROM command_signatures WHERE command_id = ?').run(id);
    expect(new CommandVerifier(pem(publicKey), device, journal()).check((await envelopeFor(h.store.sql, h.store.vault, id))!)).toMatchObject({ ok: false, code: 'UNSIGNED' });
  });

  it('is signed when queued; verifies for its device; any edit, another device or a replay is refused', async () => {
    const id = await lock();
    const sig = h.db.prepare('SELECT * FROM command_signatures WHERE command_id = ?').get(id) as { device_id: string; approval_id: string | null; nonce: string };
    expect(sig).toMatchObject({ device_id: device, approval_id: null });
    const j = journal();
    const v = new CommandVerifier(pem(publicKey), device, j);
    const env = (await envelopeFor(h.store.sql, h.store.vault, id))!;
    expect(v.check(env)).toEqual({ ok: true });
    expect(v.check({ ...env, payload: { ...env.payload, action: 'reboot' } })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(v.check({ ...env, approvalId: 'f'.repeat(8) })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(v.check({ ...env, deviceId: other })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(new CommandVerifier(pem(publicKey), other, journal()).check(env)).toMatchObject({ ok: false, code: 'WRONG_DEVICE' });
    expect(new CommandVerifier(pem(generateKeyPairSync('ed25519').publicKey), device, journal()).check(env)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    j.start(env.commandId, env.nonce);
    expect(v.check(env)).toMatchObject({ ok: false, code: 'REPLAY' });
    // Any edit of the stored row breaks the signature, even with a fresh journal.
    h.db.prepare(`UPDATE device_commands SET payload_json = '{"action":"reboot","reason":null}' WHERE id = ?`).run(id);
    expect(new CommandVerifier(pem(publicKey), device, journal()).check((await envelopeFor(h.store.sql, h.store.vault, id))!)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('signs the schedule: an edited not_before breaks the signature; a signed future start is refused as EARLY', async () => {
    const id = await lock();
    h.db.prepare(`UPDATE device_commands SET not_before = ? WHERE id = ?`).run(new Date(Date.now() - 60_000).toISOString(), id);
    expect(new CommandVerifier(pem(publicKey), device, journal()).check((await envelopeFor(h.store.sql, h.store.vault, id))!)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    const future = { ...(await envelopeFor(h.store.sql, h.store.vault, id))!, notBefore: new Date(Date.now() + 3_600_000).toISOString() };
    const signed = { ...future, signature: signCommand(privateKey, future) };
    expect(new CommandVerifier(pem(publicKey), device, journal()).check(signed)).toMatchObject({ ok: false, code: 'EARLY' });
  });

  it('a real result arriving after the lease expired replaces the lease failure', async () => {
    const id = await lock();
    const gate = await h.gate();
    h.db.prepare(`UPDATE device_commands SET status = 'running' WHERE id = ?`).run(id);
    expect(await gate.finishCommand(id, device, { status: 'failed', exitCode: null, stdout: '', stderr: `${LEASE_EXPIRED} gone` }, { cause: 'lease_expired' })).toBe(true);
    expect(await gate.finishCommand(id, other, { status: 'completed', exitCode: 0, stdout: 'x', stderr: '' }, { cause: 'result' })).toBe(false);
    expect(await gate.finishCommand(id, device, { status: 'completed', exitCode: 0, stdout: 'late', stderr: '' }, { cause: 'result' })).toBe(true);
    expect(h.db.prepare('SELECT status, stdout FROM device_commands WHERE id = ?').get(id)).toEqual({ status: 'completed', stdout: 'late' });
    expect(await gate.finishCommand(id, device, { status: 'failed', exitCode: 1, stdout: '', stderr: '' }, { cause: 'result' })).toBe(false);
  });

  it('signs the approval id into an approved command', async () => {
    const ctx = h.ctx(['acme-dental'], { approvalId: 'approval-123' });
    const id = (await h.run(deviceActions, { action: 'reboot', deviceIds: [device] }, ctx)).commands[0]!.commandId;
    const env = (await envelopeFor(h.store.sql, h.store.vault, id))!;
    expect(env.approvalId).toBe('approval-123');
    expect(new CommandVerifier(pem(publicKey), device, journal()).check(env)).toEqual({ ok: true });
  });

  it('a signed command is valid for 7 days from its issue or its scheduled start; past that (or not a date) it is refused as EXPIRED', async () => {
    const env = (await envelopeFor(h.store.sql, h.store.vault, await lock()))!;
    const signed = (f: Partial<typeof env>) => {
      const fields = { ...env, ...f };
      return { ...fields, signature: signCommand(privateKey, fields) };
    };
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const v = new CommandVerifier(pem(publicKey), device, journal(), () => now);
    expect(v.check(signed({ issuedAt: ago(COMMAND_VALIDITY_MS + DAY) }))).toEqual({ ok: false, code: 'EXPIRED',
      message: `command ${env.commandId} was valid until ${ago(DAY)} (7 days from its issue or its scheduled start); it is not run` });
    // Inside the clock skew an agent tolerates, it still runs.
    expect(v.check(signed({ issuedAt: ago(COMMAND_VALIDITY_MS + CLOCK_SKEW_MS - 1000) }))).toEqual({ ok: true });
    expect(v.check(signed({ issuedAt: ago(COMMAND_VALIDITY_MS + CLOCK_SKEW_MS + 1000) }))).toMatchObject({ ok: false, code: 'EXPIRED' });
    // A schedule moves the start: issued a month ago for a window six days ago, it is valid; for one eight days ago, not.
    expect(v.check(signed({ issuedAt: ago(30 * DAY), notBefore: ago(6 * DAY) }))).toEqual({ ok: true });
    expect(v.check(signed({ issuedAt: ago(30 * DAY), notBefore: ago(8 * DAY) }))).toMatchObject({ ok: false, code: 'EXPIRED' });
    // Times that are not dates are refused with a reason (the signature is fine; the console never signs such a command).
    expect(v.check(signed({ issuedAt: 'yesterday' }))).toMatchObject({ ok: false, code: 'EXPIRED', message: expect.stringContaining('carries no valid issue time') });
    expect(v.check(signed({ issuedAt: ago(DAY), notBefore: 'soon' }))).toMatchObject({ ok: false, code: 'EXPIRED' });
    // The signature covers the times: an expired command made valid again by editing its issue time is a forgery.
    expect(v.check({ ...signed({ issuedAt: ago(COMMAND_VALIDITY_MS + DAY) }), issuedAt: ago(DAY) })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('the journal forgets acknowledged commands past their validity, and refuses anything that old from then on, whatever the clock says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-journal-'));
    let clock = Date.now();
    const j = new Journal(dir, () => clock);
    const v = new CommandVerifier(pem(publicKey), device, j, () => clock);
    const env = (await envelopeFor(h.store.sql, h.store.vault, await lock()))!;
    expect(v.check(env)).toEqual({ ok: true });
    j.start(env.commandId, env.nonce, acceptedUntil(env));
    j.finish({ commandId: env.commandId, status: 'completed', exitCode: 0, stdout: '', stderr: '', durationMs: 1 });
    // Finished but unacknowledged: its result is still owed, so it stays however old it gets.
    j.start('unacked', 'u'.repeat(16), acceptedUntil(env));
    j.finish({ commandId: 'unacked', status: 'completed', exitCode: 0, stdout: '', stderr: '', durationMs: 1 });
    j.start('legacy', 'l'.repeat(16));
    j.finish({ commandId: 'legacy', status: 'completed', exitCode: 0, stdout: '', stderr: '', durationMs: 1 });
    j.ack('legacy');
    j.ack(env.commandId);
    expect(v.check(env)).toMatchObject({ ok: false, code: 'REPLAY' });
    expect(j.forgottenBefore).toBe(0);
    // Past its validity, the next acknowledgement forgets it; the file keeps how far back it forgot.
    clock = acceptedUntil(env) + 1;
    j.start('next', 'x'.repeat(16), clock + COMMAND_VALIDITY_MS);
    j.finish({ commandId: 'next', status: 'completed', exitCode: 0, stdout: '', stderr: '', durationMs: 1 });
    j.ack('next');
    expect(j.seen(env.commandId, env.nonce)).toBe(false);
    expect(j.forgottenBefore).toBe(acceptedUntil(env));
    expect(v.check(env)).toMatchObject({ ok: false, code: 'EXPIRED' });
    // The clock set back to when it was valid (a dead CMOS battery, a forged NTP answer): still refused.
    clock = Date.now();
    const reopened = new Journal(dir, () => clock);
    expect(reopened.seen(env.commandId, env.nonce)).toBe(false);
    expect(new CommandVerifier(pem(publicKey), device, reopened, () => clock).check(env)).toEqual({ ok: false, code: 'EXPIRED',
      message: `command ${env.commandId} is older than the commands this agent still remembers (valid until ${new Date(acceptedUntil(env)).toISOString()}); it is not run` });
    // What is owed or predates validity stays: the unacknowledged result, the entry without a validity, the new one.
    expect(reopened.outbox().map((r) => r.commandId)).toEqual(['unacked']);
    expect(reopened.seen('legacy', 'l'.repeat(16))).toBe(true);
    expect(reopened.seen('next', 'x'.repeat(16))).toBe(true);
    expect(reopened.size).toBe(3);
  });

  it('the journal stays the size of the validity window: 200 commands six hours apart leave a week of them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-journal-'));
    let clock = Date.parse('2026-01-01T00:00:00.000Z');
    const j = new Journal(dir, () => clock);
    const every = 6 * 3_600_000;
    for (let i = 0; i < 200; i++) {
      clock += every;
      const id = `c${i}`;
      j.start(id, `nonce-${i}`.padEnd(16, '-'), clock + COMMAND_VALIDITY_MS + CLOCK_SKEW_MS);
      j.finish({ commandId: id, status: 'completed', exitCode: 0, stdout: 'ok', stderr: '', durationMs: 1 });
      j.ack(id);
    }
    // Issued as they ran: those acknowledged within the last 7 days and 5 minutes are kept (28 or 29), no more.
    const window = Math.floor((COMMAND_VALIDITY_MS + CLOCK_SKEW_MS) / every);
    expect(j.size).toBeGreaterThanOrEqual(window);
    expect(j.size).toBeLessThanOrEqual(window + 1);
    expect(j.seen('c199', 'nonce-199'.padEnd(16, '-'))).toBe(true);
    expect(j.seen('c150', 'nonce-150'.padEnd(16, '-'))).toBe(false);
    expect(statSync(join(dir, 'journal.json')).size).toBeLessThan(8 * 1024);
  });

  it('the journal keeps unacknowledged results and reports interrupted commands', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-journal-'));
    const j = new Journal(dir);
    j.start('c1', 'n'.repeat(16));
    j.start('c2', 'm'.repeat(16));
    j.finish({ commandId: 'c2', status: 'completed', exitCode: 0, stdout: 'x', stderr: '', durationMs: 1 });
    const again = new Journal(dir);
    expect(again.interrupted().map((i) => i.commandId)).toEqual(['c1']);
    expect(again.outbox().map((r) => r.commandId)).toEqual(['c2']);
    again.ack('c2');
    expect(new Journal(dir).outbox()).toEqual([]);
    expect(new Journal(dir).seen('other', 'm'.repeat(16))).toBe(true);
  });
});

describe('apt', () => {
  it('parses apt list --upgradable with severities from the origin', () => {
    const text = `Listing...
openssl/oldstable-security 3.0.17-1~deb12u3 amd64 [upgradable from: 3.0.16-1~deb12u1]
krb5-locales/oldstable,oldstable-security 1.20.1-2+deb12u5 all [upgradable from: 1.20.1-2+deb12u3]
bash/oldstable 5.2.15-2+b13 amd64 [upgradable from: 5.2.15-2+b8]
linux-image-amd64/stable-security 6.1.140-1 amd64 [upgradable from: 6.1.129-1]
WARNING: apt does not have a stable CLI interface.`;
    expect(parseAptUpgradable(text)).toEqual([
      { externalId: 'openssl=3.0.17-1~deb12u3', title: 'openssl 3.0.16-1~deb12u1 → 3.0.17-1~deb12u3 (amd64, oldstable-security)', severity: 'critical', requiresReboot: false },
      { externalId: 'krb5-locales=1.20.1-2+deb12u5', title: 'krb5-locales 1.20.1-2+deb12u3 → 1.20.1-2+deb12u5 (all, oldstable,oldstable-security)', severity: 'important', requiresReboot: false },
      { externalId: 'bash=5.2.15-2+b13', title: 'bash 5.2.15-2+b8 → 5.2.15-2+b13 (amd64, oldstable)', severity: 'low', requiresReboot: false },
      { externalId: 'linux-image-amd64=6.1.140-1', title: 'linux-image-amd64 6.1.129-1 → 6.1.140-1 (amd64, stable-security)', severity: 'critical', requiresReboot: true },
    ]);
  });
});

describe('command table', () => {
  it('overrides per entry, expands {packages} into separate arguments and refuses an unsafe console host', () => {
    const config = AgentConfig.parse({ actions: { reboot: ['echo', 'r'] }, patchInstall: ['echo', '{packages}', 'done'] });
    const t = commandTable('linux', config);
    expect(t.actions.reboot).toEqual(['echo', 'r']);
    expect(t.actions.shutdown).toEqual(['systemctl', 'poweroff']);
    expect(expand(t.patchInstall!, { consoleHost: '10.0.0.5', packages: ['a=1', 'b=2'] })).toEqual(['echo', 'a=1', 'b=2', 'done']);
    expect(expand(['x', 'keep {consoleHost}'], { consoleHost: 'console.example' })).toEqual(['x', 'keep console.example']);
    expect(() => expand(['x'], { consoleHost: '1.2.3.4; rm -rf /' })).toThrow(/unsafe/);
    expect(AgentConfig.safeParse({ actions: { wipe: ['true'] } }).success).toBe(false);
    expect(AgentConfig.safeParse({ surprise: 1 }).success).toBe(false);
  });

  it('backs off exponentially with full jitter, capped', () => {
    for (let i = 0; i < 200; i++) {
      expect(backoffMs(0, 60_000)).toBeLessThanOrEqual(500);
      expect(backoffMs(3, 60_000)).toBeLessThanOrEqual(4000);
      expect(backoffMs(50, 60_000)).toBeLessThanOrEqual(60_000);
    }
  });
});

describe('processes', () => {
  it('keeps exit codes, caps output and kills the process group at the time limit', async () => {
    expect(await runProcess({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 4'], timeoutMs: 5000 })).toMatchObject({ status: 'failed', exitCode: 4, stdout: 'out\n', stderr: 'err\n' });
    const big = await runProcess({ argv: ['sh', '-c', `head -c ${OUTPUT_KEEP + 5000} /dev/zero | tr '\\0' a`], timeoutMs: 5000 });
    expect(big.status).toBe('completed');
    expect(big.stdout.length).toBeLessThan(OUTPUT_KEEP + 100);
    expect(big.stdout).toMatch(/\[… 5000 more bytes not kept\]$/);
    const slow = await runProcess({ argv: ['sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 300 });
    expect(slow).toMatchObject({ status: 'timed_out', exitCode: null });
    // The whole group went at the limit: had the background sleep survived, its open stdout would have held the run to 30 s.
    expect(slow.durationMs).toBeLessThan(30_000);
    expect(await runProcess({ argv: ['/nonexistent/binary'], timeoutMs: 1000 })).toMatchObject({ status: 'failed', exitCode: 127 });
  });

  it('finds and stops a dead agent\'s leftover processes by command id, even with no pid recorded', async () => {
    const commandId = `orphan-${process.pid}-${Date.now()}`;
    // A script that forks a child, as a real one might; both carry the command id in their environment.
    const child = spawn('sh', ['-c', 'sleep 60 & sleep 60'], { env: { ...process.env, COUNTERSIGN_COMMAND_ID: commandId }, detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await until('the script and its child to carry the command id', () => carriers(commandId).length >= 2);
    expect(alive(child.pid!)).toBe(true);
    expect(killOrphan(undefined, `not-${commandId}`)).toBe(false);
    expect(alive(child.pid!)).toBe(true);
    expect(killOrphan(undefined, commandId)).toBe(true);
    await exited;
    // Nothing of it is left: no process carries the id any more (once the killed ones are gone from /proc).
    await until('no process left carrying the command id', () => carriers(commandId).length === 0);
    expect(killOrphan(undefined, commandId)).toBe(false);
  });
});
