// Trust: agents run only what the console signed, for them, once. Injection is by writing to the database, as an attacker could.
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { WebSocket } from 'ws';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import type { ConsoleClient } from '../helpers/console.ts';
import { COMMAND_VALIDITY_MS, signingBytes } from '../../src-main/agent/protocol.ts';
import { loadSecrets } from '../../src-main/store/secrets.ts';
import { AgentProc, ConsoleProc, approved, call, executionOf, finished, until, startTwoAgents, stopTwoAgents } from './harness.ts';

let con: ConsoleProc;
let a: AgentProc;
let b: AgentProc;
let client: Client;
let tech: ConsoleClient;

beforeAll(async () => {
  ({ con, a, b, client, tech } = await startTwoAgents(['trust-a', 'trust-b']));
}, budget(60_000));

afterAll(() => stopTwoAgents({ con, a, b }));

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const scriptPayload = (body: string) => ({ scriptId: null, name: 'ad-hoc', language: 'bash', body, sha256: sha(body), parameters: {}, timeoutSeconds: 30 });
const row = (id: string) => con.db.prepare('SELECT status, stdout, stderr, exit_code FROM device_commands WHERE id = ?').get(id) as { status: string; stdout: string | null; stderr: string | null };
const ended = (id: string) => until(`command ${id} to end`, () => !['queued', 'running'].includes(row(id).status) && row(id));
const refusalAudited = (id: string, code: string) =>
  con.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'execution' AND decision = 'rejected' AND code = ? AND detail_json LIKE ?`).get(`COMMAND_REFUSED_${code}`, `%${id}%`) as { n: number };

/** Inserts a command straight into the store, optionally with a signature row (issued now, unless `times` says otherwise). */
function inject(deviceId: string, payload: object, signature?: (fields: Parameters<typeof signingBytes>[0]) => string, times?: { issuedAt: string; notBefore: string | null }): string {
  const { tenant_id } = con.db.prepare('SELECT tenant_id FROM devices WHERE id = ?').get(deviceId) as { tenant_id: string };
  const exec = randomUUID();
  const id = randomUUID();
  const now = new Date().toISOString();
  const issuedAt = times?.issuedAt ?? now;
  const notBefore = times?.notBefore ?? null;
  con.db.transaction(() => {
    con.db.prepare(`INSERT INTO executions (id, tenant_id, kind, tool, summary, detail_json, created_at) VALUES (?, ?, 'script', 'run_script', 'injected', '{}', ?)`).run(exec, tenant_id, issuedAt);
    con.db.prepare(`INSERT INTO device_commands (id, execution_id, tenant_id, device_id, kind, payload_json, status, not_before, created_at) VALUES (?, ?, ?, ?, 'script', ?, 'queued', ?, ?)`)
      .run(id, exec, tenant_id, deviceId, JSON.stringify(payload), notBefore, issuedAt);
    if (signature) {
      const fields = { commandId: id, deviceId, approvalId: null, kind: 'script' as const, payload: payload as Record<string, unknown>, issuedAt, nonce: randomUUID(), notBefore };
      con.db.prepare('INSERT INTO command_signatures (command_id, device_id, approval_id, kind, issued_at, nonce, signature) VALUES (?, ?, NULL, ?, ?, ?, ?)')
        .run(id, deviceId, 'script', issuedAt, fields.nonce, signature(fields));
    }
  })();
  return id;
}
/** Signs as the console itself does, with the install's own key. */
const consoleSigned = (f: Parameters<typeof signingBytes>[0]) => sign(null, signingBytes(f), loadSecrets(con.dir).signingKey).toString('base64');
const DAY = 86_400_000;

describe('agents refuse what the console did not sign for them', () => {
  it('an unsigned command inserted into the database is refused, reported and audited; nothing runs', async () => {
    const marker = join(con.root, 'unsigned-ran');
    const id = inject(a.deviceId, scriptPayload(`touch ${marker}\n`));
    const r = await ended(id);
    expect(r.status).toBe('failed');
    expect(r.stderr).toMatch(/^refused by the agent \(UNSIGNED\)/);
    expect(existsSync(marker)).toBe(false);
    expect(refusalAudited(id, 'UNSIGNED').n).toBe(1);
  });

  it('a queued command past its validity is never sent: the console fails it (COMMAND_EXPIRED), audited', async () => {
    const marker = join(con.root, 'expired-ran');
    const issuedAt = new Date(Date.now() - COMMAND_VALIDITY_MS - DAY).toISOString();
    const id = inject(a.deviceId, scriptPayload(`touch ${marker}\n`), consoleSigned, { issuedAt, notBefore: null });
    const r = await ended(id);
    expect(r.status).toBe('failed');
    expect(r.stderr).toBe(`expired: not sent, the device's agent did not take it within 7 days of its issue or its scheduled start (issued ${issuedAt}); it will not run`);
    expect(existsSync(marker)).toBe(false);
    const audited = con.db.prepare(`SELECT decision, code, rule FROM audit_log WHERE event = 'execution' AND detail_json LIKE ?`).all(`%${id}%`);
    expect(audited).toEqual([{ decision: 'failed', code: 'COMMAND_EXPIRED', rule: 'agent_expired' }]);
    // Never sent: no dispatch, and the connected agent never heard of it.
    expect(a.out!.text).not.toContain(id);
  });

  it('an approved command for a device offline past the validity fails with its approval, and does not run when the device returns', async () => {
    await a.stop();
    await until('a offline', async () => (await call<any>(client, 'get_device_details', { deviceId: a.deviceId })).device.status === 'offline');
    const marker = join(con.root, 'offline-expired-ran');
    const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body: `touch ${marker}\n`, deviceIds: [a.deviceId], timeoutSeconds: 30 });
    const executionId = await executionOf(client, approvalId);
    // The week passing: the queued command's issue time moved back (the sweep reads it; the agent would find the
    // signature broken, but is never sent the command).
    const moved = con.db.prepare(`UPDATE command_signatures SET issued_at = ? WHERE command_id IN (SELECT id FROM device_commands WHERE execution_id = ?)`)
      .run(new Date(Date.now() - COMMAND_VALIDITY_MS - 60_000).toISOString(), executionId);
    expect(moved.changes).toBe(1);
    const r = await finished(client, executionId);
    expect(r.commands[0].status).toBe('failed');
    expect(r.commands[0].stderr).toMatch(/^expired: not sent/);
    await until('approval failed', async () => (await call<any>(client, 'get_approval_status', { approvalId })).status === 'failed');
    await a.start();
    expect(existsSync(marker)).toBe(false);
    expect(a.out!.text).not.toContain(r.commands[0].commandId);
  });

  it('a scheduled command is valid from its scheduled start, however long before it was issued: it runs', async () => {
    const marker = join(con.root, 'scheduled-ran');
    const id = inject(a.deviceId, scriptPayload(`touch ${marker}\n`), consoleSigned,
      { issuedAt: new Date(Date.now() - COMMAND_VALIDITY_MS - 3 * DAY).toISOString(), notBefore: new Date(Date.now() - 60_000).toISOString() });
    const r = await ended(id);
    expect(r.status).toBe('completed');
    expect(existsSync(marker)).toBe(true);
  });

  it('a command signed with another key (forged) is refused as BAD_SIGNATURE', async () => {
    const marker = join(con.root, 'forged-ran');
    const { privateKey } = generateKeyPairSync('ed25519');
    const id = inject(a.deviceId, scriptPayload(`touch ${marker}\n`), (f) => sign(null, signingBytes(f), privateKey).toString('base64'));
    expect((await ended(id)).stderr).toMatch(/^refused by the agent \(BAD_SIGNATURE\)/);
    expect(existsSync(marker)).toBe(false);
    expect(refusalAudited(id, 'BAD_SIGNATURE').n).toBe(1);
  });

  it('editing an approved, queued command in the database breaks its signature: the agent refuses it and the approval fails', async () => {
    await a.stop();
    await until('a offline', async () => (await call<any>(client, 'get_device_details', { deviceId: a.deviceId })).device.status === 'offline');
    const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body: 'echo approved\n', deviceIds: [a.deviceId], timeoutSeconds: 30 });
    const executionId = await executionOf(client, approvalId);
    const marker = join(con.root, 'edited-ran');
    // A careful attacker also fixes the body's hash.
    const edited = con.db.prepare(`UPDATE device_commands SET payload_json = json_set(json_set(payload_json, '$.body', ?), '$.sha256', ?) WHERE execution_id = ?`)
      .run(`touch ${marker}\n`, sha(`touch ${marker}\n`), executionId);
    expect(edited.changes).toBe(1);
    await a.start();
    const r = await finished(client, executionId);
    expect(r.commands[0].status).toBe('failed');
    expect(r.commands[0].stderr).toMatch(/BAD_SIGNATURE/);
    expect(existsSync(marker)).toBe(false);
    await until('approval failed', async () => (await call<any>(client, 'get_approval_status', { approvalId })).status === 'failed');
  });

  it('a signed command moved to another device in the database is refused as WRONG_DEVICE', async () => {
    await a.stop();
    const lock = await call<{ executionId: string; commands: { commandId: string }[] }>(client, 'device_actions', { action: 'lock', deviceIds: [a.deviceId] });
    const id = lock.commands[0]!.commandId;
    expect(row(id).status).toBe('queued');
    con.db.prepare('UPDATE device_commands SET device_id = ? WHERE id = ?').run(b.deviceId, id);
    const r = await ended(id);
    expect(r.stderr).toMatch(/^refused by the agent \(WRONG_DEVICE\)/);
    expect(r.stdout).toBe('');
    expect(refusalAudited(id, 'WRONG_DEVICE').n).toBe(1);
    await a.start();
  });

  it('a completed command put back in the queue is refused as a REPLAY, also after the agent restarts; it ran once', async () => {
    const marks = join(con.root, 'replay-marks');
    const approvalId = await approved(client, tech, 'run_script', { language: 'bash', body: `echo run >> ${marks}\n`, deviceIds: [b.deviceId], timeoutSeconds: 30 });
    const r = await finished(client, await executionOf(client, approvalId));
    const id = r.commands[0].commandId as string;
    expect(r.commands[0].status).toBe('completed');
    const requeue = () => con.db.prepare(`UPDATE device_commands SET status = 'queued', finished_at = NULL, exit_code = NULL, stdout = NULL, stderr = NULL WHERE id = ?`).run(id);
    requeue();
    expect((await ended(id)).stderr).toMatch(/^refused by the agent \(REPLAY\)/);
    await b.stop();
    await b.start();
    requeue();
    expect((await ended(id)).stderr).toMatch(/REPLAY/);
    expect(readFileSync(marks, 'utf8')).toBe('run\n');
    expect(refusalAudited(id, 'REPLAY').n).toBe(2);
  });

  it('a WebSocket peer without valid agent credentials is turned away (401) and audited', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${con.agentUrl.replace('https', 'wss')}/agent/v1/ws`, {
        rejectUnauthorized: false, headers: { Authorization: `Bearer ${randomUUID()}.csa_${'x'.repeat(43)}` },
      });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
    expect((con.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth' AND code = 'AGENT_UNKNOWN'`).get() as { n: number }).n).toBeGreaterThan(0);
  });

  it('an agent will not talk to a server whose certificate differs from its pin: no credentials leave the machine', async () => {
    const pems = await generate([{ name: 'commonName', value: 'impostor' }], { keyType: 'ec', algorithm: 'sha256' });
    let upgrades = 0;
    const impostor = https.createServer({ key: pems.private, cert: pems.cert });
    impostor.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.destroy();
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    const fake = new AgentProc(con.root, 'trust-fake');
    const identity = JSON.parse(readFileSync(join(a.stateDir, 'agent.json'), 'utf8')) as { url: string };
    identity.url = `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
    mkdirSync(fake.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(fake.stateDir, 'agent.json'), JSON.stringify(identity), { mode: 0o600 });
    await fake.launch().waitFor(/connection failed: certificate pin mismatch/);
    await fake.stop();
    impostor.close();
    expect(upgrades).toBe(0);
  });
});
