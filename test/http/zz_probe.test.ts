import { afterAll, beforeAll, it } from 'vitest';
import { request } from 'node:http';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { initStreamable, mcpHeaders, openLegacySse, rawRequest, initializeRequest } from '../helpers/raw.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer({ serve: { limits: { maxSessionsPerKey: 2 } } }); });
afterAll(async () => { await t.close(); });

it('probe', async () => {
  const key = t.key();
  const port = t.server.port;
  const show = (label: string, r: any) => console.log(label, r.status, JSON.stringify(r.headers['content-type']), r.body.slice(0, 200));
  // concurrent inits
  const rs = await Promise.all(Array.from({ length: 6 }, () => rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: JSON.stringify(initializeRequest()) })));
  console.log('concurrent init statuses', rs.map((r) => r.status), 'sessions', t.server.sessions.size);
  // concurrent legacy
  const key2 = t.key();
  const ls = await Promise.all(Array.from({ length: 4 }, () => openLegacySse({ port, key: key2 })));
  console.log('concurrent legacy statuses', ls.map((r) => r.status));
  for (const l of ls) l.close();
  await new Promise((r) => setTimeout(r, 50));
  // host odd forms
  for (const host of [`evil.example.com@localhost:${port}`, `localhost:${port}/x`, `localhost:${port}#x`, `LOCALHOST:${port}`, `localhost.:${port}`, `[::1]:${port}`, `localhost`, ``]) {
    try { show('host ' + host, await rawRequest({ port, path: '/healthz', headers: { host } })); } catch (e) { console.log('host err', host, String(e)); }
  }
  // legacy race: stream closes during POST body
  const key3 = t.key();
  const sse = await openLegacySse({ port, key: key3 });
  const res = await new Promise<any>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: sse.endpoint!, headers: { 'x-api-key': key3, 'content-type': 'application/json', host: `127.0.0.1:${port}` }, agent: false }, (r) => {
      let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => resolve({ status: r.statusCode, body: b, headers: r.headers }));
    });
    req.on('error', reject);
    req.write('{"jsonrpc":"2.0","id":1,');
    setTimeout(() => { sse.close(); setTimeout(() => req.end('"method":"ping"}'), 100); }, 50);
  });
  console.log('legacy race', res.status, res.headers['content-type'], res.body);
  show('healthz', await rawRequest({ port, path: '/healthz' }));
});
