// MCP Inspector CLI 2.12.0 (`mcp-inspector --cli`) against a real Countersign, on both transports:
// tools/list --strict, a tools/call of list_devices, a bounded --load run, and a wrong key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { cleanup, clientEnv, CLIENTS, flowOf, note, run, stopServer, tempDir, sdkToolNames } from './procs.ts';

const PATHS = { sse: '/api/v1/mcp/sse', http: '/api/v1/mcp' } as const;

let t: TestServer;
let home: string;
let productTools: string[];
describeStores('MCP Inspector', (store) => {
  beforeAll(async () => {
    t = await startTestServer({ store });
    home = tempDir('cs-inspector-home-');
    productTools = await sdkToolNames(t);
  });
  afterAll(async () => {
    cleanup();
    await stopServer(t);
  });

  /** `mcp-inspector --cli URL --transport KIND --header "X-API-Key: KEY" …`; --stored-auth-only: never start an interactive OAuth flow. */
  const inspector = (kind: 'sse' | 'http', key: string, args: string[], timeoutMs = 30_000) =>
    run([...CLIENTS.inspector, `${t.url}${PATHS[kind]}`, '--transport', kind, '--header', `X-API-Key: ${key}`, '--stored-auth-only', ...args], { env: clientEnv(home), timeoutMs });

  describe.each(TRANSPORTS)('Inspector CLI over %s', (kind) => {
    let key: string;
    beforeAll(async () => {
      key = await t.key({ name: `inspector-${kind}` });
    });

    it('tools/list --strict: every product tool, 0 error-severity schema problems (exit 0)', async () => {
      const r = await inspector(kind, key, ['--method', 'tools/list', '--strict', '--format', 'json']);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const { result } = JSON.parse(r.stdout) as { result: { tools: { name: string; inputSchema: { type: string } }[] } };
      expect(result.tools.map((x) => x.name)).toEqual(productTools);
      expect(result.tools.every((x) => x.inputSchema.type === 'object')).toBe(true);
      // --strict exits 6 on any error-severity problem; warnings (nullable `type` arrays, free-form objects) are allowed.
      expect(r.stderr).toMatch(/\b0 errors, \d+ warnings across \d+ tools\./);
    }, budget(40_000));

    it('tools/call list_devices returns structured devices', async () => {
      const r = await inspector(kind, key, ['--method', 'tools/call', '--tool-name', 'list_devices', '--tool-args-json', '{"limit":2}', '--format', 'json']);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const { result } = JSON.parse(r.stdout) as { result: { isError?: boolean; structuredContent: { devices: { tenant: string }[]; truncated: boolean } } };
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent.devices).toHaveLength(2);
      expect(result.structuredContent.devices.every((d) => d.tenant === 'acme-dental')).toBe(true);
      expect(result.structuredContent.truncated).toBe(true);
    }, budget(40_000));

    it('its flow for a tier-3 call: it declares neither tasks nor URL elicitation, so the pending result', async () => {
      const device = (await t.app.store.sql.get<{ id: string }>("SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' AND d.os = 'linux' ORDER BY d.id LIMIT 1"))!.id;
      const args = { language: 'bash', body: `echo inspector ${kind}`, deviceIds: [device] };
      const r = await inspector(kind, key, ['--method', 'tools/call', '--tool-name', 'run_script', '--tool-args-json', JSON.stringify(args), '--format', 'json']);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const { result } = JSON.parse(r.stdout) as { result: { structuredContent: { status: string; approvalId: string } } };
      expect(result.structuredContent.status).toBe('pending_approval');
      expect(await flowOf(t, result.structuredContent.approvalId)).toMatchObject({ view: 'pending_result', client: 'inspector-cli 2.12.0' });
    }, budget(40_000));

    it('--load: 100 calls of list_devices at concurrency 5, no errors', async () => {
      const r = await inspector(kind, key, ['--method', 'tools/call', '--tool-name', 'list_devices', '--tool-args-json', '{"limit":5}',
        '--load', '--load-requests', '100', '--load-concurrency', '5', '--format', 'json'], 60_000);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      const { result } = JSON.parse(r.stdout) as { result: { requests: number; ok: number; errors: number; toolErrors: number; latencyMs: { p50: number; p99: number } } };
      expect(result).toMatchObject({ requests: 100, ok: 100, errors: 0, toolErrors: 0 });
      note(`inspector ${kind} --load 100x5`, result.latencyMs);
    }, budget(70_000));

    it('a wrong key fails fast: exit 3 auth_required, no OAuth flow', async () => {
      const r = await inspector(kind, 'csk_not_a_real_key_000000000000', ['--method', 'tools/list', '--format', 'json'], 15_000);
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout || r.stderr.trim().split('\n').pop()!).error.code).toBe('auth_required');
      expect(r.stdout + r.stderr).toMatch(kind === 'sse' ? /Non-200 status code \(401\)/ : /Unauthorized: invalid API key/);
      expect(r.ms).toBeLessThan(budget(5_000));
      note(`inspector ${kind} wrong key`, `${r.ms} ms (exit ${r.code})`);
    }, budget(20_000));
  });
});
