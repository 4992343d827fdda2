// A raw MCP load generator (no SDK client: its own CPU would compress the ratios we measure on a 2-core box).
// Each worker holds one session and keeps one tools/call in flight; latency is per call, end to end.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface LoadSpec {
  url: string;
  key?: string;
  /** One key per session (session i uses keys[i % length]); else `key` for all. */
  keys?: string[];
  /** 'stateless': protocol 2026-07-28 (no session; each POST is answered as JSON), which only Countersign serves. */
  transport: 'http' | 'sse' | 'stateless';
  concurrency: number;
  durationMs: number;
  tool: string;
  args: Record<string, unknown>;
  /** 'raw' (default): a minimal HTTP client; 'sdk': the SDK Client, as real clients and earlier notes measured. */
  client?: 'raw' | 'sdk';
  /** Stop after this many calls in all (the duration still bounds the run): equal work for instruction counts. */
  calls?: number;
  /** Called as the measured phase starts and ends (after the warm-up): CPU probes hook in here. */
  phase?: (edge: 'start' | 'end') => void;
}

export interface LoadResult {
  calls: number;
  errors: number;
  callsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function del(url: URL, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    http.request(url, { method: 'DELETE', agent, headers }, (res) => res.resume().on('end', () => resolve())).on('error', () => resolve()).end();
  });
}

const INIT = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });

/** One Streamable HTTP session: initialize, initialized, then calls answered SSE-framed on each POST. */
async function httpWorker(spec: LoadSpec, until: number, lat: number[]): Promise<number> {
  const url = new URL('/api/v1/mcp', spec.url);
  const base: Record<string, string> = { Accept: 'application/json, text/event-stream', ...(spec.key ? { 'X-API-Key': spec.key } : {}) };
  const init = await post(url, base, INIT(0));
  const sid = init.headers['mcp-session-id'] as string;
  if (init.status !== 200 || !sid) throw new Error(`initialize failed: ${init.status} ${init.text.slice(0, 200)}`);
  const headers = { ...base, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  await post(url, headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  let errors = 0;
  for (let id = 1; more(spec, until); id++) {
    const t0 = performance.now();
    const r = await post(url, headers, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: spec.tool, arguments: spec.args } }));
    lat.push(performance.now() - t0);
    if (r.status !== 200 || !r.text.includes('"result"') || r.text.includes('"isError":true')) errors++;
  }
  await del(url, headers);
  return errors;
}

const MODERN = '2026-07-28';
const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' } };

/** Protocol 2026-07-28: no session, each call a POST of its own carrying the client's facts in _meta. */
async function statelessWorker(spec: LoadSpec, until: number, lat: number[]): Promise<number> {
  const url = new URL('/api/v1/mcp', spec.url);
  const headers: Record<string, string> = {
    Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': spec.tool,
    ...(spec.key ? { 'X-API-Key': spec.key } : {}),
  };
  let errors = 0;
  for (let id = 1; more(spec, until); id++) {
    const t0 = performance.now();
    const r = await post(url, headers, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: spec.tool, arguments: spec.args, _meta: MODERN_META } }));
    lat.push(performance.now() - t0);
    if (r.status !== 200 || !r.text.includes('"result"') || r.text.includes('"isError":true')) errors++;
  }
  return errors;
}

/** One legacy SSE session: the GET stream carries every response; POSTs are answered 202. */
async function sseWorker(spec: LoadSpec, until: number, lat: number[]): Promise<number> {
  const headers: Record<string, string> = spec.key ? { 'X-API-Key': spec.key } : {};
  const waiting = new Map<number, (ok: boolean) => void>();
  let endpoint: string | undefined;
  let onEndpoint: () => void = () => {};
  const stream = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(new URL('/api/v1/mcp/sse', spec.url), { agent: false, headers: { Accept: 'text/event-stream', ...headers } }, resolve).on('error', reject);
  });
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (data === undefined) continue;
      if (event === 'endpoint') {
        endpoint = data;
        onEndpoint();
      } else {
        const msg = JSON.parse(data) as { id?: number; result?: { isError?: boolean } };
        if (typeof msg.id === 'number') waiting.get(msg.id)?.(!!msg.result && !msg.result.isError);
      }
    }
  });
  if (!endpoint) await new Promise<void>((r) => (onEndpoint = r));
  const msgUrl = new URL(endpoint!, spec.url);
  const rpc = (id: number, body: string) => new Promise<boolean>((resolve, reject) => {
    waiting.set(id, (ok) => { waiting.delete(id); resolve(ok); });
    post(msgUrl, headers, body).then((r) => r.status !== 202 && reject(new Error(`POST ${r.status}`)), reject);
  });
  await rpc(0, INIT(0));
  await post(msgUrl, headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  let errors = 0;
  for (let id = 1; more(spec, until); id++) {
    const t0 = performance.now();
    const ok = await rpc(id, JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: spec.tool, arguments: spec.args } }));
    lat.push(performance.now() - t0);
    if (!ok) errors++;
  }
  stream.destroy();
  return errors;
}

/** The SDK Client as load generator: heavier on the client side, the way real MCP clients are. */
async function sdkWorker(spec: LoadSpec, until: number, lat: number[]): Promise<number> {
  const headers = spec.key ? { 'X-API-Key': spec.key } : {};
  const client = new Client({ name: 'bench', version: '1' });
  const transport = spec.transport === 'http'
    ? new StreamableHTTPClientTransport(new URL('/api/v1/mcp', spec.url), { requestInit: { headers } })
    : new SSEClientTransport(new URL('/api/v1/mcp/sse', spec.url), { requestInit: { headers }, eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) } });
  await client.connect(transport);
  let errors = 0;
  while (more(spec, until)) {
    const t0 = performance.now();
    const r = await client.callTool({ name: spec.tool, arguments: spec.args });
    lat.push(performance.now() - t0);
    if (r.isError) errors++;
  }
  if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession().catch(() => {});
  await client.close();
  return errors;
}

/** Whether a worker goes on: time left, and calls left when the run is counted (spec.calls, shared by the workers). */
const budgets = new WeakMap<LoadSpec, { left: number }>();
function more(spec: LoadSpec, until: number): boolean {
  if (performance.now() >= until) return false;
  const b = budgets.get(spec);
  if (!b) return true;
  return b.left-- > 0;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const lat: number[] = [];
  const worker = spec.client === 'sdk' ? sdkWorker : spec.transport === 'http' ? httpWorker : spec.transport === 'stateless' ? statelessWorker : sseWorker;
  const counted = { left: spec.calls ?? 0 };
  const specFor = (i: number): LoadSpec => {
    const s = spec.keys?.length ? { ...spec, key: spec.keys[i % spec.keys.length] } : { ...spec };
    if (spec.calls !== undefined) budgets.set(s, counted);
    return s;
  };
  // Warm-up: sessions, JIT, SQLite page cache; not measured.
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => worker({ ...specFor(i), calls: undefined }, performance.now() + 300, [])));
  spec.phase?.('start');
  const start = performance.now();
  const until = start + spec.durationMs;
  const errors = (await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => worker(specFor(i), until, lat)))).reduce((a, b) => a + b, 0);
  const elapsed = (performance.now() - start) / 1000;
  spec.phase?.('end');
  lat.sort((a, b) => a - b);
  return { calls: lat.length, errors, callsPerSecond: lat.length / elapsed, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99) };
}
