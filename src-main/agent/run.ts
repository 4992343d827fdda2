// `countersign agent run`: one outbound, pinned, authenticated WebSocket to the console; reconnects with backoff and jitter.
import { rmSync } from 'node:fs';
import { WebSocket } from 'ws';
import { AGENT_VERSION, AgentMessage, ServerMessage, WS_PATH, parseFrame, type CommandEnvelope, type CommandResult } from './protocol.ts';
import { Journal, loadIdentity, type Identity } from './state.ts';
import { pinnedTlsOptions } from './tls.ts';
import { acceptedUntil, CommandVerifier } from './verify.ts';
import { prepare } from './execute.ts';
import { killOrphan } from './exec.ts';
import { osName } from './inventory.ts';
import { collectInventory, collectInventoryInChild } from './inventoryReport.ts';
import type { AgentConfig } from './config.ts';
import { applyUpgrade, clearMarker, rollBack, upgradeOnStart, type UpgradeMarker } from './upgrade.ts';
import { writeStatus } from './status.ts';
import { SilenceWatch } from './silence.ts';

export interface AgentRunOptions {
  stateDir: string;
  config: AgentConfig;
  log: (line: string) => void;
  signal: AbortSignal;
  /** The agent executable, when this is one (it can then upgrade itself); null or absent when run from source. */
  self?: string | null;
  /**
   * The command line of this program's `agent inventory`: the inventory is collected in that child process, so that its
   * collectors' blocking calls never hold this process (see agent/inventoryReport.ts). Absent: collected in process.
   */
  inventoryCommand?: string[];
}

/** How a run ended: stopped by its signal, or asking the service manager for a restart (an upgrade is in place). */
export type RunEnd = 'stopped' | 'restart';

/** Full jitter: a random wait up to min(cap, base·2^attempt), so a fleet does not reconnect in lockstep. */
export const backoffMs = (attempt: number, capMs: number, baseMs = 500) => Math.random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));

export class Agent {
  private readonly id: Identity;
  private readonly journal: Journal;
  private readonly verifier: CommandVerifier;
  private readonly running = new Map<string, Promise<void>>();
  private ws: WebSocket | null = null;
  /** How the last connection closed (code and reason), for the reconnect line of the log. */
  private closedWith = '';
  private inventoryBusy = false;
  /** When this process last handed an inventory to an open socket (performance.now()). */
  private inventorySentAt: number | undefined;
  private readonly o: AgentRunOptions;
  private readonly stopper = new AbortController();
  private readonly signal: AbortSignal;
  private end: RunEnd = 'stopped';
  /** An upgrade this process is the new build of: confirmed when the console welcomes it, rolled back if it never does. */
  private upgrade: { marker: UpgradeMarker; timer: NodeJS.Timeout } | null = null;

  constructor(o: AgentRunOptions) {
    this.o = o;
    this.signal = AbortSignal.any([o.signal, this.stopper.signal]);
    this.id = loadIdentity(o.stateDir);
    this.journal = new Journal(o.stateDir);
    this.verifier = new CommandVerifier(this.id.consolePublicKey, this.id.deviceId, this.journal);
  }

  /** Commands a killed predecessor left half-done end failed (and their leftover processes are stopped), never re-run. */
  private recoverInterrupted(): void {
    for (const i of this.journal.interrupted()) {
      if (i.commandId === this.upgrade?.marker.commandId) continue;
      const killed = killOrphan(i.pid, i.commandId);
      this.journal.finish({ commandId: i.commandId, status: 'failed', exitCode: null, stdout: '', durationMs: 0,
        stderr: `interrupted: the agent stopped while this command was running (started ${i.at})${killed ? '; its leftover processes were stopped' : ''}; it is not run again` });
      this.o.log(`command ${i.commandId} was interrupted by an agent restart: reporting it failed`);
    }
  }

  /** Settles an upgrade a previous process of this agent applied (or rolled back) before the first connection. */
  private settleUpgrade(): void {
    const u = upgradeOnStart(this.o.stateDir);
    if (!u) return;
    if (u.verdict === 'failed') {
      this.journal.finish({ commandId: u.marker.commandId, status: 'failed', exitCode: null, stdout: '', stderr: `${u.message}\n`, durationMs: 0 });
      this.o.log(`upgrade ${u.marker.commandId}: ${u.message}`);
      rmSync(`${u.marker.self}.failed`, { force: true });
      clearMarker(this.o.stateDir);
      return;
    }
    const timer = setTimeout(() => {
      const reason = `${u.marker.to} was not welcomed by the console within ${this.o.config.upgradeHealthSeconds} s`;
      this.o.log(`upgrade ${u.marker.commandId}: ${reason}; putting ${u.marker.from} back`);
      try {
        rollBack(this.o.stateDir, u.marker, reason);
        this.restart();
      } catch (e) {
        this.o.log(`rollback failed: ${(e as Error).message}`);
      }
    }, this.o.config.upgradeHealthSeconds * 1000);
    timer.unref();
    this.upgrade = { marker: u.marker, timer };
  }

  /** The new build is connected: the upgrade is done, and the kept old build goes. */
  private confirmUpgrade(): void {
    const u = this.upgrade;
    if (!u) return;
    this.upgrade = null;
    clearTimeout(u.timer);
    this.journal.finish({ commandId: u.marker.commandId, status: 'completed', exitCode: 0, stdout: `upgraded from ${u.marker.from} to ${u.marker.to}\n`, stderr: '', durationMs: 0 });
    rmSync(u.marker.previous, { force: true });
    clearMarker(this.o.stateDir);
    this.o.log(`upgrade ${u.marker.commandId}: now running ${u.marker.to}`);
  }

  private restart(): void {
    this.end = 'restart';
    this.stopper.abort();
  }

  async run(): Promise<RunEnd> {
    this.settleUpgrade();
    this.recoverInterrupted();
    let attempt = 0;
    while (!this.signal.aborted) {
      const welcomed = await this.connectOnce().catch((e: NodeJS.ErrnoException) => {
        const tlsRefused = /CERT|SELF_SIGNED|ERR_TLS/.test(String(e.code));
        this.o.log(`connection failed: ${tlsRefused ? `certificate pin mismatch: the server did not present the certificate pinned at enrollment (${e.message})` : e.message}`);
        return false;
      });
      if (this.signal.aborted) break;
      attempt = welcomed ? 0 : attempt + 1;
      const wait = backoffMs(attempt, this.o.config.maxBackoffSeconds * 1000);
      this.o.log(`disconnected${this.closedWith ? ` (${this.closedWith})` : ''}; reconnecting in ${Math.round(wait)} ms`);
      this.closedWith = '';
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
    }
    await Promise.allSettled(this.running.values());
    return this.end;
  }

  private send(msg: AgentMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(AgentMessage.parse(msg)));
    return true;
  }

  /** Resolves when the socket closes: true if the console welcomed us (the backoff then starts over). */
  private connectOnce(): Promise<boolean> {
    const url = new URL(WS_PATH, this.id.url).href.replace(/^https:/, 'wss:');
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.id.agentId}.${this.id.secret}` }, ...pinnedTlsOptions(this.id.certPem, this.id.certSha256),
      handshakeTimeout: 15_000, maxPayload: 16 * 1_048_576,
    });
    this.ws = ws;
    let welcomed = false;
    const timers: NodeJS.Timeout[] = [];
    return new Promise((resolve, reject) => {
      const onAbort = () => ws.close(1001, 'agent stopping');
      this.signal.addEventListener('abort', onAbort, { once: true });
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`the console refused the connection: HTTP ${res.statusCode}`));
      });
      ws.on('error', (e) => !welcomed && reject(e));
      ws.on('close', (code, reason) => {
        // Said in the log: 1006 is a link lost (reset, or dropped by us for silence), 4000–4003 the console's own reasons.
        this.closedWith = `close ${code}${reason.length ? `: ${reason.toString('utf8').slice(0, 120)}` : ''}`;
        timers.forEach(clearInterval);
        this.signal.removeEventListener('abort', onAbort);
        if (this.ws === ws) this.ws = null;
        if (welcomed) writeStatus(this.o.stateDir, false, AGENT_VERSION);
        resolve(welcomed);
      });
      // A link that goes silent (NAT timeout, partition) gives no close and no error: TCP would notice only after
      // ~15 minutes. Anything heard from the console counts as life; after 3 silent heartbeats the socket is dropped
      // (SilenceWatch: not on a tick that came late because this process was busy).
      let silence: SilenceWatch | undefined;
      ws.on('pong', () => silence?.heardAt());
      ws.on('message', (data) => {
        silence?.heardAt();
        const msg = parseFrame(ServerMessage, data);
        if (!msg) return this.o.log('dropped a malformed message from the console');
        if (msg.type === 'welcome') {
          if (msg.deviceId !== this.id.deviceId) return ws.close(4001, 'device mismatch');
          welcomed = true;
          this.o.log(`connected ${this.id.url} device ${this.id.deviceId} (agent ${AGENT_VERSION})`);
          writeStatus(this.o.stateDir, true, AGENT_VERSION);
          this.confirmUpgrade();
          for (const r of this.journal.outbox()) this.send({ type: 'result', result: r });
          this.send({ type: 'ready', running: [...this.running.keys()], agentVersion: AGENT_VERSION });
          const watch = (silence = new SilenceWatch(msg.heartbeatSeconds * 1000));
          timers.push(setInterval(() => {
            if (watch.tick()) {
              this.o.log('the console went silent; reconnecting');
              ws.terminate();
              return;
            }
            ws.ping();
            this.send({ type: 'heartbeat', at: new Date().toISOString() });
          }, msg.heartbeatSeconds * 1000));
          timers.push(setInterval(() => void this.reportInventory(), msg.inventorySeconds * 1000));
          // On this process's first connection, and on a reconnection once the interval has passed: a flapping link
          // does not cost the machine a full inventory (a hundred short-lived processes on Linux) per reconnect, nor
          // the console its rewrite. An inventory lost in a cut arrives with the next interval, or at the console's
          // inventory_request.
          const since = this.inventorySentAt === undefined ? undefined : Math.round((performance.now() - this.inventorySentAt) / 1000);
          if (since === undefined || since >= msg.inventorySeconds) void this.reportInventory();
          else this.o.log(`inventory not due: reported ${since} s ago, every ${msg.inventorySeconds} s`);
        } else if (msg.type === 'command') this.onCommand(msg.command);
        else if (msg.type === 'result_ack') this.journal.ack(msg.commandId);
        else if (msg.type === 'inventory_request') void this.reportInventory();
      });
    });
  }

  private onCommand(c: CommandEnvelope): void {
    if (this.running.has(c.commandId)) return; // already running here: a redelivery, not a new command
    const verdict = this.verifier.check(c);
    if (!verdict.ok) {
      this.o.log(`refused command ${c.commandId}: ${verdict.code}: ${verdict.message}`);
      this.send({ type: 'refused', commandId: c.commandId, code: verdict.code, message: verdict.message });
      return;
    }
    if (c.kind === 'device_action' && c.payload.action === 'upgrade_agent') return this.onUpgrade(c);
    const prepared = prepare(c, {
      stateDir: this.o.stateDir, os: osName(), config: this.o.config, consoleHost: new URL(this.id.url).hostname.replace(/^\[|\]$/g, ''),
      onSpawn: (pid) => this.journal.setPid(c.commandId, pid), signal: this.signal, boxPrivateKey: this.id.boxPrivateKey,
    });
    if (!prepared.ok) {
      this.journal.start(c.commandId, c.nonce, acceptedUntil(c)); // signed: its id is used up even though it cannot run
      this.journal.finish({ commandId: c.commandId, status: 'failed', exitCode: null, stdout: '', stderr: `not run: ${prepared.message}`, durationMs: 0 });
      this.o.log(`command ${c.commandId} cannot run: ${prepared.message}`);
      this.send({ type: 'refused', commandId: c.commandId, code: 'MALFORMED', message: prepared.message });
      this.journal.ack(c.commandId);
      return;
    }
    this.journal.start(c.commandId, c.nonce, acceptedUntil(c));
    this.o.log(`running command ${c.commandId} (${c.kind})`);
    const job = prepared.run().then((o) => this.complete({ commandId: c.commandId, ...o }), (e: Error) =>
      this.complete({ commandId: c.commandId, status: 'failed', exitCode: null, stdout: '', stderr: `agent error: ${e.message}`, durationMs: 0 }));
    this.running.set(c.commandId, job.finally(() => {
      this.running.delete(c.commandId);
      if (c.kind === 'patch_install') void this.reportInventory();
    }));
  }

  /** An upgrade's result is reported by the process that comes up after it (confirmUpgrade / settleUpgrade), unless it failed here. */
  private onUpgrade(c: CommandEnvelope): void {
    this.journal.start(c.commandId, c.nonce, acceptedUntil(c));
    this.o.log(`upgrading (command ${c.commandId})`);
    const job = applyUpgrade(c.commandId, c.payload, {
      stateDir: this.o.stateDir, identity: this.id, self: this.o.self ?? null, signal: this.signal, onSpawn: (pid) => this.journal.setPid(c.commandId, pid),
    }).then(({ restart, ...o }) => {
      if (!restart) return this.complete({ commandId: c.commandId, ...o });
      this.o.log(o.stdout.trim());
      this.restart();
    });
    this.running.set(c.commandId, job.finally(() => this.running.delete(c.commandId)));
  }

  private complete(r: CommandResult): void {
    this.journal.finish(r);
    this.o.log(`command ${r.commandId} ${r.status}${r.exitCode === null ? '' : ` (exit ${r.exitCode})`}`);
    this.send({ type: 'result', result: r });
  }

  async reportInventory(): Promise<void> {
    if (this.inventoryBusy) return;
    this.inventoryBusy = true;
    try {
      const { facts, hardware, software, patches } = this.o.inventoryCommand
        ? await collectInventoryInChild([...this.o.inventoryCommand, ...(this.id.hostname ? ['--hostname', this.id.hostname] : [])], this.o.log, this.signal)
        : await collectInventory(this.o.config, this.o.log, this.id.hostname);
      if (this.signal.aborted) return;
      if (this.send({ type: 'inventory', facts, hardware, software, patches })) {
        this.inventorySentAt = performance.now();
        this.o.log(`inventory sent: ${software.length} programs${patches ? `, ${patches.updates.length} updates` : ''}`);
      }
    } catch (e) {
      if (!this.signal.aborted) this.o.log(`inventory failed: ${(e as Error).message}`);
    } finally {
      this.inventoryBusy = false;
    }
  }
}

export async function runAgent(o: AgentRunOptions): Promise<void> {
  await new Agent(o).run();
}
