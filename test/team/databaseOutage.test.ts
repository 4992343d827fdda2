// The database goes away under a node (team mode): its link to PostgreSQL is cut while clients call. Calls get a clear
// error and nothing runs without its audit entry; the node stays up (/healthz), says it is not ready (/readyz), and once
// the link is back it serves again with no restart, and the chain still verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openApp, type App } from '../../src-main/app.ts';
import { startServer, type RunningServer } from '../../src-main/http/server.ts';
import { initTestDir } from '../helpers/server.ts';
import { newDatabase, postgresAvailable } from '../helpers/stores.ts';
import { TcpProxy } from '../helpers/tcpProxy.ts';
import { until } from '../helpers/wait.ts';

describe.skipIf(!postgresAvailable())(`a node whose database goes away${postgresAvailable() ? '' : ' [skipped: no PostgreSQL for this run]'}`, () => {
  let proxy: TcpProxy;
  let app: App;
  let server: RunningServer;
  let client: Client;
  let url: string;
  beforeAll(async () => {
    url = await newDatabase('outage');
    const dir = await initTestDir(url);
    proxy = await TcpProxy.start(Number(new URL(url).port));
    const via = new URL(url);
    via.port = String(proxy.port);
    app = await openApp(dir, { storeUrl: via.toString(), log: () => {}, longRunning: true });
    server = await startServer(app);
    const { secret } = await app.keys.create({ name: 'outage', scopes: ['ai:read', 'ai:write'], tenants: ['acme-dental'] });
    client = new Client({ name: 'outage-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', server.url), { requestInit: { headers: { 'X-API-Key': secret } } }));
  });
  afterAll(async () => {
    await client?.close().catch(() => {});
    await server?.close();
    await app?.close().catch(() => {});
    await proxy?.close();
  });

  it('calls fail clearly while it is away, the node stays up, and it serves again once the link is back', async () => {
    const call = () => client.callTool({ name: 'list_devices', arguments: { limit: 1 } });
    expect((await call()).isError).toBeFalsy();
    const before = await app.store.audit.count();

    proxy.block();
    proxy.sever();
    const failed = await call().then((r) => r, (e: unknown) => ({ thrown: String(e) }));
    // A tool error or a refused request, never a result that ran without its audit entry.
    expect('thrown' in failed || failed.isError).toBe(true);
    expect((await fetch(new URL('/healthz', server.url))).status).toBe(200);
    await until('not ready while the database is away', async () => (await fetch(new URL('/readyz', server.url))).status === 503);

    proxy.unblock();
    await until('ready again', async () => (await fetch(new URL('/readyz', server.url))).status === 200, 20_000, 200);
    const back = await until('calls succeed again', async () => {
      const r = await call().catch(() => undefined);
      return r && !r.isError && r;
    }, 20_000, 200);
    expect(back.isError).toBeFalsy();
    // Every call that answered is in the log, and the log is still one chain.
    expect(await app.store.audit.count()).toBeGreaterThan(before);
    expect(await app.store.audit.verify()).toMatchObject({ ok: true });
  });
});
