// The 2026-07-28 wire next to the session era on the same endpoint, as clients meet it: discovery (a probe is never
// refused), version negotiation, the envelope's identity and log level reaching the gate, notifications only when
// asked for, and the session era untouched. The conformance suite covers the specification's checks; this covers ours.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ModernClient, MODERN } from '../clients/modernClient.ts';

let t: TestServer;
let key: string;
let c: ModernClient;
const post = (body: unknown, headers: Record<string, string> = {}) => fetch(`${t.url}/api/v1/mcp`, {
  method: 'POST', body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'X-API-Key': key, ...headers },
});

beforeAll(async () => {
  t = await startTestServer();
  key = await t.key({ name: 'stateless', scopes: ['ai:read'] });
  c = new ModernClient({ url: `${t.url}/api/v1/mcp`, apiKey: key, clientInfo: { name: 'probe-client', version: '9.1' } });
});
afterAll(() => t.close());

describe('server/discover', () => {
  it('lists 2026-07-28 first and every session-era version after it, the tasks extension, and identifies the server', async () => {
    const r = await c.request('server/discover');
    expect(r.status).toBe(200);
    expect(r.contentType).toContain('application/json');
    expect(r.body.result).toMatchObject({
      resultType: 'complete', supportedVersions: [MODERN, '2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'],
      capabilities: { tools: {}, resources: {}, prompts: {}, extensions: { 'io.modelcontextprotocol/tasks': {} } },
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'countersign', version: '0.1.0' } }, cacheScope: 'private',
    });
    expect(r.body.result.capabilities.tasks).toBeUndefined();
    expect(r.body.result.instructions).toContain('Countersign governs');
  });

  it('a probe from a client that has not picked an era (no envelope, a session-era or no version header) is answered, not refused with 400', async () => {
    for (const headers of [{}, { 'MCP-Protocol-Version': '2025-11-25' }] as Record<string, string>[]) {
      const r = await post({ jsonrpc: '2.0', id: 'probe', method: 'server/discover' }, headers);
      expect(r.status).toBe(200);
      expect((await r.json() as any).result.supportedVersions[0]).toBe(MODERN);
    }
  });

  it('a _meta that is not an object is the client\'s mistake: 400, -32602, never a 500', async () => {
    for (const meta of ['x', 7, ['a'], null]) {
      for (const [method, headers] of [['server/discover', {}], ['tools/list', { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list' }]] as const) {
        const r = await post({ jsonrpc: '2.0', id: 3, method, params: { _meta: meta } }, headers);
        expect([JSON.stringify(meta), method, r.status]).toEqual([JSON.stringify(meta), method, 400]);
        expect(await r.json()).toMatchObject({ id: 3, error: { code: -32602 } });
      }
    }
  });

  it('an unknown version gets UnsupportedProtocolVersion (400, -32022) naming what is supported; the session era still opens with initialize', async () => {
    const r = await post({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2030-01-01', 'io.modelcontextprotocol/clientCapabilities': {} } } },
      { 'MCP-Protocol-Version': '2030-01-01', 'Mcp-Method': 'tools/list' });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ id: 7, error: { code: -32022, data: { requested: '2030-01-01', supported: expect.arrayContaining([MODERN, '2025-11-25']) } } });
    const session = await t.connect('http', key);
    expect((await session.listTools()).tools.length).toBeGreaterThan(5);
  });
});

describe('requests', () => {
  it('tools/call carries the client identity of the envelope into the audit log; the result says resultType complete', async () => {
    const r = await c.callTool('whoami', {});
    expect(r.body.result).toMatchObject({ resultType: 'complete', structuredContent: { name: 'stateless' } });
    const row = t.app.db.prepare("SELECT client, session_id FROM audit_log WHERE tool = 'whoami' ORDER BY seq DESC LIMIT 1").get() as { client: string; session_id: string | null };
    expect(row).toEqual({ client: 'probe-client 9.1', session_id: null });
  });

  it('a resource read and a prompt run through the gate with the same identity, with cache hints on the read', async () => {
    const read = await c.result('resources/read', { uri: 'countersign://devices' });
    expect(read).toMatchObject({ resultType: 'complete', ttlMs: 30_000, cacheScope: 'private' });
    expect(JSON.parse(read.contents[0].text).devices.length).toBeGreaterThan(0);
    const prompt = await c.result('prompts/get', { name: 'fleet-briefing', arguments: {} });
    expect(prompt.messages[0].content.text).toContain('fleet_health_check');
    const rows = t.app.db.prepare("SELECT tool, client FROM audit_log WHERE tool IN ('list_devices', 'fleet-briefing') ORDER BY seq DESC LIMIT 2").all();
    expect(rows).toEqual([{ tool: 'fleet-briefing', client: 'probe-client 9.1' }, { tool: 'list_devices', client: 'probe-client 9.1' }]);
  });

  it('log notifications only when the request asked for a level: then the answer is an SSE stream carrying them first', async () => {
    // A read-only key calling a write tool is refused, and the gate logs a warning about it.
    const quiet = await c.callTool('acknowledge_alerts', { alertIds: ['00000000-0000-0000-0000-000000000000'], note: 'x' });
    expect(quiet.contentType).toContain('application/json');
    expect(quiet.body.result.isError).toBe(true);
    const loud = await c.callTool('acknowledge_alerts', { alertIds: ['00000000-0000-0000-0000-000000000000'], note: 'x' }, {}, { meta: { 'io.modelcontextprotocol/logLevel': 'info' } });
    expect(loud.contentType).toContain('text/event-stream');
    expect(loud.notifications.map((n) => n.method)).toEqual(['notifications/message']);
    expect(loud.notifications[0].params).toMatchObject({ level: 'warning', logger: 'countersign', data: { tool: 'acknowledge_alerts', code: 'SCOPE_DENIED' } });
    expect(loud.body.result.isError).toBe(true);
    const above = await c.callTool('acknowledge_alerts', { alertIds: ['00000000-0000-0000-0000-000000000000'], note: 'x' }, {}, { meta: { 'io.modelcontextprotocol/logLevel': 'error' } });
    expect(above.notifications).toEqual([]);
  });

  it('methods this era removed answer 404 with -32601, with the request id', async () => {
    for (const method of ['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'tasks/result', 'tasks/list', 'no/such']) {
      const r = await c.request(method, {});
      expect(r.status, method).toBe(404);
      expect(r.body.error?.code, method).toBe(-32601);
      expect(typeof r.body.id).toBe('number');
    }
  });

  it('a modern version header is served statelessly even with a session id; a session-era request without its session is refused as before', async () => {
    const withSession = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } } },
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list', 'Mcp-Session-Id': 'not-a-session' });
    expect(withSession.status).toBe(200);
    expect((await withSession.json() as any).result.tools.length).toBeGreaterThan(5);
    const legacy = await post({ jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'MCP-Protocol-Version': '2025-11-25' });
    expect(legacy.status).toBe(400);
    expect((await legacy.json() as any).error.message).toContain('the first request must be initialize');
  });

  it('a mismatched Mcp-Name (the base64 sentinel decoded first) is a HeaderMismatch, and nothing reaches the gate', async () => {
    const before = (t.app.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
    const wrong = await post({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: meta } },
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'list_devices' });
    expect(wrong.status).toBe(400);
    expect((await wrong.json() as any).error.code).toBe(-32020);
    expect((t.app.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n).toBe(before);
    const encoded = await post({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: meta } },
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': `=?base64?${Buffer.from('whoami').toString('base64')}?=` });
    expect(encoded.status).toBe(200);
  });

  it('malformed stateless requests get a clear JSON-RPC error with a 4xx (or the call\'s own -32602), and nothing is written', async () => {
    const count = () => (t.app.db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
    const before = count();
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };
    const h = (method: string) => ({ 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method });
    const cases: [string, unknown, Record<string, string>, number, number][] = [
      ['params not an object', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: 'x' }, h('tools/list'), 400, -32602],
      ['no jsonrpc member', { id: 1, method: 'tools/list', params: { _meta: meta } }, h('tools/list'), 400, -32600],
      ['a response, not a request', { jsonrpc: '2.0', id: 1, result: {} }, h('tools/list'), 400, -32600],
      ['capabilities not an object', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { ...meta, 'io.modelcontextprotocol/clientCapabilities': 'all' } } }, h('tools/list'), 400, -32602],
      ['an unknown log level', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { ...meta, 'io.modelcontextprotocol/logLevel': 'loud' } } }, h('tools/list'), 400, -32602],
      ['arguments not an object', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: [1], _meta: meta } }, { ...h('tools/call'), 'Mcp-Name': 'whoami' }, 200, -32602],
      ['a requestState that is not a string', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, requestState: 7, _meta: { ...meta, 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } } } }, { ...h('tools/call'), 'Mcp-Name': 'whoami' }, 200, -32602],
    ];
    for (const [what, body, headers, status, code] of cases) {
      const r = await post(body, headers);
      expect(r.status, what).toBe(status);
      const j = await r.json() as any;
      expect(j.error?.code, what).toBe(code);
      expect(j.error.message.length, what).toBeGreaterThan(10);
    }
    expect(count()).toBe(before);
  });
});
