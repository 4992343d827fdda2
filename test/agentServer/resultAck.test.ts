// An agent's result is acknowledged only once it is recorded. The hub over a real seeded SQLite store and a real gate,
// an agent's socket as a real WebSocket pair on loopback; recording is made to fail by a trigger in the database file
// (what a store that cannot write looks like to the hub).
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { AgentHub, MAX_RESULT_ATTEMPTS } from '../../src-main/agentServer/hub.ts';
import type { AgentRow } from '../../src-main/agentServer/enroll.ts';
import { deviceActions } from '../../src-main/tools/devices.ts';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { until } from '../helpers/wait.ts';

let h: Harness;
let hub: AgentHub;
let wss: WebSocketServer;
let agent: AgentRow;
const logged: string[] = [];

beforeAll(async () => {
  h = await createHarness();
  const d = h.db.prepare(`SELECT d.id, t.id AS tenant_id, t.slug FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' LIMIT 1`)
    .get() as { id: string; tenant_id: string; slug: string };
  agent = { id: 'agent-under-test', device_id: d.id, tenant_id: d.tenant_id, slug: d.slug, revoked_at: null, secret_hmac: '' };
  hub = new AgentHub(h.store, await h.gate(), (msg) => logged.push(msg));
  await hub.ready;
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => hub.attach(ws, agent, '127.0.0.1'));
  await once(wss, 'listening');
});

afterAll(async () => {
  await hub.close();
  wss.close();
});

/** An agent's side of the socket: every frame the console sent, and how it closed. */
async function connect() {
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const got: { type: string; commandId?: string }[] = [];
  let closed: { code: number; reason: string } | undefined;
  ws.on('message', (data) => got.push(JSON.parse(String(data)) as { type: string }));
  ws.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  await until('the welcome', () => got.some((m) => m.type === 'welcome'));
  return { ws, got, closed: () => closed, acks: (id: string) => got.filter((m) => m.type === 'result_ack' && m.commandId === id).length };
}

/** A command of the agent's device, sent and running: what a result may end. */
async function runningCommand(): Promise<string> {
  const id = (await h.run(deviceActions, { action: 'lock', deviceIds: [agent.device_id] }, h.ctx(['acme-dental']))).commands[0]!.commandId;
  h.db.prepare(`UPDATE device_commands SET status = 'running', started_at = ? WHERE id = ?`).run(new Date().toISOString(), id);
  return id;
}

const result = (commandId: string) => JSON.stringify({ type: 'result', result: { commandId, status: 'completed', exitCode: 0, stdout: 'locked', stderr: '', durationMs: 5 } });
const statusOf = (id: string) => (h.db.prepare('SELECT status FROM device_commands WHERE id = ?').get(id) as { status: string }).status;

describe('result acknowledgements', () => {
  it('a result the store could not record is not acknowledged: the connection closes (1011) and the result sent again is recorded and acknowledged', async () => {
    const id = await runningCommand();
    const a = await connect();
    h.db.exec(`CREATE TRIGGER refuse_results BEFORE UPDATE ON device_commands BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
    try {
      a.ws.send(result(id));
      await until('the console closes the connection', () => a.closed());
    } finally {
      h.db.exec('DROP TRIGGER refuse_results');
    }
    expect(a.closed()).toEqual({ code: 1011, reason: 'a result could not be recorded; send it again' });
    expect(a.acks(id), 'no acknowledgement of a result that was not recorded').toBe(0);
    expect(logged).toContain(`recording the end of command ${id} failed`);
    expect(statusOf(id)).toBe('running');
    // The agent reconnects and sends its journal's result again.
    const b = await connect();
    b.ws.send(result(id));
    await until('the acknowledgement', () => b.acks(id) === 1);
    expect(statusOf(id)).toBe('completed');
    b.ws.close();
  });

  it(`a result whose recording fails every time is acknowledged at the ${MAX_RESULT_ATTEMPTS}rd attempt, logged, and left to its lease (not resent forever)`, async () => {
    const id = await runningCommand();
    h.db.exec(`CREATE TRIGGER refuse_results BEFORE UPDATE ON device_commands BEGIN SELECT RAISE(ABORT, 'a constraint the row always breaks'); END`);
    try {
      for (let attempt = 1; attempt < MAX_RESULT_ATTEMPTS; attempt++) {
        const a = await connect();
        a.ws.send(result(id));
        await until(`attempt ${attempt} closed`, () => a.closed());
        expect(a.acks(id)).toBe(0);
      }
      const last = await connect();
      last.ws.send(result(id));
      await until('the acknowledgement of the last attempt', () => last.acks(id) === 1);
      expect(last.closed()).toBeUndefined();
      expect(logged).toContain(`recording the result of command ${id} failed ${MAX_RESULT_ATTEMPTS} times; acknowledged so that the agent stops sending it (its lease will end it failed)`);
      expect(statusOf(id)).toBe('running');
      last.ws.close();
    } finally {
      h.db.exec('DROP TRIGGER refuse_results');
    }
  });

  it('a result already recorded (sent twice) is acknowledged again, so that the agent stops sending it; the connection stays open', async () => {
    const id = await runningCommand();
    const a = await connect();
    a.ws.send(result(id));
    await until('the first acknowledgement', () => a.acks(id) === 1);
    a.ws.send(result(id));
    await until('the second acknowledgement', () => a.acks(id) === 2);
    expect(a.closed()).toBeUndefined();
    expect(statusOf(id)).toBe('completed');
    a.ws.close();
  });
});
