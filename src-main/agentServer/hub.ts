// Connected agents: presence from heartbeats, delivery of queued commands, results back, leases that end lost commands.
import type { WebSocket } from 'ws';
import type { Db } from '../store/db.ts';
import { auditLogFor } from '../audit/log.ts';
import { writeTx } from '../store/tx.ts';
import type { Gate } from '../governance/gate.ts';
import { RateLimiter } from '../governance/rateLimiter.ts';
import { LEASE_EXPIRED, type Outcome, type OutcomeSource } from '../governance/commandResults.ts';
import { AgentMessage, ServerMessage, parseFrame } from '../agent/protocol.ts';
import { envelopeFor } from './signing.ts';
import { storeInventory } from './inventory.ts';
import type { AgentRow } from './enroll.ts';
import { recordAgentVersion } from './versions.ts';

export interface HubOptions {
  heartbeatSeconds: number;
  inventorySeconds: number;
  /** Added to a command's own time limit before a running command without a result is failed. */
  leaseGraceSeconds: number;
  actionLeaseSeconds: number;
  patchLeaseSeconds: number;
  /** Deliveries of one command (reconnects while it runs) before it is failed. */
  maxDeliveries: number;
}
export const DEFAULT_HUB: HubOptions = { heartbeatSeconds: 15, inventorySeconds: 3600, leaseGraceSeconds: 60, actionLeaseSeconds: 120, patchLeaseSeconds: 3600, maxDeliveries: 5 };

interface Conn { ws: WebSocket; agent: AgentRow; remote: string; ready: boolean; lastHeartbeat: number; invalid: number }
const DISPATCH_BATCH = 50;

export class AgentHub {
  private readonly conns = new Map<string, Conn>();
  private readonly timer: NodeJS.Timeout;
  private readonly offAudit: () => void;
  private readonly auditGate = new RateLimiter();
  private wakeScheduled = false;
  private lastPresenceFlush = 0;
  private readonly db: Db;
  private readonly gate: Gate;
  private readonly log: (msg: string, err?: unknown) => void;
  readonly opts: HubOptions;

  constructor(db: Db, gate: Gate, log: (msg: string, err?: unknown) => void, opts: Partial<HubOptions> = {}) {
    this.db = db;
    this.gate = gate;
    this.log = log;
    this.opts = { ...DEFAULT_HUB, ...opts };
    // No agent is connected to a process that just started.
    db.prepare(`UPDATE devices SET status = 'offline' WHERE status = 'online' AND id IN (SELECT device_id FROM agents)`).run();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    // A committed tool call or approval may have queued commands: deliver them now rather than on the next tick.
    this.offAudit = auditLogFor(db).onAppend((row) => {
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
    const old = this.conns.get(agent.device_id);
    if (old) old.ws.close(4000, 'replaced by a newer connection');
    const conn: Conn = { ws, agent, remote, ready: false, lastHeartbeat: Date.now(), invalid: 0 };
    this.conns.set(agent.device_id, conn);
    const now = new Date().toISOString();
    writeTx(this.db, () => {
      this.db.prepare('UPDATE agents SET last_connected_at = ?, last_heartbeat_at = ?, remote = ? WHERE id = ?').run(now, now, remote, agent.id);
      this.db.prepare(`UPDATE devices SET status = 'online', last_seen_at = ? WHERE id = ?`).run(now, agent.device_id);
      if (this.auditGate.take(`connect:${agent.id}`, 20).ok) {
        auditLogFor(this.db).append({ event: 'session', decision: 'allowed', outcome: 'agent connected', rule: 'agent_auth', tenant: agent.slug, remote, detail: { agentId: agent.id, deviceId: agent.device_id } });
      }
    });
    ws.on('message', (data) => {
      try {
        this.onMessage(conn, data);
      } catch (e) {
        this.log(`agent ${agent.id} message failed`, e);
      }
    });
    ws.on('close', () => this.detach(conn));
    ws.on('error', (e) => this.log(`agent ${agent.id} socket error`, e));
    this.send(conn, { type: 'welcome', deviceId: agent.device_id, heartbeatSeconds: this.opts.heartbeatSeconds, inventorySeconds: this.opts.inventorySeconds, serverTime: now });
  }

  private detach(conn: Conn): void {
    if (this.conns.get(conn.agent.device_id) !== conn) return;
    this.conns.delete(conn.agent.device_id);
    try {
      this.db.prepare(`UPDATE devices SET status = 'offline' WHERE id = ?`).run(conn.agent.device_id);
    } catch (e) {
      this.log('marking a device offline failed', e);
    }
  }

  /** A command ended: recorded through the gate (command row, audit entry, approval roll-up in one transaction). */
  private finish(commandId: string, deviceId: string, o: Outcome, src: OutcomeSource): Promise<boolean> {
    return this.gate.finishCommand(commandId, deviceId, o, src).catch((e: unknown) => {
      this.log(`recording the end of command ${commandId} failed`, e);
      return false;
    });
  }

  private send(conn: Conn, msg: ServerMessage): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    conn.ws.send(JSON.stringify(ServerMessage.parse(msg)));
    return true;
  }

  private onMessage(conn: Conn, data: unknown): void {
    const msg = parseFrame(AgentMessage, data);
    const deviceId = conn.agent.device_id;
    if (!msg) {
      if (this.auditGate.take(`invalid:${conn.agent.id}`, 10).ok) {
        auditLogFor(this.db).append({ event: 'session', decision: 'denied', code: 'AGENT_MESSAGE_INVALID', rule: 'agent_protocol', tenant: conn.agent.slug, remote: conn.remote, detail: { agentId: conn.agent.id } });
      }
      if (++conn.invalid >= 20) conn.ws.close(4002, 'too many invalid messages');
      return;
    }
    conn.lastHeartbeat = Date.now();
    switch (msg.type) {
      case 'heartbeat':
        return; // noted above; written to the store in batches by tick()
      case 'inventory':
        storeInventory(this.db, deviceId, msg);
        return;
      case 'result': {
        const r = msg.result;
        // Acknowledged once recorded: an agent that hears no ack sends the result again after reconnecting.
        void this.finish(r.commandId, deviceId, r, { cause: 'result', remote: conn.remote }).then(() => this.send(conn, { type: 'result_ack', commandId: r.commandId }));
        return;
      }
      case 'refused':
        void this.finish(msg.commandId, deviceId, { status: 'failed', exitCode: null, stdout: '', stderr: `refused by the agent (${msg.code}): ${msg.message}` },
          { cause: 'refused', code: `COMMAND_REFUSED_${msg.code}`, remote: conn.remote });
        return;
      case 'ready': {
        conn.ready = true;
        recordAgentVersion(this.db, conn.agent, msg.agentVersion, conn.remote);
        const running = new Set(msg.running);
        // Running here but not there: the agent never got it (or lost it). Deliver again; its journal keeps this at-most-once.
        const stale = this.db.prepare(`SELECT id FROM device_commands WHERE device_id = ? AND status = 'running'`).all(deviceId) as { id: string }[];
        for (const { id } of stale) if (!running.has(id)) this.deliver(conn, id, true);
        this.dispatch(conn);
        return;
      }
    }
  }

  private leaseSeconds(commandId: string): number {
    const c = this.db.prepare('SELECT kind, payload_json FROM device_commands WHERE id = ?').get(commandId) as { kind: string; payload_json: string };
    const o = this.opts;
    if (c.kind === 'script') {
      const t = Number((JSON.parse(c.payload_json) as { timeoutSeconds?: unknown }).timeoutSeconds);
      return (Number.isFinite(t) ? Math.min(Math.max(t, 1), 3600) : 300) + o.leaseGraceSeconds;
    }
    return (c.kind === 'patch_install' ? o.patchLeaseSeconds : o.actionLeaseSeconds) + o.leaseGraceSeconds;
  }

  /** Claims queued commands of a connected device (queued → running, with a lease) and sends them, oldest first. */
  private dispatch(conn: Conn): void {
    const now = new Date();
    const due = this.db.prepare(`SELECT id FROM device_commands WHERE device_id = ? AND status = 'queued' AND (not_before IS NULL OR not_before <= ?)
      ORDER BY created_at, id LIMIT ${DISPATCH_BATCH}`).all(conn.agent.device_id, now.toISOString()) as { id: string }[];
    for (const { id } of due) this.deliver(conn, id, false);
  }

  private deliver(conn: Conn, commandId: string, again: boolean): void {
    const now = new Date();
    const lease = new Date(now.getTime() + this.leaseSeconds(commandId) * 1000).toISOString();
    const agent = conn.agent;
    if (again) {
      const d = this.db.prepare('SELECT dispatch_count FROM command_dispatch WHERE command_id = ?').get(commandId) as { dispatch_count: number } | undefined;
      if (d && d.dispatch_count >= this.opts.maxDeliveries) {
        void this.finish(commandId, agent.device_id, { status: 'failed', exitCode: null, stdout: '', stderr: `delivered ${d.dispatch_count} times without a result; not retried` }, { cause: 'undeliverable', code: 'COMMAND_UNDELIVERABLE' });
        return;
      }
    }
    const ok = writeTx(this.db, () => {
      if (again) {
        this.db.prepare(`INSERT INTO command_dispatch (command_id, agent_id, dispatched_at, lease_expires_at) VALUES (?, ?, ?, ?)
          ON CONFLICT(command_id) DO UPDATE SET dispatch_count = dispatch_count + 1, lease_expires_at = excluded.lease_expires_at, agent_id = excluded.agent_id`)
          .run(commandId, agent.id, now.toISOString(), lease);
        return true;
      }
      const claimed = this.db.prepare(`UPDATE device_commands SET status = 'running', started_at = ? WHERE id = ? AND status = 'queued'`).run(now.toISOString(), commandId);
      if (claimed.changes !== 1) return false;
      this.db.prepare(`INSERT OR REPLACE INTO command_dispatch (command_id, agent_id, dispatched_at, lease_expires_at, dispatch_count) VALUES (?, ?, ?, ?, 1)`)
        .run(commandId, agent.id, now.toISOString(), lease);
      const c = this.db.prepare(`SELECT c.kind, c.payload_json, e.tool, e.approval_id, e.key_id, s.signature IS NOT NULL AS signed FROM device_commands c
        JOIN executions e ON e.id = c.execution_id LEFT JOIN command_signatures s ON s.command_id = c.id WHERE c.id = ?`)
        .get(commandId) as { kind: string; payload_json: string; tool: string; approval_id: string | null; key_id: string | null; signed: number };
      if (c.kind === 'patch_install') {
        const ids = (JSON.parse(c.payload_json) as { patchIds?: string[] }).patchIds ?? [];
        const st = this.db.prepare(`UPDATE device_patches SET state = 'installing', updated_at = ? WHERE device_id = ? AND patch_id = ? AND state = 'scheduled'`);
        for (const p of ids) st.run(now.toISOString(), agent.device_id, p);
      }
      auditLogFor(this.db).append({ event: 'execution', decision: 'allowed', outcome: 'dispatched', rule: 'agent_dispatch', keyId: c.key_id, tenant: agent.slug, tool: c.tool,
        approvalId: c.approval_id, remote: conn.remote, detail: { commandId, deviceId: agent.device_id, agentId: agent.id, kind: c.kind, signed: c.signed === 1, leaseExpiresAt: lease } });
      return true;
    });
    if (!ok) return;
    const msg = ServerMessage.safeParse({ type: 'command', command: envelopeFor(this.db, this.gate.d.store.vault, commandId) });
    if (msg.success) this.send(conn, msg.data);
    else void this.finish(commandId, agent.device_id, { status: 'failed', exitCode: null, stdout: '', stderr: 'the stored command is malformed; it was not sent' }, { cause: 'undeliverable', code: 'COMMAND_MALFORMED' });
  }

  private wake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const c of this.conns.values()) if (c.ready) this.guard(() => this.dispatch(c));
    });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log('agent hub step failed', e);
    }
  }

  /** Once a second: deliver due commands (not_before reached), end expired leases, drop silent connections. */
  tick(): void {
    const now = Date.now();
    for (const c of this.conns.values()) {
      if (now - c.lastHeartbeat > this.opts.heartbeatSeconds * 3000) c.ws.terminate();
      else if (c.ready) this.guard(() => this.dispatch(c));
    }
    if (now - this.lastPresenceFlush >= this.opts.heartbeatSeconds * 1000) {
      this.lastPresenceFlush = now;
      this.guard(() => this.flushPresence());
    }
    // Sealed secret parameter values live only as long as their approval can still send a command.
    // A revoked agent loses its live connection too, not only its next one.
    this.guard(() => {
      const revoked = this.db.prepare('SELECT device_id FROM agents WHERE revoked_at IS NOT NULL');
      for (const { device_id } of revoked.all() as { device_id: string }[]) this.conns.get(device_id)?.ws.close(4003, 'agent revoked');
    });
    this.guard(() => {
      const iso = new Date(now).toISOString();
      const maxAge = new Date(now - (3600 + this.opts.leaseGraceSeconds) * 1000).toISOString();
      const lost = this.db.prepare(`SELECT c.id, c.device_id FROM device_commands c LEFT JOIN command_dispatch d ON d.command_id = c.id
        WHERE c.status = 'running' AND (d.lease_expires_at <= ? OR (d.command_id IS NULL AND c.started_at <= ?))`).all(iso, maxAge) as { id: string; device_id: string }[];
      for (const l of lost) {
        void this.finish(l.id, l.device_id, { status: 'failed', exitCode: null, stdout: '',
          stderr: `${LEASE_EXPIRED} the agent did not report a result in time (stopped, killed or disconnected mid-command); the command is not run again` }, { cause: 'lease_expired', code: 'COMMAND_LEASE_EXPIRED' });
      }
    });
  }

  /** Heartbeats become last_seen_at / last_heartbeat_at in one transaction per interval, not one fsync per message. */
  private flushPresence(): void {
    const conns = [...this.conns.values()];
    if (!conns.length) return;
    writeTx(this.db, () => {
      const agent = this.db.prepare('UPDATE agents SET last_heartbeat_at = ? WHERE id = ?');
      const device = this.db.prepare(`UPDATE devices SET status = 'online', last_seen_at = ? WHERE id = ?`);
      for (const c of conns) {
        const at = new Date(c.lastHeartbeat).toISOString();
        agent.run(at, c.agent.id);
        device.run(at, c.agent.device_id);
      }
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.offAudit();
    const conns = [...this.conns.values()];
    this.conns.clear();
    for (const c of conns) {
      this.guard(() => this.db.prepare(`UPDATE devices SET status = 'offline' WHERE id = ?`).run(c.agent.device_id));
      c.ws.close(1001, 'server shutting down');
    }
  }
}
