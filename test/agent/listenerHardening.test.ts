// The agent listener, the one port meant to face the network: unauthenticated peers get a small body cap and a short
// deadline, and a bounded number of connections per address and in all; an enrolled agent cannot pass its device off as
// another (hostname collisions are flagged in list_devices, on approval cards and in the audit log) nor relabel the
// patches other devices of its tenant report. A real listener on port 0 with real enrollment (the agent's own code).
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import { startAgentListener, type RunningAgentListener } from '../../src-main/agentServer/listener.ts';
import { createConsoleService, type ConsoleService } from '../../src-main/console/service.ts';
import { enrollAgent } from '../../src-main/agent/enroll.ts';
import { pinnedTlsOptions } from '../../src-main/agent/tls.ts';
import { AGENT_VERSION, ENROLL_PATH, WS_PATH, type Hardware } from '../../src-main/agent/protocol.ts';
import type { Identity } from '../../src-main/agent/state.ts';
import type { Caller } from '../../src-main/governance/gate.ts';
import { callTool } from '../helpers/gate.ts';
import { initTestDir } from '../helpers/server.ts';
import { budget, until, within } from '../helpers/wait.ts';

/** The deadline listener's: short enough to wait out, long enough for this machine to finish a real handshake and enrollment. */
const DEADLINE_MS = budget(600);
/** The other listener's: longer than any test, so that only the caps ever close its connections. */
const NO_DEADLINE_MS = 10 * 60_000;
const PER_ADDRESS = 3;
const TOTAL = 5;

let app: App;
/** Caps, body limit and device reports; its deadline never comes. */
let listener: RunningAgentListener;
/** The same console with a short deadline for unauthenticated peers. */
let deadlined: RunningAgentListener;
let svc: ConsoleService;
let port: number;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  app = await openApp(await initTestDir(), { log: () => {} });
  // Hub timings stay at their defaults: the test's agent sockets send no heartbeats, and nothing here waits on presence.
  const limits = { maxUnauthenticatedPerAddress: PER_ADDRESS, maxUnauthenticated: TOTAL };
  listener = await startAgentListener(app, { limits: { ...limits, unauthenticatedDeadlineMs: NO_DEADLINE_MS } });
  deadlined = await startAgentListener(app, { limits: { ...limits, unauthenticatedDeadlineMs: DEADLINE_MS } });
  port = listener.port;
  svc = createConsoleService(app, { mode: 'web', agentUrl: () => listener.url });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all([listener.close(), deadlined.close()]);
  app.close();
});

/** A raw TCP connection from a loopback address; resolves once connected, with a promise of its close (ms since). */
function tcp(to: number, from: string): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port: to, localAddress: from });
    sockets.push(socket);
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', (e) => (socket.connecting ? reject(e) : undefined));
  });
}
interface Answered { socket: tls.TLSSocket; admitted: boolean; closed: Promise<void> }
/**
 * A TLS connection from a loopback address, settled by what the listener did with it: admitted once the handshake is
 * done (the listener took it in and kept it), refused when the listener closed it first.
 */
function tlsFrom(to: number, from: string): Promise<Answered> {
  return within(`the listener on ${to} to admit or refuse a connection from ${from}`, new Promise<Answered>((resolve) => {
    // net.connect's localAddress applies to TLS too (tls.connect passes it on), but its typings leave it out.
    const opts: tls.ConnectionOptions & Pick<net.TcpNetConnectOpts, 'localAddress'> = { host: '127.0.0.1', port: to, localAddress: from, rejectUnauthorized: false };
    const socket = tls.connect(opts);
    sockets.push(socket);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('secureConnect', () => resolve({ socket, admitted: true, closed }));
    socket.once('close', () => resolve({ socket, admitted: false, closed }));
    socket.on('error', () => undefined);
  }), 10_000);
}
/**
 * Whether the listener has left this socket open. Checked once a later connection has been admitted or refused: the
 * listener handles connections in order, so a close of this one would have reached the socket before that answer.
 */
const stillOpen = (s: net.Socket) => !s.destroyed && s.readyState === 'open';
const audited = (code: string) => (app.db.prepare('SELECT count(*) AS n FROM audit_log WHERE code = ?').get(code) as { n: number }).n;

async function token(tenant = 'acme-dental', uses = 5): Promise<string> {
  return (await svc.createEnrollmentToken({ tenant, uses })).secret;
}
async function enroll(hostname: string, tok: string): Promise<Identity> {
  return enrollAgent({ url: listener.url, token: tok, stateDir: mkdtempSync(join(tmpdir(), 'cs-agent-state-')), hostname });
}
/** The WebSocket of an enrolled agent (the protocol a misbehaving agent could speak), once it is welcomed. */
function agentSocket(id: Identity, from = '127.0.0.1', to = listener): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${to.url}${WS_PATH}`, { ...pinnedTlsOptions(id.certPem, id.certSha256), localAddress: from, headers: { Authorization: `Bearer ${id.agentId}.${id.secret}` } });
    ws.once('message', () => resolve(ws));
    ws.once('error', reject);
  });
}
const hardware = (): Hardware => ({
  manufacturer: 'x', model: 'x', serial: 'x', cpu: { model: 'x', cores: 2 }, memoryGb: 4, disks: [], network: [],
  os: { platform: 'linux', distro: 'debian', release: '12', codename: 'bookworm', kernel: '6.1', arch: 'x64' }, agentVersion: AGENT_VERSION, collectedAt: new Date().toISOString(),
});
function sendInventory(ws: WebSocket, hostname: string, updates: { externalId: string; title: string; severity: string; requiresReboot: boolean }[]): void {
  ws.send(JSON.stringify({
    type: 'inventory', facts: { hostname, os: 'linux', osVersion: 'Debian 12', ip: null }, hardware: hardware(), software: [],
    patches: { manager: 'apt', managers: ['apt'], scannedAt: new Date().toISOString(), updates },
  }));
}
async function caller(scopes: ('ai:read' | 'ai:write' | 'ai:execute')[] = ['ai:read', 'ai:write', 'ai:execute']): Promise<Caller> {
  const { key } = await app.keys.create({ name: 'listener-test', scopes, tenants: ['acme-dental'], role: 'admin' });
  return { key };
}

describe('unauthenticated peers', () => {
  it('an enrollment body over 4 KiB is refused with 413, whatever it claims', async () => {
    const body = JSON.stringify({ token: 'cset.x', padding: 'p'.repeat(5000) });
    const status = await new Promise<number>((resolve, reject) => {
      const req = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        req.write(`POST ${ENROLL_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      });
      let text = '';
      req.on('data', (d) => (text += String(d)));
      req.once('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      req.once('error', reject);
    });
    expect(status).toBe(413);
  });

  it('a body that does not arrive within the deadline: the connection is closed, nothing is answered', async () => {
    const chunks: string[] = [];
    const closedAfter = await within('the listener to cut a request whose body stops coming (the body deadline)', new Promise<number>((resolve) => {
      const started = Date.now();
      const s = tls.connect({ host: '127.0.0.1', port: deadlined.port, rejectUnauthorized: false }, () => {
        s.write(`POST ${ENROLL_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"token":`);
      });
      sockets.push(s);
      s.on('data', (d) => chunks.push(String(d)));
      s.once('close', () => resolve(Date.now() - started));
      s.once('error', () => undefined);
    }), 15_000);
    expect(closedAfter).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(chunks.join('')).not.toMatch(/^HTTP\/1\.1 200/);
  });

  it('a connection that never completes its TLS handshake is closed at the deadline', async () => {
    const { closed } = await tcp(deadlined.port, '127.0.0.7');
    const after = await within('the listener to cut a connection that never starts its TLS handshake (the handshake deadline)', closed, 15_000);
    expect(after).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
  });

  it(`per address: the ${PER_ADDRESS + 1}th unauthenticated connection is closed at once, and audited; other addresses are not held back`, async () => {
    const before = audited('AGENT_CONNECTION_CAP');
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => tlsFrom(port, '127.0.0.2')));
    expect(held.map((h) => h.admitted)).toEqual(Array(PER_ADDRESS).fill(true));
    expect((await tlsFrom(port, '127.0.0.2')).admitted).toBe(false);
    const other = await tlsFrom(port, '127.0.0.3');
    expect(other.admitted).toBe(true);
    expect(held.every((h) => stillOpen(h.socket))).toBe(true);
    expect(audited('AGENT_CONNECTION_CAP')).toBe(before + 1);
    for (const h of [...held, other]) h.socket.destroy();
  });

  it(`in all: past ${TOTAL} unauthenticated connections, new ones are closed, from any address`, async () => {
    // The earlier test closed its connections on this side; the listener may not have seen every close yet. Once it
    // admits all five of a fresh set, it has (else it refuses some, and the set is closed and tried again).
    const held = await until('five unauthenticated connections admitted at once (earlier ones released)', async () => {
      const set = await Promise.all([...[1, 2, 3].map(() => tlsFrom(port, '127.0.0.4')), ...[1, 2].map(() => tlsFrom(port, '127.0.0.5'))]);
      if (set.every((c) => c.admitted)) return set;
      for (const c of set) c.socket.destroy();
      await Promise.all(set.map((c) => c.closed));
      return false;
    });
    expect((await tlsFrom(port, '127.0.0.6')).admitted).toBe(false);
    expect(held.every((h) => stillOpen(h.socket))).toBe(true);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
  });

  it('an authenticated agent does not count against its address\'s cap, and outlives the deadline', async () => {
    const id = await enroll('cap-agent', await token());
    const ws = await agentSocket(id, '127.0.0.8', deadlined);
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => tlsFrom(deadlined.port, '127.0.0.8')));
    expect(held.map((h) => h.admitted)).toEqual(Array(PER_ADDRESS).fill(true));
    // The deadline has passed for a connection opened after the agent's once the listener cuts that one; the agent's
    // connection is still served after that: it answers a ping.
    const witness = await tcp(deadlined.port, '127.0.0.9');
    expect(await within('the deadline to cut a connection opened after the agent\'s', witness.closed, 15_000)).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    const pong = new Promise((r) => ws.once('pong', r));
    ws.ping();
    await within('the agent\'s connection to answer a ping after the deadline', pong, 5_000);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
    for (const h of held) h.socket.destroy();
  });
});

describe('what an enrolled agent reports about its device', () => {
  let dc: Identity;
  let impostor: Identity;
  let wsDc: WebSocket;
  let wsImpostor: WebSocket;

  beforeAll(async () => {
    const t = await token();
    dc = await enroll('ACME-DC01', t);
    impostor = await enroll('acme-ws-17', t);
    wsDc = await agentSocket(dc, '127.0.1.1');
    wsImpostor = await agentSocket(impostor, '127.0.1.2');
  });
  afterAll(() => {
    wsDc.close();
    wsImpostor.close();
  });

  it('a device renamed to another device\'s hostname is flagged in list_devices, on approval cards and in the audit log', async () => {
    sendInventory(wsImpostor, 'acme-dc01', []);
    await until('the rename', () => app.db.prepare('SELECT hostname FROM devices WHERE id = ?').pluck().get(impostor.deviceId) === 'acme-dc01');
    const c = await caller();
    const r = await callTool(app, 'list_devices', { search: 'dc01', limit: 50 }, c);
    const devices = (r.structuredContent as { devices: { id: string; hostnameConflict: boolean }[] }).devices;
    expect(devices.filter((d) => [dc.deviceId, impostor.deviceId].includes(d.id)).map((d) => d.hostnameConflict)).toEqual([true, true]);
    const alone = await callTool(app, 'list_devices', { search: 'cap-agent' }, c);
    expect((alone.structuredContent as { devices: { hostnameConflict: boolean }[] }).devices[0]!.hostnameConflict).toBe(false);
    const row = app.db.prepare(`SELECT * FROM audit_log WHERE code = 'HOSTNAME_CONFLICT' ORDER BY seq DESC LIMIT 1`).get() as { detail_json: string; outcome: string };
    expect(JSON.parse(row.detail_json)).toMatchObject({ deviceId: impostor.deviceId, hostname: 'acme-dc01', previousHostname: 'acme-ws-17', sameHostname: expect.arrayContaining([dc.deviceId]) });
    const pending = await callTool(app, 'device_actions', { action: 'reboot', deviceIds: [dc.deviceId], reason: 'patching' }, c);
    const { approvalId } = pending.structuredContent as { approvalId: string };
    const { approval } = await svc.getApproval({ id: approvalId });
    expect(approval.view.devices).toEqual([expect.objectContaining({ id: dc.deviceId, hostnameConflict: true })]);
  });

  it('one device cannot relabel the patches another device of its tenant reports', async () => {
    const openssl = { externalId: 'openssl=3.0.15-1~deb12u1', title: 'openssl security update', severity: 'critical', requiresReboot: false };
    sendInventory(wsDc, 'ACME-DC01', [openssl]);
    const pairs = () => app.db.prepare(`SELECT dp.device_id, p.severity, p.title FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
      WHERE p.external_id = ? ORDER BY dp.device_id`).all(openssl.externalId) as { device_id: string; severity: string; title: string }[];
    await until('the first report', () => pairs().length === 1);
    sendInventory(wsImpostor, 'acme-dc01', [{ ...openssl, severity: 'low', title: 'cosmetic' }]);
    await until('the second report', () => pairs().length === 2);
    const bySeverity = Object.fromEntries(pairs().map((p) => [p.device_id, p.severity]));
    expect(bySeverity).toEqual({ [dc.deviceId]: 'critical', [impostor.deviceId]: 'low' });
    // What the fleet tools show for the first device is still what its own agent reported.
    const r = await callTool(app, 'get_patch_status', { deviceId: dc.deviceId }, await caller(['ai:read']));
    const shown = (r.structuredContent as { patches: { externalId: string; severity: string; title: string }[] }).patches.filter((p) => p.externalId === openssl.externalId);
    expect(shown).toEqual([expect.objectContaining({ severity: 'critical', title: 'openssl security update' })]);
    expect(app.db.prepare('SELECT compliance FROM devices WHERE id = ?').pluck().get(dc.deviceId)).toBe('non_compliant');
    // A later report by the device itself under a new label moves its own row (the vendor reclassified it), keeping its state.
    sendInventory(wsDc, 'ACME-DC01', [{ ...openssl, severity: 'important' }]);
    await until('the relabelled report', () => pairs().some((p) => p.device_id === dc.deviceId && p.severity === 'important'));
    expect(pairs().filter((p) => p.device_id === dc.deviceId)).toHaveLength(1);
    expect(app.db.prepare(`SELECT count(*) FROM device_patches WHERE device_id = ? AND state = 'installed'`).pluck().get(dc.deviceId)).toBe(0);
  });
});
