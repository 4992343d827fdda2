// The console's agent methods on a real seeded data directory with the real agent listener: enrollment tokens (shown once,
// with the enroll command naming the listener), enrollment with such a token, agents coming online and being revoked — audited.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.ts';
import { openApp, type App } from '../../src-main/app.ts';
import { createConsoleService, type ConsoleService } from '../../src-main/console/service.ts';
import { AppError, type ConsoleEvent } from '../../src-main/console/contract.ts';
import { startAgentListener, type RunningAgentListener } from '../../src-main/agentServer/listener.ts';
import { enrollAgent } from '../../src-main/agent/enroll.ts';
import { runAgent } from '../../src-main/agent/run.ts';
import { AgentConfig } from '../../src-main/agent/config.ts';
import { parseToken } from '../../src-main/agent/protocol.ts';
import { initTestDir } from '../helpers/server.ts';

let app: App;
let listener: RunningAgentListener;
let svc: ConsoleService;
const events: ConsoleEvent[] = [];
let off: () => void;
const stopAgent = new AbortController();
let agentRun: Promise<void> | undefined;

const audit = (outcome: string) => app.db.prepare(`SELECT event, decision, rule, tenant, detail_json FROM audit_log WHERE outcome = ? ORDER BY seq`).all(outcome) as
  { event: string; decision: string; rule: string; tenant: string; detail_json: string }[];
async function rejects(p: Promise<unknown>, status: number, code: string): Promise<AppError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).status).toBe(status);
  expect((e as AppError).code).toBe(code);
  return e as AppError;
}

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  listener = await startAgentListener(app, { hub: { heartbeatSeconds: 1 } });
  svc = createConsoleService(app, { mode: 'web', actor: 'tech-on-duty', agentUrl: () => listener.url });
  off = svc.subscribe((e) => events.push(e));
});
afterAll(async () => {
  stopAgent.abort();
  await agentRun;
  off();
  await listener.close();
  app.close();
});

describe('enrollment tokens in the console', () => {
  let tokenId = '';
  let secret = '';

  it('starts empty and names the agent listener', async () => {
    expect(await svc.listEnrollmentTokens()).toEqual({ tokens: [], agentUrl: listener.url });
    expect(await svc.listAgents()).toEqual({ agents: [], agentUrl: listener.url });
  });

  it('refuses bad input and unknown tenants', async () => {
    await rejects(svc.createEnrollmentToken({ tenant: 'Not A Slug' }), 400, 'BAD_INPUT');
    await rejects(svc.createEnrollmentToken({ tenant: 'acme-dental', uses: 0 }), 400, 'BAD_INPUT');
    await rejects(svc.createEnrollmentToken({ tenant: 'acme-dental', expiresHours: 24 * 366 }), 400, 'BAD_INPUT');
    await rejects(svc.createEnrollmentToken({ tenant: 'acme-dental', extra: 1 } as never), 400, 'BAD_INPUT');
    const e = await rejects(svc.createEnrollmentToken({ tenant: 'no-such-tenant' }), 400, 'BAD_INPUT');
    expect(e.message).toContain('no-such-tenant');
    await rejects(svc.revokeEnrollmentToken({ id: 'x' }), 400, 'BAD_INPUT');
    await rejects(svc.revokeEnrollmentToken({ id: '00000000-0000-4000-8000-000000000000' }), 404, 'NOT_FOUND');
    expect((await svc.listEnrollmentTokens()).tokens).toEqual([]);
  });

  it('creates a token shown once, pinning the listener certificate, with ready-to-paste commands; audited with the console actor', async () => {
    events.length = 0;
    const r = await svc.createEnrollmentToken({ tenant: 'acme-dental', uses: 2, expiresHours: 2 });
    secret = r.secret;
    tokenId = r.token.id;
    expect(parseToken(r.secret)).toEqual({ secret: expect.any(String), pin: listener.certSha256 });
    expect(r.certSha256).toBe(listener.certSha256);
    expect(r.agentUrl).toBe(listener.url);
    expect(r.command).toBe(`countersign agent enroll --url ${listener.url} --token ${r.secret} --state-dir /var/lib/countersign-agent`);
    expect(r.runCommand).toBe('countersign agent run --state-dir /var/lib/countersign-agent');
    expect(r.token).toMatchObject({ tenant: 'acme-dental', maxUses: 2, uses: 0, state: 'active', revokedAt: null, prefix: r.secret.slice(0, 11) });
    expect(Date.parse(r.token.expiresAt) - Date.parse(r.token.createdAt)).toBe(2 * 3_600_000);
    const listed = await svc.listEnrollmentTokens();
    expect(listed.tokens).toEqual([r.token]);
    expect(JSON.stringify(listed)).not.toContain(r.secret.split('.')[1]);
    const [entry] = audit('enrollment token created');
    expect(entry).toMatchObject({ event: 'key', decision: 'info', rule: 'tech-on-duty', tenant: 'acme-dental' });
    // The token's id is recorded (it names the token, it is not its secret), so creation and revocation link up.
    expect(JSON.parse(entry!.detail_json)).toEqual({ tokenId: r.token.id, maxUses: 2, expiresAt: r.token.expiresAt });
    expect(entry!.detail_json).not.toContain(r.secret.split('.')[1]);
    await until('the enrollment token event', () => events.some((e) => e.type === 'key.changed' && e.change === 'enrollment token created'));
    expect(events).toContainEqual({ type: 'key.changed', keyId: null, change: 'enrollment token created' });
  });

  it('defaults to one use for 24 hours; without a running listener the command carries a placeholder', async () => {
    const bare = createConsoleService(app, { actor: 'desktop' });
    const r = await bare.createEnrollmentToken({ tenant: 'globex-logistics' });
    expect(r.token).toMatchObject({ maxUses: 1, tenant: 'globex-logistics' });
    expect(Date.parse(r.token.expiresAt) - Date.parse(r.token.createdAt)).toBe(24 * 3_600_000);
    expect(r.agentUrl).toBeNull();
    expect(r.command).toContain('--url https://CONSOLE:AGENT_PORT --token ');
    expect((await bare.listAgents()).agentUrl).toBeNull();
    const revoked = await bare.revokeEnrollmentToken({ id: r.token.id });
    expect(revoked.token.state).toBe('revoked');
    expect(audit('enrollment token revoked').at(-1)).toMatchObject({ rule: 'desktop', tenant: 'globex-logistics' });
  });

  it('a machine enrolls with the token and appears in listAgents; its agent comes online from the real listener', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'cs-console-agent-')), 'state');
    const id = await enrollAgent({ url: listener.url, token: secret, stateDir, hostname: 'frontdesk-07' });
    expect(id.tenant).toBe('acme-dental');
    const [a] = (await svc.listAgents()).agents;
    expect(a).toMatchObject({ id: id.agentId, deviceId: id.deviceId, hostname: 'frontdesk-07', tenant: 'acme-dental', os: 'linux', online: false, revokedAt: null, lastHeartbeatAt: null });
    expect((await svc.listEnrollmentTokens()).tokens.find((t) => t.id === tokenId)).toMatchObject({ uses: 1, state: 'active' });

    agentRun = runAgent({ stateDir, config: AgentConfig.parse({ patchScan: false, maxBackoffSeconds: 1 }), log: () => {}, signal: stopAgent.signal });
    const online = await until('agent online', async () => (await svc.listAgents()).agents.find((x) => x.online));
    expect(online.lastConnectedAt).not.toBeNull();
    expect(online.remote).toMatch(/127\.0\.0\.1/);
    expect(online.agentVersion).toBeTruthy();
  });

  it('revoking the agent is audited, disconnects it and shows it offline; unknown ids are 404', async () => {
    const [a] = (await svc.listAgents()).agents;
    await rejects(svc.revokeAgent({ id: '00000000-0000-4000-8000-000000000000' }), 404, 'NOT_FOUND');
    await rejects(svc.revokeAgent({ id: 'frontdesk-07' }), 400, 'BAD_INPUT');
    const r = await svc.revokeAgent({ id: a!.id });
    expect(r.agent).toMatchObject({ id: a!.id, online: false, revokedAt: expect.any(String) });
    expect(audit('agent revoked').at(-1)).toMatchObject({ event: 'key', rule: 'tech-on-duty', tenant: 'acme-dental' });
    await until('connection closed', async () => !listener.hub.connectedDevices().includes(a!.deviceId));
    const after = (await svc.listAgents()).agents[0]!;
    expect(after).toMatchObject({ online: false, revokedAt: r.agent.revokedAt });
    // The hub records the device offline in its own write after the connection closes.
    await until('device offline', async () => (await app.store.sql.get<{ status: string }>('SELECT status FROM devices WHERE id = ?', [a!.deviceId]))?.status === 'offline');
    // By device id too, and a second revoke keeps the first time.
    expect((await svc.revokeAgent({ id: a!.deviceId })).agent.revokedAt).toBe(r.agent.revokedAt);
  });

  it('a revoked token enrolls nothing more', async () => {
    await svc.revokeEnrollmentToken({ id: tokenId });
    expect((await svc.listEnrollmentTokens()).tokens.find((t) => t.id === tokenId)).toMatchObject({ state: 'revoked', uses: 1 });
    const stateDir = join(mkdtempSync(join(tmpdir(), 'cs-console-agent-')), 'state');
    await expect(enrollAgent({ url: listener.url, token: secret, stateDir, hostname: 'frontdesk-08' })).rejects.toThrow(/403|refused/);
    expect((await svc.listAgents()).agents).toHaveLength(1);
  });
});
