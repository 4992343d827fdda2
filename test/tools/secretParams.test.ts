// Script parameters declared secret (ad hoc, or by a library script): the value is never stored in clear (audit log,
// approval row and digest, execution, queued command), the approval card shows it masked, and the agent still gets it
// inside the command the console signed. A real listener on port 0 and the real agent code, in-process.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { startAgentListener, type RunningAgentListener } from '../../src-main/agentServer/listener.ts';
import { createConsoleService, type ConsoleService } from '../../src-main/console/service.ts';
import { enrollAgent, enrollmentBody, postJson } from '../../src-main/agent/enroll.ts';
import { fetchPinnedCert, pinnedTlsOptions } from '../../src-main/agent/tls.ts';
import { collectHardware } from '../../src-main/agent/inventory.ts';
import { ENROLL_PATH, parseToken } from '../../src-main/agent/protocol.ts';
import { runAgent } from '../../src-main/agent/run.ts';
import { AgentConfig } from '../../src-main/agent/config.ts';
import type { Caller } from '../../src-main/governance/gate.ts';
import { callTool } from '../helpers/gate.ts';
import { initTestDir } from '../helpers/server.ts';
import { until } from '../helpers/wait.ts';

const SECRET = 'hunter2-Sup3r-SeCrEt';
let app: App;
let listener: RunningAgentListener;
let svc: ConsoleService;
let deviceId: string;
let out: string;
const stop = new AbortController();
let agent: Promise<void> | undefined;

/** Every text cell of every table: where a secret value must not be. */
function storedText(): string {
  const tables = app.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
  return tables.map((t) => JSON.stringify(app.db.prepare(`SELECT * FROM "${t}"`).all())).join('\n');
}
const caller = async (scopes: ('ai:read' | 'ai:write' | 'ai:execute')[]): Promise<Caller> => ({ key: (await app.keys.create({ name: 'secrets', scopes, tenants: ['acme-dental'], role: 'admin' })).key });

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  listener = await startAgentListener(app, { hub: { heartbeatSeconds: 1 } });
  svc = createConsoleService(app, { mode: 'web', agentUrl: () => listener.url });
  const { secret } = await svc.createEnrollmentToken({ tenant: 'acme-dental' });
  const stateDir = join(mkdtempSync(join(tmpdir(), 'cs-secret-agent-')), 'state');
  const id = await enrollAgent({ url: listener.url, token: secret, stateDir, hostname: 'secret-runner' });
  deviceId = id.deviceId;
  agent = runAgent({ stateDir, config: AgentConfig.parse({ patchScan: false, maxBackoffSeconds: 1 }), log: () => {}, signal: stop.signal });
  await until('agent online', async () => (await svc.listAgents()).agents.find((a) => a.deviceId === deviceId && a.online));
  out = join(mkdtempSync(join(tmpdir(), 'cs-secret-out-')), 'got');
});
afterAll(async () => {
  stop.abort();
  await agent;
  await listener.close();
  app.close();
});

describe('secret script parameters', () => {
  it('ad hoc: stored nowhere in clear, masked on the card, and the agent runs the script with the value', async () => {
    const body = 'printf "%s" "$CS_PARAM_pw" > "$CS_PARAM_out"\n';
    const r = await callTool(app, 'run_script', { language: 'bash', body, deviceIds: [deviceId], parameters: { pw: SECRET, out }, secretParameters: ['pw'] }, await caller(['ai:read', 'ai:write', 'ai:execute']));
    const { approvalId } = r.structuredContent as { approvalId: string };
    expect(approvalId).toBeTruthy();
    expect(storedText()).not.toContain(SECRET);
    const { approval } = await svc.getApproval({ id: approvalId });
    expect(approval.view.parameters).toEqual({ pw: '•••••••• (secret)', out });
    expect(JSON.stringify(approval)).not.toContain(SECRET);

    await svc.approve({ id: approvalId });
    await until('the script to write its file', () => existsSync(out) && readFileSync(out, 'utf8') === SECRET);
    await until('the approval to complete', async () => (await svc.getApproval({ id: approvalId })).approval.status === 'completed');
    expect(storedText()).not.toContain(SECRET);
    // The sealed value goes once the approval can send nothing more.
    await until('the sealed value to be dropped', () => (app.db.prepare('SELECT count(*) FROM sealed_secrets WHERE approval_id = ?').pluck().get(approvalId) as number) === 0);
  });

  it('the same call with the same secret finds its pending approval; another secret makes another request', async () => {
    const c = await caller(['ai:read', 'ai:write', 'ai:execute']);
    const args = (pw: string) => ({ language: 'bash', body: 'true\n', deviceIds: [deviceId], parameters: { pw }, secretParameters: ['pw'] });
    const first = (await callTool(app, 'run_script', args('one secret'), c)).structuredContent as { approvalId: string };
    const again = (await callTool(app, 'run_script', args('one secret'), c)).structuredContent as { approvalId: string };
    const other = (await callTool(app, 'run_script', args('another secret'), c)).structuredContent as { approvalId: string };
    expect(again.approvalId).toBe(first.approvalId);
    expect(other.approvalId).not.toBe(first.approvalId);
  });

  it('a library script declares its secret parameters; a refused call does not store the value either', async () => {
    const body = 'echo "$CS_PARAM_newvalue" > /dev/null\n';
    const scriptId = randomUUID();
    app.db.prepare(`INSERT INTO scripts (id, tenant_id, name, description, language, body, sha256, created_at, params_json) VALUES (?, NULL, 'rotate key', 'x', 'bash', ?, ?, ?, ?)`)
      .run(scriptId, body, createHash('sha256').update(body).digest('hex'), new Date().toISOString(), JSON.stringify([{ name: 'newvalue', secret: true }]));
    const args = { scriptId, deviceIds: [deviceId], parameters: { newvalue: `lib-${SECRET}` } };
    const pending = await callTool(app, 'run_script', args, await caller(['ai:read', 'ai:write', 'ai:execute']));
    const { approvalId } = pending.structuredContent as { approvalId: string };
    expect((await svc.getApproval({ id: approvalId })).approval.view.parameters).toEqual({ newvalue: '•••••••• (secret)' });
    const refused = await callTool(app, 'run_script', args, await caller(['ai:read']));
    expect(refused.isError).toBe(true);
    expect(storedText()).not.toContain(`lib-${SECRET}`);
    expect(app.db.prepare(`SELECT args_json FROM audit_log WHERE code = 'SCOPE_DENIED' ORDER BY seq DESC LIMIT 1`).pluck().get()).toMatch(/\[secret:[0-9a-f]{16}\]/);
  });

  it('enrollment: the agent\'s X25519 key is kept on its row; a malformed or low-order key is refused (400); an agent that sends none gets no secret parameters', async () => {
    expect(app.db.prepare('SELECT box_public_key FROM agents WHERE device_id = ?').pluck().get(deviceId)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { secret: token } = await svc.createEnrollmentToken({ tenant: 'acme-dental', uses: 3 });
    const pin = parseToken(token)!.pin;
    const tls = pinnedTlsOptions(await fetchPinnedCert(listener.url, pin), pin);
    const { facts, hardware } = await collectHardware('legacy-agent');
    const post = (boxPublicKey?: string) => postJson(new URL(ENROLL_PATH, listener.url).href, enrollmentBody(token, facts, hardware, boxPublicKey), tls);
    expect(await post('short')).toMatchObject({ status: 400, body: { error: expect.stringContaining('boxPublicKey') } });
    expect(await post(Buffer.alloc(32).toString('base64url'))).toMatchObject({ status: 400, body: { error: expect.stringContaining('X25519') } });
    const legacy = await post();
    expect(legacy.status).toBe(200);
    const legacyDevice = (legacy.body as { deviceId: string }).deviceId;
    expect(app.db.prepare('SELECT box_public_key FROM agents WHERE device_id = ?').pluck().get(legacyDevice)).toBeNull();
    const r = await callTool(app, 'run_script', { language: 'bash', body: 'true\n', deviceIds: [legacyDevice], parameters: { pw: SECRET }, secretParameters: ['pw'] }, await caller(['ai:read', 'ai:write', 'ai:execute']));
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/legacy-agent \(.*\) has none.*Re-enroll the agent/);
    expect(storedText()).not.toContain(SECRET);
  });

  it('secretParameters must name parameters the call has', async () => {
    const r = await callTool(app, 'run_script', { language: 'bash', body: 'true\n', deviceIds: [deviceId], parameters: { a: '1' }, secretParameters: ['b'] }, await caller(['ai:read', 'ai:write', 'ai:execute']));
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toMatch(/secretParameters: not among the parameters: b/);
  });
});
