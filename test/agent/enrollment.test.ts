// Enrollment tokens: per tenant, HMAC-only, expiring, revocable, limited uses, pinning the listener's certificate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseToken } from '../../src-main/agent/protocol.ts';
import { budget } from '../helpers/wait.ts';
import { AgentProc, ConsoleProc, call, csHere, lastLine, until } from './harness.ts';

let con: ConsoleProc;
/** A token with the shortest expiry (0.001 h, 3.6 s), made first so that it runs out while the other tests run. */
const shortLived = { token: '', id: '' };

beforeAll(async () => {
  con = await ConsoleProc.start();
  const created = await csHere(['enroll-tokens', 'create', '--data-dir', con.dir, '--tenant', 'acme-dental', '--expires-hours', '0.001']);
  if (created.status !== 0) throw new Error(`enroll-tokens create: ${created.stderr}`);
  shortLived.token = lastLine(created.stdout);
  shortLived.id = /created enrollment token (\S+)/.exec(created.stderr)![1]!;
}, budget(60_000));

afterAll(async () => {
  await con?.stop();
});

interface TokenInfo { id: string; tenant: string; state: string; uses: number; maxUses: number; expiresAt: string }
// The console side's CLI commands run in this process (test/cli runs the CLI as a process); the agents enroll as processes.
const tokens = async () => JSON.parse((await csHere(['enroll-tokens', 'list', '--data-dir', con.dir, '--json'])).stdout) as TokenInfo[];
const refusals = (code: string) => (con.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE event = 'auth' AND code = ?`).get(code) as { n: number }).n;

describe('enrollment tokens', () => {
  it('create prints the token as the last stdout line; only its HMAC is stored; it pins the listener certificate', async () => {
    const r = await csHere(['enroll-tokens', 'create', '--data-dir', con.dir, '--tenant', 'globex-logistics', '--uses', '3', '--expires-hours', '2']);
    expect(r.status).toBe(0);
    const token = r.stdout.trim().split('\n').at(-1)!;
    const parsed = parseToken(token)!;
    expect(parsed).toBeTruthy();
    expect(r.stderr).toContain(`pins certificate ${parsed.pin}`);
    const dump = JSON.stringify(con.db.prepare('SELECT * FROM enrollment_tokens').all()) + JSON.stringify(con.db.prepare('SELECT * FROM audit_log').all());
    expect(dump).not.toContain(parsed.secret);
    const t = (await tokens()).find((x) => x.tenant === 'globex-logistics')!;
    expect(t).toMatchObject({ state: 'active', uses: 0, maxUses: 3 });
    expect((await csHere(['enroll-tokens', 'create', '--data-dir', con.dir, '--tenant', 'nope'])).status).toBe(1);
    expect((await csHere(['enroll-tokens', 'create', '--data-dir', con.dir])).status).toBe(2);
  });

  it('a token enrolls a device into its own tenant only, and no more often than its uses', async () => {
    const token = await con.token('acme-dental', ['--uses', '1']);
    const first = new AgentProc(con.root, 'enroll-once');
    const r = first.enroll(con.agentUrl, token);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/enrolled device \S+ in tenant acme-dental/);
    const second = new AgentProc(con.root, 'enroll-twice');
    const again = second.enroll(con.agentUrl, token);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/enrollment refused \(403\)/);
    expect(refusals('ENROLL_TOKEN_USED_UP')).toBe(1);
    const client = await con.mcp();
    const list = await call<any>(client, 'list_devices', { search: 'enroll-' });
    expect(list.devices.map((d: { hostname: string; tenant: string }) => [d.hostname, d.tenant])).toEqual([['enroll-once', 'acme-dental']]);
    expect((await tokens()).find((t) => t.uses === 1 && t.maxUses === 1)?.state).toBe('used_up');
  });

  it('an expired token is refused', async () => {
    const { id, token } = shortLived;
    const expiresAt = Date.parse((await tokens()).find((t) => t.id === id)!.expiresAt);
    await until(`token ${id} past its expiry`, () => Date.now() > expiresAt, 3_600 + 5_000, 50);
    expect((await tokens()).find((t) => t.id === id)!.state).toBe('expired');
    const r = new AgentProc(con.root, 'enroll-late').enroll(con.agentUrl, token);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/403/);
    expect(refusals('ENROLL_TOKEN_EXPIRED')).toBe(1);
  });

  it('a revoked token is refused', async () => {
    const token = await con.token('acme-dental', ['--uses', '5']);
    const id = (await tokens()).find((t) => t.state === 'active' && t.maxUses === 5)!.id;
    expect((await csHere(['enroll-tokens', 'revoke', id, '--data-dir', con.dir])).stdout).toMatch(/^revoked /);
    const r = new AgentProc(con.root, 'enroll-revoked').enroll(con.agentUrl, token);
    expect(r.status).toBe(1);
    expect(refusals('ENROLL_TOKEN_REVOKED')).toBe(1);
    expect((await tokens()).find((t) => t.id === id)!.state).toBe('revoked');
  });

  it('an unknown token is refused; a token whose pin does not match the server is never sent at all', async () => {
    const good = parseToken(await con.token('acme-dental'))!;
    const unknown = new AgentProc(con.root, 'enroll-unknown').enroll(con.agentUrl, `cset.${'A'.repeat(32)}.${Buffer.from(good.pin, 'hex').toString('base64url')}`);
    expect(unknown.status).toBe(1);
    expect(refusals('ENROLL_TOKEN_UNKNOWN')).toBe(1);
    const before = (con.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
    const wrongPin = `cset.${good.secret}.${Buffer.alloc(32, 7).toString('base64url')}`;
    const r = new AgentProc(con.root, 'enroll-mitm').enroll(con.agentUrl, wrongPin);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/certificate mismatch/);
    expect((con.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n).toBe(before);
    expect(new AgentProc(con.root, 'enroll-x').enroll(con.agentUrl, 'not-a-token').stderr).toMatch(/not an enrollment token/);
  });

  it('the state directory refuses a second enrollment and keeps the console public key and certificate', async () => {
    const a = new AgentProc(con.root, 'enroll-once');
    const r = a.enroll(con.agentUrl, await con.token());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already holds an enrolled agent/);
    const id = JSON.parse(readFileSync(join(a.stateDir, 'agent.json'), 'utf8')) as Record<string, string>;
    expect(id.consolePublicKey).toContain('BEGIN PUBLIC KEY');
    expect(id.certSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
