// The test TCP proxy of ./tcpProxy.ts, in a process of its own. The links a test cuts must not depend on the test's
// own process keeping up: agentChannel's proxies lived in the Vitest worker, and on a loaded machine a worker that did
// not forward for three heartbeats was a silent link to both agents at once, which the console rightly dropped, so a
// test found nothing to cut. Same operations as TcpProxy, asynchronous; the counters come with stats().
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { budget, WaitTimeout } from './wait.ts';

type ProxyOp = { op: 'sever' | 'block' | 'unblock' | 'disarm' | 'freeze' | 'stats' } | { op: 'cutOnNextFromTarget'; minBytes?: number };
export type ProxyRequest = ProxyOp & { id: number };
export type ProxyReply = { id: number; result?: unknown; error?: string };

export interface ProxyStats {
  /** Connections accepted so far (refused ones included). */
  accepted: number;
  /** Connections reset by sever(), cutOnNextFromTarget() or refused by block(). */
  cut: number;
  /** Bytes from the target that cutOnNextFromTarget() dropped. */
  lostInFlight: number;
  /** Live (forwarding or frozen) connection pairs. */
  live: number;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export class ProxyProcess {
  readonly port: number;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: string | undefined;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
    child.on('message', (m: ProxyReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`proxy: ${m.error}`));
      else p.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      this.exited = `the proxy process exited (${signal ?? code})`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  /** Listens on 127.0.0.1 (a free port) in a child process and forwards to `target` (an https:// URL or a port). */
  static async start(target: string | number): Promise<ProxyProcess> {
    const child = fork(join(import.meta.dirname, 'tcpProxyChild.ts'), [JSON.stringify(target)], {
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ms = budget(15_000);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new WaitTimeout(`timed out after ${ms} ms waiting for the proxy process to listen (forwarding to ${target})`));
      }, ms);
      child.once('message', (m: ProxyReply) => {
        clearTimeout(timer);
        resolve(m.result as number);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the proxy process exited before it listened (${signal ?? code})`));
      });
    });
    return new ProxyProcess(child, port);
  }

  /** The proxy as an https:// base URL (what an agent enrolls with). */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  private ask<T>(req: ProxyOp): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...req, id } satisfies ProxyRequest);
    });
  }

  /** Resets every live connection; resolves to how many pairs were cut. */
  sever(): Promise<number> {
    return this.ask({ op: 'sever' });
  }

  /** Refuses new connections (accepted, then reset at once) until unblock(). */
  block(): Promise<void> {
    return this.ask({ op: 'block' });
  }

  unblock(): Promise<void> {
    return this.ask({ op: 'unblock' });
  }

  /** The next chunk of at least `minBytes` the target sends on each live connection is dropped and that one reset. */
  cutOnNextFromTarget(minBytes = 1): Promise<number> {
    return this.ask({ op: 'cutOnNextFromTarget', minBytes });
  }

  disarm(): Promise<void> {
    return this.ask({ op: 'disarm' });
  }

  /** Silences every live connection in both directions without closing the client's side; resolves to how many. */
  freeze(): Promise<number> {
    return this.ask({ op: 'freeze' });
  }

  stats(): Promise<ProxyStats> {
    return this.ask({ op: 'stats' });
  }

  /** Ends the proxy process (its live connections die with it). */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.disconnect();
    await gone;
  }
}
