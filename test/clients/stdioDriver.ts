// A minimal MCP client over stdio (newline-delimited JSON-RPC), to drive a stdio bridge such as mcp-remote the way
// Claude Desktop does: requests with timeouts, notifications collected, server requests answered.
import type { ChildProcess } from 'node:child_process';
import { killTree } from './procs.ts';
import { budget } from '../helpers/wait.ts';

export interface RpcResponse {
  jsonrpc: '2.0';
  id: number;
  result?: any;
  error?: { code: number; message: string; data?: unknown };
}

export interface RpcMessage {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: any;
}

export class StdioDriver {
  readonly child: ChildProcess;
  readonly notifications: RpcMessage[] = [];
  readonly serverRequests: RpcMessage[] = [];
  stderr = '';
  /** Resolves with the exit code (or signal) and the milliseconds since the driver started. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  private readonly started = performance.now();
  private readonly pending = new Map<number, { resolve: (r: RpcResponse) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private buffer = '';

  constructor(child: ChildProcess) {
    this.child = child;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        // 'close', not 'exit': it fires once stderr is drained, so the last lines are always in this.stderr.
        const ms = Math.round(performance.now() - this.started);
        for (const p of this.pending.values()) p.reject(new Error(`bridge exited (code ${code}, signal ${signal}) after ${ms} ms`));
        this.pending.clear();
        resolve({ code, signal, ms });
      });
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, i).trim();
      this.buffer = this.buffer.slice(i + 1);
      if (!line) continue;
      let msg: RpcMessage & RpcResponse;
      try {
        msg = JSON.parse(line);
      } catch {
        continue; // not JSON-RPC (a bridge must not print anything else on stdout, but do not crash on it)
      }
      if (msg.method === undefined && typeof msg.id === 'number' && this.pending.has(msg.id)) {
        this.pending.get(msg.id)!.resolve(msg);
        this.pending.delete(msg.id);
      } else if (msg.method !== undefined && msg.id !== undefined) {
        this.serverRequests.push(msg);
        // roots/list is the only request a client without capabilities gets; anything else is declined.
        this.send(msg.method === 'roots/list' ? { id: msg.id, result: { roots: [] } } : { id: msg.id, error: { code: -32601, message: `driver: ${msg.method} not supported` } });
      } else if (msg.method !== undefined) {
        this.notifications.push(msg);
      }
    }
  }

  send(message: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  }

  notify(method: string, params?: unknown): void {
    this.send(params === undefined ? { method } : { method, params });
  }

  /** Fails naming `method` when no answer came within budget(baseMs). */
  request(method: string, params: unknown, baseMs: number): Promise<RpcResponse> {
    const id = this.nextId++;
    const timeoutMs = budget(baseMs);
    return new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`timeout after ${timeoutMs} ms waiting for ${method}; bridge stderr:\n${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.send({ id, method, params });
    });
  }

  /** initialize + notifications/initialized, as a 2025-06-18 client with no capabilities. */
  async initialize(timeoutMs: number): Promise<RpcResponse> {
    const r = await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'countersign-stdio-driver', version: '1.0.0' } }, timeoutMs);
    if (!r.error) this.notify('notifications/initialized');
    return r;
  }

  /** Closes stdin (a stdio server should exit on EOF), then kills the process group if it lingers. */
  async close(graceMs = 2_000): Promise<void> {
    this.child.stdin!.end();
    const timer = setTimeout(() => killTree(this.child), budget(graceMs));
    await this.exited;
    clearTimeout(timer);
  }
}
