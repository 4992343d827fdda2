// mcp-remote 0.15.1, the stdio bridge Claude Desktop users run, driven over stdio like Claude Desktop drives it:
// initialize, tools/list, tools/call over both transports; a wrong key makes it exit at once (no OAuth wait).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { budget, within } from '../helpers/wait.ts';
import { cleanup, clientEnv, CLIENTS, flowOf, note, start, stopServer, tempDir, sdkToolNames } from './procs.ts';
import { StdioDriver } from './stdioDriver.ts';
import { claudeDesktopBridge } from './readmeSnippets.ts';

let t: TestServer;
let productTools: string[];
describeStores('mcp-remote', (store) => {
  beforeAll(async () => {
    t = await startTestServer({ store });
    productTools = await sdkToolNames(t);
  });
  afterAll(async () => {
    cleanup();
    await stopServer(t);
  });

  /** mcp-remote URL ARGS… under a fresh HOME (it keeps OAuth state in ~/.mcp-auth). */
  function bridge(path: string, args: string[], env: NodeJS.ProcessEnv = {}): StdioDriver {
    return new StdioDriver(start([...CLIENTS.mcpRemote, `${t.url}${path}`, ...args], { env: clientEnv(tempDir('cs-mcp-remote-home-'), env) }));
  }

  const CASES = [
    { name: 'sse-only on /api/v1/mcp/sse', path: '/api/v1/mcp/sse', transport: ['--transport', 'sse-only'], uses: 'SSEClientTransport' },
    { name: 'http-only on /api/v1/mcp', path: '/api/v1/mcp', transport: ['--transport', 'http-only'], uses: 'StreamableHTTPClientTransport' },
    // README.md's Claude Desktop entry, read from the README: default transport (http-first), the key in env, expanded by mcp-remote itself.
    { name: 'the README Claude Desktop entry (http-first, X-API-Key:${COUNTERSIGN_KEY})', path: '/api/v1/mcp', transport: [], uses: 'StreamableHTTPClientTransport', fromReadme: true },
  ];

  describe.concurrent('mcp-remote over stdio', () => {
    it.each(CASES)('$name: initialize, tools/list, tools/call list_devices', async (c) => {
      const key = await t.key({ name: `mcp-remote ${c.name}` });
      let d: StdioDriver;
      if (c.fromReadme) {
        const entry = claudeDesktopBridge(t.url, key);
        expect(entry.args).toEqual([`${t.url}/api/v1/mcp`, '--header', 'X-API-Key:${COUNTERSIGN_KEY}']);
        expect(entry.env).toEqual({ COUNTERSIGN_KEY: key });
        d = bridge(c.path, entry.args.slice(1), entry.env);
      } else {
        d = bridge(c.path, [...c.transport, '--header', `X-API-Key:${key}`]);
      }
      try {
        const init = await d.initialize(15_000);
        expect(init.error, d.stderr.slice(-2000)).toBeUndefined();
        expect(init.result.serverInfo).toMatchObject({ name: 'countersign', version: '0.1.0' });
        expect(init.result.instructions).toContain('Countersign governs');

        const list = await d.request('tools/list', {}, 10_000);
        expect(list.error).toBeUndefined();
        expect(list.result.tools.map((x: { name: string }) => x.name)).toEqual(productTools);

        const call = await d.request('tools/call', { name: 'list_devices', arguments: { limit: 2 } }, 10_000);
        expect(call.error).toBeUndefined();
        expect(call.result.isError).toBeFalsy();
        expect(call.result.structuredContent.devices).toHaveLength(2);

        // A refusal (wipe is tier 4) travels back as a tool result, not a transport error.
        const refused = await d.request('tools/call', { name: 'device_actions', arguments: { action: 'wipe', deviceIds: [call.result.structuredContent.devices[0].id] } }, 10_000);
        expect(refused.result.isError).toBe(true);
        expect(JSON.parse(refused.result.content[0].text).error.code).toBe('TIER4_BLOCKED');

        // Its flow for a tier-3 call: it passes on the capabilities of its stdio client (none here), so the pending result.
        const device = call.result.structuredContent.devices[1].id;
        const pending = await d.request('tools/call', { name: 'device_actions', arguments: { action: 'reboot', deviceIds: [device], reason: `mcp-remote ${c.name}` } }, 10_000);
        expect(pending.result.structuredContent.status).toBe('pending_approval');
        expect(await flowOf(t, pending.result.structuredContent.approvalId)).toMatchObject({ view: 'pending_result', client: expect.stringContaining('countersign-stdio-driver') });

        expect(d.stderr).toContain(`Connected to remote server using ${c.uses}`);
      } finally {
        await d.close();
      }
    }, budget(40_000));

    it.each([
      { name: 'sse-only', path: '/api/v1/mcp/sse', transport: 'sse-only' },
      { name: 'http-only', path: '/api/v1/mcp', transport: 'http-only' },
    ])('$name with a wrong key: exits within seconds with the reason, no browser flow', async (c) => {
      const d = bridge(c.path, ['--transport', c.transport, '--header', 'X-API-Key:csk_not_a_real_key_000000000000']);
      try {
        // The initialize never gets an answer: the bridge gives up before serving stdio.
        const init = d.initialize(15_000).catch((e: Error) => e);
        const exit = await within(() => `mcp-remote ${c.transport} to exit on a wrong key; stderr:\n${d.stderr.slice(-2000)}`, d.exited, 10_000);
        expect(exit.code).toBe(1);
        expect(exit.ms).toBeLessThan(budget(5_000));
        expect(await init).toBeInstanceOf(Error);
        // 401 → OAuth discovery → our fast 404s on /.well-known/* and /register → a fatal error instead of "Waiting for authorization".
        expect(d.stderr).toContain('Fatal error: RegistrationRejectedError: Dynamic Client Registration rejected (HTTP 404)');
        expect(d.stderr).toContain('this server uses X-API-Key, not OAuth');
        expect(d.stderr).not.toContain('Please authorize this client by visiting');
        note(`mcp-remote ${c.transport} wrong key`, `exit ${exit.code} after ${exit.ms} ms`);
      } finally {
        await d.close();
      }
    }, budget(20_000));
  });
});
