// @ai-sdk/mcp 2.0.99 (Vercel AI SDK): the one MCP client found that is written independently of
// @modelcontextprotocol/sdk. In-process, over real loopback HTTP to a real Countersign, on both transports and both
// protocol eras (with its server/discover probe it speaks 2026-07-28; without it, a 2025-11-25 session).
import { createMCPClient, type MCPClient } from '@ai-sdk/mcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { budget, until } from '../helpers/wait.ts';
import { flowOf, note, stopServer, sdkToolNames } from './procs.ts';

let t: TestServer;
let productTools: string[];
describeStores('@ai-sdk/mcp', (store) => {
  beforeAll(async () => {
    t = await startTestServer({ store });
    productTools = await sdkToolNames(t);
  });
  afterAll(async () => {
    await stopServer(t);
  });

  const CASES = [
    { name: 'sse', type: 'sse', path: '/api/v1/mcp/sse', discovery: false, stateless: false },
    // By default it probes with server/discover; Countersign answers it, so the client speaks 2026-07-28, statelessly.
    { name: 'http (server/discover, then 2026-07-28 stateless)', type: 'http', path: '/api/v1/mcp', discovery: true, stateless: true },
    { name: 'http (initialize only)', type: 'http', path: '/api/v1/mcp', discovery: false, stateless: false },
  ] as const;

  describe.each(CASES)('@ai-sdk/mcp over $name', ({ type, path, discovery, stateless }) => {
    let client: MCPClient | undefined;
    let sessionsBefore = 0;
    afterAll(async () => {
      await client?.close().catch(() => {});
    });

    it('connects, lists the product tools and calls list_devices', async () => {
      sessionsBefore = t.server.sessions.size;
      client = await createMCPClient({ transport: { type, url: `${t.url}${path}`, headers: { 'X-API-Key': await t.key({ name: `ai-sdk-${type}` }) } }, protocolVersionDiscovery: discovery, clientName: 'countersign-ai-sdk-test' });
      expect(client.serverInfo).toMatchObject({ name: 'countersign', version: '0.1.0' });
      const { tools } = await client.listTools();
      expect(tools.map((x) => x.name)).toEqual(productTools);
      const r = await client.callTool({ name: 'list_devices', arguments: { limit: 3, os: 'windows' } });
      expect(r.isError).toBeFalsy();
      const devices = (r.structuredContent as { devices: { os: string }[] }).devices;
      expect(devices).toHaveLength(3);
      expect(devices.every((d) => d.os === 'windows')).toBe(true);
      // Its AI SDK tool set is built from the same definitions.
      expect(Object.keys(client.toolsFromDefinitions({ tools }))).toEqual(productTools);
    });

    it('its flow for a tier-3 call: it declares neither tasks nor URL elicitation, so the pending result (audited as such)', async () => {
      const device = (await client!.callTool({ name: 'list_devices', arguments: { limit: 1, os: 'windows' } })).structuredContent as { devices: { id: string }[] };
      const body = `Write-Output "ai-sdk ${type} ${discovery}"`;
      const r = await client!.callTool({ name: 'run_script', arguments: { language: 'powershell', body, deviceIds: [device.devices[0]!.id] } });
      const pending = r.structuredContent as { status: string; approvalId: string };
      expect(pending.status).toBe('pending_approval');
      const flow = await flowOf(t, pending.approvalId);
      expect(flow).toMatchObject({ view: 'pending_result', client: 'countersign-ai-sdk-test 1.0.0' });
      // Over 2026-07-28 there is no session; the session era records the one it opened.
      expect(flow.sessionId === null).toBe(stateless);
    });

    it(stateless ? 'close(): the stateless era opened no session to end' : 'close() ends the server session (over Streamable HTTP it sends DELETE)', async () => {
      const before = t.server.sessions.size;
      expect(before).toBe(stateless ? sessionsBefore : sessionsBefore + 1);
      await client!.close();
      client = undefined;
      if (stateless) return;
      await until('the server session to end', () => t.server.sessions.size < before, 2_000, 10);
      expect(t.server.sessions.size).toBe(before - 1);
    });

    it('a wrong key fails fast with the 401 reason', async () => {
      const started = performance.now();
      const err = await createMCPClient({ transport: { type, url: `${t.url}${path}`, headers: { 'X-API-Key': 'csk_not_a_real_key_000000000000' } }, protocolVersionDiscovery: discovery })
        .then(() => undefined, (e: unknown) => e as Error);
      const ms = Math.round(performance.now() - started);
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/401/);
      expect(err!.message).toContain('Unauthorized: invalid API key');
      expect(ms).toBeLessThan(budget(2_000));
      note(`ai-sdk ${type}${discovery ? ' (discover)' : ''} wrong key`, `${ms} ms`);
    });
  });
});
