// Connected agents: presence from heartbeats, delivery of queued commands, results back, leases that end lost commands.
import type { WebSocket } from 'ws';
import type { Store } from '../store/store.ts';
import type { Gate } from '../governance/gate.ts';
import { RateLimiter } from '../governance/rateLimiter.ts';
import { LEASE_EXPIRED, type Outcome, type OutcomeSource } from '../governance/commandResults.ts';
import { AgentMessage, COMMAND_VALIDITY_MS, ServerMessage, parseFrame } from '../agent/protocol.ts';
import { envelopeFor } from './signing.ts';
import { storeInventory } from './inventory.ts';
import type { AgentRow } from './enroll.ts';
import { recordAgentVersion } from './versions.ts';
import { lateFirings } from '../agent/silence.ts';

export interface HubOptions {
  heartbeatSeconds: number;
  inventorySeconds: number;
  /** Added to a command's own time limit before a running command without a result is failed. */
  leaseGraceSeconds: number;
  actionLeaseSeconds: number;
  patchLeaseSeconds: number;
  /** Deliveries of one command (reconnects while it runs) before it is failed. */
  maxDeliveries: number;
  /** How often queued commands past their validity (agent/protocol.ts) are failed, devices connected or not. */
  expirySweepSeconds: number;
}
export const DEFAULT_HUB: HubOptions = {
  heartbeatSeconds: 15, inventorySeconds: 3600, leaseGraceSeconds: 60, actionLeaseSeconds: 120, patchLeaseSeconds: 3600, maxDeliveries: 5, expirySweepSeconds: 60,
};

interface Conn {
  ws: WebSocket; agent: AgentRow; remote: string; ready: boolean; lastHeartbeat: number; invalid: number;
  /** When the socket last brought a frame (performance.now()), read as it arrives: a backlog in `queue` is not silence. */
  lastHeard: number;
  /** The connection's messages are handled one after another, in the order they arrived. */
  queue: Promise<void>;
  /** A dispatch of this connection is under way: another one waits for it rather than running beside it. */
  dispatching: Promise<void> | undefined;
}
const DISPATCH_BATCH = 50;
/** Expired commands failed per sweep: a backlog is worked off over the following sweeps. */
const EXPIRY_BATCH = 500;
// The two sweeps over every device's commands: each reads the open commands only (device_commands_by_status), however
// many the install ever ran. Exported for the test of their query plans.
/** Running commands whose lease ran out (or, sent before leases existed, that started over an hour ago): [now, maxAge]. */
export const LOST_COMMANDS = `SELECT c.id, c.device_id FROM device_commands c LEFT JOIN command_dispatch d ON d.command_id = c.id
  WHERE c.status = 'running' AND (d.lease_expires_at <= ? OR (d.command_id IS NULL AND c.started_at <= ?))`;
/** Queued commands past their validity: [validFrom, validFrom]. */
export const EXPIRED_COMMANDS = `SELECT c.id, c.device_id, coalesce(s.issued_at, c.created_at) AS "from"
  FROM device_commands c LEFT JOIN command_signatures s ON s.command_id = c.id
  WHERE c.status = 'queued' AND coalesce(s.issued_at, c.created_at) <= ? AND (c.not_before IS NULL OR c.not_before <= ?) LIMIT ${EXPIRY_BATCH}`;
/** Attempts at recording one command's result before it is acknowledged unrecorded (see AgentHub.givesUpOn). */
export const MAX_RESULT_ATTEMPTS = 3;
/** How often tick() runs. */
const TICK_MS = 1000;

export class AgentHub {
  private readonly conns = new Map<string, Conn>();
  /** Connections whose messages are still being handled, closed ones included (a backlog outlives its socket). */
  private readonly handling = new Set<Conn>();
  private readonly timer: NodeJS.Timeout;
  private readonly offAudit: () => void;
  private readonly auditGate = new RateLimiter();
  private wakeScheduled = false;
  private lastPresenceFlush = 0;
  private lastExpirySweep = 0;
  private readonly store: Store;
  private readonly gate: Gate;
  private readonly log: (msg: string, err?: unknown) => void;
  readonly opts: HubOptions;
  /** Settles once devices left online by a process that ended are marked offline (see start). */
  readonly ready: Promise<void>;
  private ticking: Promise<void> | undefined;
  /** Set by close: messages still queued are dropped unanswered (an agent sends an unacknowledged result again). */
  private closing = false;
  /** Results and refusals being recorded: close waits for them, so none is cut off by the store closing under it. */
  private readonly finishing = new Set<Promise<boolean>>();
  /** Commands whose result failed to record, with how many times (see givesUpOn). */
  private readonly failedRecordings = new Map<string, number>();

  constructor(store: Store, gate: Gate, log: (msg: string, err?: unknown) => void, opts: Partial<HubOptions> = {}) {
    this.store = store;
    this.gate = gate;
    this.log = log;
    this.opts = { ...DEFAULT_HUB, ...opts };
    // No agent is connected to a process that just started. With several nodes on one database (team mode) an agent may
    // be connected to another node: only devices whose agent stopped sending heartbeats are marked offline.
    this.ready = (store.dialect === 'sqlite'
      ? store.write(async (tx) => {
        await tx.sql.run(`UPDATE devices SET status = 'offline' WHERE status = 'online' AND id IN (SELECT device_id FROM agents)`);
      })
      : this.markSilentOffline()).catch((e: unknown) => this.log('marking devices offline at start failed', e));
    // Judged when the timer fires, not when tick() runs: a tick still running on a slow store skips firings.
    const late = lateFirings(TICK_MS);
    this.timer = setInterval(() => {
      const wasLate = late();
      // Nothing here may reject unhandled: that would end the process.
      this.ticking ??= this.tick(wasLate).catch((e: unknown) => this.log('agent hub tick failed', e)).finally(() => (this.ticking = undefined));
    }, TICK_MS);
    this.timer.unref();
    // A committed tool call or approval may have queued commands: deliver them now rather than on the next tick.
    this.offAudit = store.audit.onAppend((row) => {
      if (row.event === 'tool_call' || row.event === 'approval') this.wake();
    });
  }

  connectedDevices(): string[] {
    return [...this.conns.keys()];
  }

  /** Asks a connected agent for fresh inventory and patches; false when the device is not connected. */
  requestInventory(deviceId: string): boolean {
    const c = this.conns.get(deviceId);
    return c ? this.send(c, { type: 'inventory_request' }) : false;
  }

  attach(ws: WebSocket, agent: AgentRow, remote: string): void {
    if (this.closing) {
      ws.close(1001, 'server shutting down');
      return;
    }
    const old = this.conns.get(agent.device_id);
    if (old) old.ws.close(4000, 'replaced by a newer connection');
    const now = new Date().toISOString();
    const connected = this.store.write(async (tx) => {
      await tx.sql.run('UPDATE agents SET last_connected_at = ?, last_heartbeat_at = ?, remote = ? WHERE id = ?', [now, now, remote, agent.id]);
      await tx.sql.run(`UPDATE devices SET status = 'online', last_seen_at = ? WHERE id = ?`, [now, agent.device_id]);
      if (this.auditGate.take(`connect:${agent.id}`, 20).ok) {
        await tx.audit({ event: 'session', decision: 'allowed', outcome: 'agent connected', rule: 'agent_auth', tenant: agent.slug, remote, detail: { agentId: agent.id, deviceId: agent.device_id } });
      }
    }).catch((e: unknown) => this.log(`recording agent ${agent.id}'s connection failed`, e));
    // Its messages wait until the connection is recorded: the device is online before anything it reports.
    const conn: Conn = { ws, agent, remote, ready: false, lastHeartbeat: Date.now(), lastHeard: performance.now(), invalid: 0, queue: connected, dispatching: undefined };
    this.conns.set(agent.device_id, conn);
    this.handling.add(conn);
    ws.on('message', (data) => {
      conn.lastHeard = performance.now();
      conn.queue = conn.queue.then(() => this.onMessage(conn, data)).catch((e: unknown) => this.log(`agent ${agent.id} message failed`, e));
    });
    ws.on('close', () => {
      this.detach(conn);
      // No message comes after close: once the last one is handled, nothing of this connection is left.
      void conn.queue.finally(() => this.handling.delete(conn));
    });
    ws.on('error', (e) => this.log(`agent ${agent.id} socket error`, e));
    this.send(conn, { type: 'welcome', deviceId: agent.device_id, heartbeatSeconds: this.opts.heartbeatSeconds, inventorySeconds: this.opts.inventorySeconds, serverTime: now });
  }

  private detach(conn: Conn): void {
    if (this.conns.get(conn.agent.device_id) !== conn) return;
    this.conns.delete(conn.agent.device_id);
    void this.markOffline(conn.agent.device_id);
  }

  private markOffline(deviceId: string): Promise<void> {
    return this.store.write(async (tx) => {
      await tx.sql.run(`UPDATE devices SET status = 'offline' WHERE id = ?`, [deviceId]);
    }).catch((e: unknown) => this.log('marking a device offline failed', e));
  }

  /**
   * A command ended: recorded through the gate (command row, audit entry, approval roll-up in one transaction). True
   * once settled, recorded or ignored (another device's command, one already final); false when recording failed.
   */
  private finish(commandId: string, deviceId: string, o: Outcome, src: OutcomeSource): Promise<boolean> {
    const p = this.gate.finishCommand(commandId, deviceId, o, src).then(() => true, (e: unknown) => {
      this.log(`recording the end of command ${commandId} failed`, e);
      return false;
    });
    this.finishing.add(p);
    void p.finally(() => this.finishing.delete(p));
    return p;
  }

  /**
   * One more failed recording of this command's result; true once it has failed MAX_RESULT_ATTEMPTS times. A failure
   * that repeats (a constraint the row breaks, a defect) would otherwise have the agent reconnect and send it forever:
   * it is then acknowledged and logged, and the command's lease ends it failed, as for a result that never came.
   */
  private givesUpOn(commandId: string): boolean {
    const n = (this.failedRecordings.get(commandId) ?? 0) + 1;
    this.failedRecordings.delete(commandId);
    if (n >= MAX_RESULT_ATTEMPTS) {
      this.log(`recording the result of command ${commandId} failed ${n} times; acknowledged so that the agent stops sending it (its lease will end it failed)`);
      return true;
    }
    this.failedRecordings.set(commandId, n);
    // Bounded: the oldest entries go first (a Map iterates in insertion order).
    if (this.failedRecordings.size > 10_000) this.failedRecordings.delete(this.failedRecordings.keys().next().value!);
    return false;
  }

  private send(conn: Conn, msg: ServerMessage): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    conn.ws.send(JSON.stringify(ServerMessage.parse(msg)));
    return true;
  }

  private async onMessage(conn: Conn, data: unknown): Promise<void> {
    // A backlog (a flood, or a slow store) is not worked off after close: the store is about to close under it.
    if (this.closing) return;
    const msg = parseFrame(AgentMessage, data);
    const deviceId = conn.agent.device_id;
    if (!msg) {
      if (this.auditGate.take(`invalid:${conn.agent.id}`, 10).ok) {
        await this.store.write((tx) => tx.audit({ event: 'session', decision: 'denied', code: 'AGENT_MESSAGE_INVALID', rule: 'agent_protocol', tenant: conn.agent.slug, remote: conn.remote, detail: { agentId: conn.agent.id } }), { oneWrite: true });
      }
      if (++conn.invalid >= 20) conn.ws.close(4002, 'too many invalid messages');
      return;
    }
    conn.lastHeartbeat = Date.now();
    switch (msg.type) {
      case 'heartbeat':
        return; // noted above; written to the store in batches by tick()
      case 'inventory':
        await storeInventory(this.store, deviceId, msg);
        return;
      case 'result': {
        const r = msg.result;
        // Acknowledged once settled (a duplicate too, so that the agent stops sending it), never when recording failed:
        // the agent keeps an unacknowledged result in its journal and sends it again when it reconnects, which closing
        // the connection makes it do (after its backoff) rather than at some later outage.
        void this.finish(r.commandId, deviceId, r, { cause: 'result', remote: conn.remote }).then((settled) => {
          if (settled) this.failedRecordings.delete(r.commandId);
          if (settled || this.givesUpOn(r.commandId)) this.send(conn, { type: 'result_ack', commandId: r.commandId });
          else if (conn.ws.readyState === conn.ws.OPEN) conn.ws.close(1011, 'a result could not be recorded; send it again');
        })
          .catch((e: unknown) => this.log(`acknowledging the result of command ${r.commandId} failed`, e));
        return;
      }
      case 'refused':
        void this.finish(msg.commandId, deviceId, { status: 'failed', exitCode: null, stdout: '', stderr: `refused by the agent (${msg.code}): ${msg.message}` },
          { cause: 'refused', code: `COMMAND_REFUSED_${msg.code}`, remote: conn.remote });
        return;
      case 'ready': {
        await recordAgentVersion(this.store, conn.agent, msg.agentVersion, conn.remote);
        // Results still being recorded first: a reconnecting agent sends its journal's results just before `ready`, and
        // a command that finished while the link was down is no longer in its running list. Read as still running
        // here, it was delivered again (the agent's journal kept it from running twice, but it was a needless send).
        await Promise.all([...this.finishing]);
        const running = new Set(msg.running);
        // Running here but not there: the agent never got it (or lost it). Deliver again; its journal keeps this at-most-once.
        const stale = await this.store.sql.all<{ id: string }>(`SELECT id FROM device_commands WHERE device_id = ? AND status = 'running'`, [deviceId]);
        for (const { id } of stale) if (!running.has(id)) await this.deliver(conn, id, true);
        // Ready for new commands only now: marked at the start, a command approved meanwhile could be claimed and sent by
        // tick() or wake(), then read above as running here but not in the agent's list (sent before it had it), and
        // delivered a second time.
        conn.ready = true;
        await this.dispatch(conn);
        return;
      }
    }
  }

  private async leaseSeconds(commandId: string): Promise<number> {
    const c = (await this.store.sql.get<{ kind: string; payload_json: string }>('SELECT kind, payload_json FROM device_commands WHERE id = ?', [commandId]))!;
    const o = this.opts;
    if (c.kind === 'script') {
      const t = Number((JSON.parse(c.payload_json) as { timeoutSeconds?: unknown }).timeoutSeconds);
      return (Number.isFinite(t) ? Math.min(Math.max(t, 1), 3600) : 300) + o.leaseGraceSeconds;
    }
    return (c.kind === 'patch_install' ? o.patchLeaseSeconds : o.actionLeaseSeconds) + o.leaseGraceSeconds;
  }

  /**
   * Claims queued commands of a connected device (queued → running, with a lease) and sends them, oldest first. One
   * dispatch per connection at a time; the claim itself (a conditional state move) keeps a command from being sent twice
   * by two hubs.
   */
  private dispatch(conn: Conn): Promise<void> {
    if (conn.dispatching) return conn.dispatching.then(() => this.dispatch(conn));
    conn.dispatching = (async () => {
      const now = new Date();
      // Never one past its validity: the agent would refuse it, and the expiry sweep fails it with the reason.
      const validFrom = new Date(now.getTime() - COMMAND_VALIDITY_MS).toISOString();
      const due = await this.store.sql.all<{ id: string }>(`SELECT c.id FROM device_commands c LEFT JOIN command_signatures s ON s.command_id = c.id
        WHERE c.device_id = ? AND c.status = 'queued' AND (c.not_before IS NULL OR c.not_before <= ?) AND (coalesce(s.issued_at, c.created_at) > ? OR c.not_before > ?)
        ORDER BY c.created_at, c.id LIMIT ${DISPATCH_BATCH}`, [conn.agent.device_id, now.toISOString(), validFrom, validFrom]);
      for (const { id } of due) await this.deliver(conn, id, false);
    })().finally(() => (conn.dispatching = undefined));
    return conn.dispatching;
  }

  private async deliver(conn: Conn, commandId: string, again: boolean): Promise<void> {
    const now = new Date();
    const lease = new Date(now.getTime() + (await this.leaseSeconds(commandId)) * 1000).toISOString();
    const agent = conn.agent;
    if (again) {
      const d = await this.store.sql.get<{ dispatch_count: number }>('SELECT dispatch_count FROM command_dispatch WHERE command_id = ?', [commandId]);
      if (d && d.dispatch_count >= this.opts.maxDeliveries) {
        void this.finish(commandId, agent.device_id, { status: 'failed', exitCode: null, stdout: '', stderr: `delivered ${d.dispatch_count} times without a result; not retried` }, { cause: 'undeliverable', code: 'COMMAND_UNDELIVERABLE' });
        return;
      }
    }
    const ok = await this.store.write(async (tx) => {
      const sql = tx.sql;
      if (again) {
        await sql.run(`INSERT INTO command_dispatch (command_id, agent_id, dispatched_at, lease_expires_at) VALUES (?, ?, ?, ?)
          ON CONFLICT(command_id) DO UPDATE SET dispatch_count = command_dispatch.dispatch_count + 1, lease_expires_at = excluded.lease_expires_at, agent_id = excluded.agent_id`,
        [commandId, agent.id, now.toISOString(), lease]);
        return true;
      }
      const claimed = await sql.run(`UPDATE device_commands SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'`, [now.toISOString(), commandId]);
      if (claimed.changes !== 1) return false;
      await sql.run(`INSERT INTO command_dispatch (command_id, agent_id, dispatched_at, lease_expires_at, dispatch_count) VALUES (?, ?, ?, ?, 1)
        ON CONFLICT(command_id) DO UPDATE SET agent_id = excluded.agent_id, dispatched_at = excluded.dispatched_at, lease_expires_at = excluded.lease_expires_at, dispatch_count = 1`,
      [commandId, agent.id, now.toISOString(), lease]);
      const c = (await sql.get<{ kind: string; payload_json: string; tool: string; approval_id: string | null; key_id: string | null; signed: number }>(
        `SELECT c.kind, c.payload_json, e.tool, e.approval_id, e.key_id, CASE WHEN s.signature IS NOT NULL THEN 1 ELSE 0 END AS signed FROM device_commands c
        JOIN executions e ON e.id = c.execution_id LEFT JOIN command_signatures s ON s.command_id = c.id WHERE c.id = ?`, [commandId]))!;
      if (c.kind === 'patch_install') {
        const ids = (JSON.parse(c.payload_json) as { patchIds?: string[] }).patchIds ?? [];
        for (const p of ids) {
          await sql.run(`UPDATE device_patches SET state = 'installing', updated_at = ? WHERE device_id = ? AND patch_id = ? AND state = 'scheduled'`, [now.toISOString(), agent.device_id, p]);
        }
      }
      await tx.audit({ event: 'execution', decision: 'allowed', outcome: 'dispatched', rule: 'agent_dispatch', keyId: c.key_id, tenant: agent.slug, tool: c.tool,
        approvalId: c.approval_id, remote: conn.remote, detail: { commandId, deviceId: agent.device_id, agentId: agent.id, kind: c.kind, signed: c.signed === 1, leaseExpiresAt: lease } });
      return true;
    });
    if (!ok) return;
    const msg = ServerMessage.safeParse({ type: 'command', command: await envelopeFor(this.store.sql, this.store.vault, commandId) });
    if (msg.success) this.send(conn, msg.data);
    else void this.finish(commandId, agent.device_id, { status: 'failed', exitCode: null, stdout: '', stderr: 'the stored command is malformed; it was not sent' }, { cause: 'undeliverable', code: 'COMMAND_MALFORMED' });
  }

  private wake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const c of this.conns.values()) if (c.ready) void this.guard(() => this.dispatch(c));
    });
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.log('agent hub step failed', e);
    }
  }

  /**
   * Once a second: deliver due commands (not_before reached), end expired leases, drop silent connections (nothing heard
   * for three heartbeat intervals; not judged on a `late` tick, see lateFirings in agent/silence.ts).
   */
  async tick(late = false): Promise<void> {
    const now = Date.now();
    for (const c of this.conns.values()) {
      const silentMs = performance.now() - c.lastHeard;
      if (!late && silentMs > this.opts.heartbeatSeconds * 3000) {
        this.log(`agent ${c.agent.id} (device ${c.agent.device_id}) silent for ${Math.round(silentMs)} ms: connection dropped`);
        c.ws.terminate();
      }
      else if (c.ready) await this.guard(() => this.dispatch(c));
    }
    if (now - this.lastPresenceFlush >= this.opts.heartbeatSeconds * 1000) {
      this.lastPresenceFlush = now;
      await this.guard(() => this.flushPresence());
    }
    // Sealed secret parameter values live only as long as their approval can still send a command.
    // A revoked agent loses its live connection too, not only its next one.
    await this.guard(async () => {
      if (!this.conns.size) return;
      const revoked = await this.store.sql.all<{ device_id: string }>('SELECT device_id FROM agents WHERE revoked_at IS NOT NULL');
      for (const { device_id } of revoked) this.conns.get(device_id)?.ws.close(4003, 'agent revoked');
    });
    if (now - this.lastExpirySweep >= this.opts.expirySweepSeconds * 1000) {
      this.lastExpirySweep = now;
      await this.guard(() => this.failExpired(now));
    }
    await this.guard(async () => {
      const iso = new Date(now).toISOString();
      const maxAge = new Date(now - (3600 + this.opts.leaseGraceSeconds) * 1000).toISOString();
      const lost = await this.store.sql.all<{ id: string; device_id: string }>(LOST_COMMANDS, [iso, maxAge]);
      for (const l of lost) {
        void this.finish(l.id, l.device_id, { status: 'failed', exitCode: null, stdout: '',
          stderr: `${LEASE_EXPIRED} the agent did not report a result in time (stopped, killed or disconnected mid-command); the command is not run again` }, { cause: 'lease_expired', code: 'COMMAND_LEASE_EXPIRED' });
      }
    });
  }

  /**
   * Queued commands past their validity, sent or not (an offline laptop's), end failed with the reason and roll their
   * approval up: the technician sees that the action did not happen, rather than a card waiting for a device forever.
   */
  private async failExpired(now: number): Promise<void> {
    const validFrom = new Date(now - COMMAND_VALIDITY_MS).toISOString();
    const expired = await this.store.sql.all<{ id: string; device_id: string; from: string }>(EXPIRED_COMMANDS, [validFrom, validFrom]);
    const days = COMMAND_VALIDITY_MS / 86_400_000;
    for (const e of expired) {
      await this.finish(e.id, e.device_id, { status: 'failed', exitCode: null, stdout: '',
        stderr: `expired: not sent, the device's agent did not take it within ${days} days of its issue or its scheduled start (issued ${e.from}); it will not run` },
      { cause: 'expired', code: 'COMMAND_EXPIRED' });
    }
  }

  /** Devices whose agent sent no heartbeat for three intervals, to whichever node, are offline (a node died holding them). */
  private async markSilentOffline(): Promise<void> {
    const silentSince = new Date(Date.now() - this.opts.heartbeatSeconds * 3000).toISOString();
    await this.store.write(async (tx) => {
      await tx.sql.run(`UPDATE devices SET status = 'offline' WHERE status = 'online'
        AND id IN (SELECT device_id FROM agents WHERE last_heartbeat_at IS NULL OR last_heartbeat_at < ?)`, [silentSince]);
    });
  }

  /** Heartbeats become last_seen_at / last_heartbeat_at in one transaction per interval, not one fsync per message. */
  private async flushPresence(): Promise<void> {
    if (this.store.dialect !== 'sqlite') await this.markSilentOffline();
    const conns = [...this.conns.values()];
    if (!conns.length) return;
    await this.store.write(async (tx) => {
      for (const c of conns) {
        const at = new Date(c.lastHeartbeat).toISOString();
        await tx.sql.run('UPDATE agents SET last_heartbeat_at = ? WHERE id = ?', [at, c.agent.id]);
        await tx.sql.run(`UPDATE devices SET status = 'online', last_seen_at = ? WHERE id = ?`, [at, c.agent.device_id]);
      }
    });
  }

  /**
   * Closes every agent connection; resolves once the message each was handling and the results being recorded are
   * done, and their devices are recorded offline.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    this.offAudit();
    const conns = [...this.conns.values()];
    this.conns.clear();
    for (const c of conns) c.ws.close(1001, 'server shutting down');
    await this.ticking;
    await Promise.all([...this.handling].map((c) => c.queue));
    await Promise.all([...this.finishing]);
    await Promise.all(conns.map((c) => this.markOffline(c.agent.device_id)));
  }
}
