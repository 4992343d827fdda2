// A test-only TCP proxy on loopback, for faults on a connection that the test must be able to cut. It forwards bytes
// and never terminates TLS, so a certificate pinned through it is still the target's. The test can:
// - sever(): reset every live connection (both sides see a RST, as when a router or the peer drops the link);
// - block()/unblock(): refuse new connections (accepted, then reset at once) while the link is "down";
// - cutOnNextFromTarget(): let the next bytes the target sends die with the connection (a frame lost in flight), or
//   only the next chunk of at least so many bytes (a command, not a WebSocket pong: the proxy sees TLS records only);
// - freeze(): make every live connection silent in both directions without passing a close either way (a half-open
//   link: a NAT timeout, a partition); each side has to notice the silence by itself.
import net, { type AddressInfo, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  frozen: boolean;
  /** The next chunk from the target of at least this many bytes is dropped and the pair reset (0: none armed). */
  cutOnData: number;
}

export class TcpProxy {
  readonly server: net.Server;
  readonly port: number;
  targetPort: number;
  readonly targetHost: string;
  private readonly pairs = new Set<Pair>();
  /** The target's sides of frozen links whose client has gone: silent, until the target closes them or sever(). */
  private readonly orphans = new Set<Socket>();
  private blocked = false;
  /** Connections accepted so far (refused ones included). */
  accepted = 0;
  /** Connections reset by sever(), cutOnNextFromTarget() or refused by block(). */
  cut = 0;
  /** Bytes from the target that cutOnNextFromTarget() dropped. */
  lostInFlight = 0;

  private constructor(server: net.Server, targetHost: string, targetPort: number) {
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.targetHost = targetHost;
    this.targetPort = targetPort;
  }

  /** Listens on 127.0.0.1 (a free port) and forwards to `target` (an https:// URL or a port on 127.0.0.1). */
  static async start(target: string | number): Promise<TcpProxy> {
    const u = typeof target === 'number' ? { hostname: '127.0.0.1', port: String(target) } : new URL(target);
    let proxy: TcpProxy | undefined;
    const server = net.createServer((c) => proxy!.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, u.hostname.replace(/^\[|\]$/g, ''), Number(u.port));
    return proxy;
  }

  /** The proxy as an https:// base URL (what an agent enrolls with). */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Live (forwarding or frozen) connection pairs. */
  get live(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.blocked) {
      this.cut++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    upstream.on('error', () => {});
    const pair: Pair = { client, upstream, frozen: false, cutOnData: 0 };
    this.pairs.add(pair);
    // Forwarded by hand (not pipe) so that a frozen pair can swallow data and closes in both directions.
    client.on('data', (d) => {
      if (!pair.frozen && !upstream.destroyed) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (pair.cutOnData && d.length >= pair.cutOnData) {
        this.pairs.delete(pair);
        this.cut++;
        this.lostInFlight += d.length;
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        return;
      }
      if (!pair.frozen && !client.destroyed) client.write(d);
    });
    client.on('end', () => !pair.frozen && upstream.end());
    upstream.on('end', () => !pair.frozen && client.end());
    client.on('close', () => {
      this.pairs.delete(pair);
      if (upstream.destroyed) return;
      // Half-open both ways: a client that gives up on a frozen link must not tell the target either, which has to
      // find out by itself (its own silence check). The target's side is kept until it closes it, or until sever().
      if (pair.frozen) this.orphans.add(upstream);
      else upstream.destroy();
    });
    upstream.on('close', () => {
      this.orphans.delete(upstream);
      if (pair.frozen) return; // the client must not learn that the far side went away
      this.pairs.delete(pair);
      if (!client.destroyed) client.destroy();
    });
  }

  /** Resets every live connection; returns how many pairs were cut. */
  sever(): number {
    const n = this.pairs.size;
    for (const p of [...this.pairs]) {
      this.pairs.delete(p);
      if (!p.client.destroyed) p.client.resetAndDestroy();
      if (!p.upstream.destroyed) p.upstream.resetAndDestroy();
    }
    this.cut += n;
    for (const u of this.orphans) u.resetAndDestroy();
    this.orphans.clear();
    return n;
  }

  block(): void {
    this.blocked = true;
  }

  unblock(): void {
    this.blocked = false;
  }

  /**
   * The next bytes the target sends on each live connection (the next chunk of at least `minBytes`) are dropped, and
   * that connection is reset. Returns how many are armed.
   */
  cutOnNextFromTarget(minBytes = 1): number {
    for (const p of this.pairs) p.cutOnData = minBytes;
    return this.pairs.size;
  }

  /** Undoes cutOnNextFromTarget() on the connections where it has not fired yet. */
  disarm(): void {
    for (const p of this.pairs) p.cutOnData = 0;
  }

  /** Silences every live connection (both directions, closes included); new connections still pass. Returns how many. */
  freeze(): number {
    for (const p of this.pairs) p.frozen = true;
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
