// The baseline: a bare SDK McpServer with one trivial tool, on the same transports and node:http plumbing.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { openApp, type App } from '../src-main/app.ts';

// BARE_APPEND=DATA_DIR: the floor of the guarantee. Each echo also appends the product's durable hash-chained audit
// entry (its store, group commit and AuditLog, committed before the answer) and nothing else of governance.
const appendDir = process.env.BARE_APPEND;
const app: App | undefined = appendDir ? await openApp(appendDir, { log: () => {} }) : undefined;

function server(): McpServer {
  const s = new McpServer({ name: 'bare', version: '1' });
  s.registerTool('echo', { title: 'Echo', inputSchema: { text: z.string() }, outputSchema: { echoed: z.string() }, annotations: { readOnlyHint: true } },
    async ({ text }, extra) => {
      if (app) await app.store.audit.append({ event: 'tool_call', decision: 'allowed', tool: 'echo', tier: 1, args: { text }, outcome: 'ok', sessionId: extra.sessionId ?? null });
      return { content: [{ type: 'text', text }], structuredContent: { echoed: text } };
    });
  return s;
}

async function body(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString());
}

const sse = new Map<string, SSEServerTransport>();
const streams = new Map<string, StreamableHTTPServerTransport>();

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  try {
    if (url.pathname === '/api/v1/mcp/sse' && req.method === 'GET') {
      const t = new SSEServerTransport('/api/v1/mcp/message', res);
      sse.set(t.sessionId, t);
      t.onclose = () => sse.delete(t.sessionId);
      await server().connect(t);
      return;
    }
    if (url.pathname === '/api/v1/mcp/message') return void (await sse.get(url.searchParams.get('sessionId') ?? '')!.handlePostMessage(req, res, await body(req)));
    if (url.pathname === '/api/v1/mcp') {
      const sid = req.headers['mcp-session-id'] as string | undefined;
      const parsed = req.method === 'POST' ? await body(req) : undefined;
      if (sid) return void (await streams.get(sid)!.handleRequest(req, res, parsed));
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void streams.set(id, t) });
      await server().connect(t);
      return void (await t.handleRequest(req, res, parsed));
    }
    res.writeHead(404).end();
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});
// The product's keep-alive (src-main/http/server.ts). Node's 5 s default closes the load generator's idle sockets while
// the other server's run of about that length goes on, and a call that races the close ends in "socket hang up".
httpServer.keepAliveTimeout = 65_000;
httpServer.listen(0, '127.0.0.1', () => {
  const a = httpServer.address() as { port: number };
  process.stdout.write(`listening http://127.0.0.1:${a.port}\n`);
});
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => process.exit(0));
