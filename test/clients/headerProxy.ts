// Test-only loopback reverse proxy that adds headers to every request, for clients that cannot send custom headers
// (the conformance CLI builds its own transports with no header option). Streams both ways, so SSE responses flow
// as they are written. Host and Origin pass through unchanged: the dns-rebinding scenario depends on that.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeaderProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Requests forwarded so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startHeaderProxy(upstream: string, inject: Record<string, string>): Promise<HeaderProxy> {
  const target = new URL(upstream);
  const extra = Object.fromEntries(Object.entries(inject).map(([k, v]) => [k.toLowerCase(), v]));
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, ...extra }, setHost: false, agent: false }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      res.flushHeaders();
      upRes.pipe(res);
    });
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() { return requests; },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
