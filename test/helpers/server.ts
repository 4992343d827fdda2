// A real Countersign on port 0 over a real SQLite file, and real SDK clients over both transports.
import { mkdtempSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { initDataDir, openApp, type App } from '../../src-main/app.ts';
import { seedDemoFleet } from '../../src-main/demo/seed.ts';
import { hashPassphrase } from '../../src-main/auth/passphrase.ts';
import { writeAdminPassphraseHash } from '../../src-main/auth/credentialBinding.ts';
import { bindingKey } from '../../src-main/governance/binding.ts';
import { startServer, type RunningServer, type ServeOptions } from '../../src-main/http/server.ts';
import type { SessionServerFactory } from '../../src-main/mcp/sessionServer.ts';
import type { CreateKeyInput } from '../../src-main/auth/keys.ts';
import { storeUrlFor, type StoreKind } from './stores.ts';

export type TransportKind = 'sse' | 'http';
export const TRANSPORTS: TransportKind[] = ['sse', 'http'];
export const PASSPHRASE = 'test passphrase 123';

export interface TestServer {
  dir: string;
  /** Team mode: the PostgreSQL database this server runs on (undefined: SQLite in dir). */
  storeUrl: string | undefined;
  app: App;
  server: RunningServer;
  url: string;
  key(input?: Partial<CreateKeyInput>): Promise<string>;
  connect(kind: TransportKind, key: string, opts?: { seedUrl?: boolean }): Promise<Client>;
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
  close(): Promise<void>;
}

// scrypt at the product's cost (~100 ms of CPU) once per test file rather than once per install: every install of the
// file gets the same (valid, salted) hash of the test passphrase; sign-in still verifies it at full cost.
let passphraseHash: Promise<string> | undefined;

/** A seeded install with the test passphrase; on PostgreSQL when `storeUrl` is given. */
export async function initTestDir(storeUrl?: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-srv-'));
  const { store, secrets } = await initDataDir(dir, undefined, { storeUrl });
  await seedDemoFleet(store, { seed: 7, now: new Date() });
  const hash = await (passphraseHash ??= hashPassphrase(PASSPHRASE));
  await store.write((tx) => writeAdminPassphraseHash(bindingKey(secrets.hmacKey), tx.sql, hash));
  await store.close();
  return dir;
}

/** `sessionServer`: a test build's own MCP session composition (the conformance fixtures); default the product's. */
export async function startTestServer(opts: { env?: NodeJS.ProcessEnv; serve?: ServeOptions; dir?: string; sessionServer?: SessionServerFactory; store?: StoreKind; storeUrl?: string } = {}): Promise<TestServer> {
  const storeUrl = opts.storeUrl ?? (await storeUrlFor(opts.store ?? 'sqlite', 'server'));
  const dir = opts.dir ?? (await initTestDir(storeUrl));
  const clients: Client[] = [];
  let env = opts.env ?? {};
  let app = await openApp(dir, { env, log: () => {}, storeUrl });
  let server = await startServer(app, opts.serve, opts.sessionServer);
  const t: TestServer = {
    dir,
    storeUrl,
    get app() { return app; },
    get server() { return server; },
    get url() { return server.url; },
    async key(input = {}) {
      return (await app.keys.create({ name: 'test', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: ['acme-dental'], role: 'admin', ...input })).secret;
    },
    async connect(kind, key, o = {}) {
      const client = new Client({ name: 'countersign-test', version: '1.0.0' });
      const headers = { 'X-API-Key': key };
      const url = new URL(kind === 'sse' || o.seedUrl ? '/api/v1/mcp/sse' : '/api/v1/mcp', server.url);
      const transport = kind === 'sse'
        ? new SSEClientTransport(url, { requestInit: { headers }, eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) } })
        : new StreamableHTTPClientTransport(url, { requestInit: { headers } });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async restart(newEnv) {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
      await server.close();
      await app.close();
      env = newEnv ?? env;
      app = await openApp(dir, { env, log: () => {}, storeUrl });
      server = await startServer(app, opts.serve, opts.sessionServer);
    },
    async close() {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
      await server.close();
      await app.close();
    },
  };
  return t;
}

/**
 * The usual suite setup: a server for the whole describe block (or file) and one key on it, closed afterwards.
 * `bind` receives them, so tests keep plain `t`, `port` and `key` variables.
 */
export function useServerWithKey(name: string, bind: (s: { t: TestServer; port: number; key: string }) => void, opts?: Parameters<typeof startTestServer>[0]): void {
  let t: TestServer | undefined;
  beforeAll(async () => {
    t = await startTestServer(opts);
    bind({ t, port: t.server.port, key: await t.key({ name }) });
  });
  afterAll(async () => {
    await t?.close();
  });
}
