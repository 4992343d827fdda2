import { afterAll, beforeAll, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { initStreamable, mcpHeaders, openLegacySse, rawRequest, initializeRequest } from '../helpers/raw.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.close(); });

it('probe', async () => {
  const key = t.key();
  const port = t.server.port;
  const sid = await initStreamable(port, key);
  const show = (label: string, r: any) => console.log(label, r.status, JSON.stringify(r.headers['content-type']), r.body.slice(0, 200));
  for (const body of ['{"foo":1}', '[]', '42', '"x"', 'null']) {
    show('stream+sid ' + body, await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key, sid), body }));
    show('stream-nosid ' + body, await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body }));
  }
  const sse = await openLegacySse({ port, key });
  console.log('endpoint', sse.endpoint);
  for (const body of ['{"foo":1}', '[]', '42', 'null']) {
    show('legacy ' + body, await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body }));
  }
  show('legacy ct', await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'x-api-key': key, 'content-type': 'text/plain' }, body: JSON.stringify(initializeRequest()) }));
  const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
  try { show('big CL', await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: big })); } catch (e) { console.log('big CL err', e); }
  try { show('big chunked', await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key), body: big, chunked: true })); } catch (e) { console.log('big chunked err', e); }
  try { show('big legacy chunked', await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: big, chunked: true })); } catch (e) { console.log('big legacy chunked err', e); }
  show('healthz', await rawRequest({ port, path: '/healthz' }));
  sse.close();
});
