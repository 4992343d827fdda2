// A small client of protocol 2026-07-28 written on fetch alone (no MCP SDK, so it checks the server independently of
// the SDK the server is built on): per-request _meta with the declared capabilities, the mirrored headers, answers as
// JSON or SSE, and the MRTR retry of a URL elicitation.
export const MODERN = '2026-07-28';

export interface RpcAnswer {
  status: number;
  contentType: string;
  /** The JSON-RPC response (for SSE: the message with the request id). */
  body: { jsonrpc: '2.0'; id: unknown; result?: any; error?: { code: number; message: string; data?: any } };
  /** Notifications that came before it on an SSE answer. */
  notifications: any[];
}

export interface ModernClientOptions {
  url: string;
  apiKey: string;
  capabilities?: Record<string, unknown>;
  clientInfo?: { name: string; version: string };
}

let nextId = 1;

function nameOf(method: string, params: Record<string, unknown>): unknown {
  if (method === 'tools/call' || method === 'prompts/get') return params.name;
  if (method === 'resources/read') return params.uri;
  if (method.startsWith('tasks/')) return params.taskId;
  return undefined;
}

export class ModernClient {
  readonly opts: ModernClientOptions;
  constructor(opts: ModernClientOptions) {
    this.opts = opts;
  }

  /** One request; `meta` adds to the envelope (progressToken, logLevel), `capabilities` overrides the declared ones. */
  async request(method: string, params: Record<string, unknown> = {}, o: { meta?: Record<string, unknown>; capabilities?: Record<string, unknown>; signal?: AbortSignal } = {}): Promise<RpcAnswer> {
    const id = nextId++;
    const body = {
      jsonrpc: '2.0', id, method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientCapabilities': o.capabilities ?? this.opts.capabilities ?? {},
          'io.modelcontextprotocol/clientInfo': this.opts.clientInfo ?? { name: 'countersign-raw-2026-client', version: '1.0.0' },
          ...o.meta,
        },
      },
    };
    const name = nameOf(method, params);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'X-API-Key': this.opts.apiKey,
      'MCP-Protocol-Version': MODERN, 'Mcp-Method': method,
      ...(name === undefined ? {} : { 'Mcp-Name': /^[\x20-\x7e]*$/.test(String(name)) ? String(name) : `=?base64?${Buffer.from(String(name)).toString('base64')}?=` }),
    };
    const res = await fetch(this.opts.url, { method: 'POST', headers, body: JSON.stringify(body), signal: o.signal });
    const contentType = res.headers.get('content-type') ?? '';
    const text = await res.text();
    if (!contentType.includes('text/event-stream')) return { status: res.status, contentType, body: JSON.parse(text), notifications: [] };
    const messages = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    return { status: res.status, contentType, body: messages.find((m) => m.id === id), notifications: messages.filter((m) => m.id === undefined) };
  }

  async result(method: string, params: Record<string, unknown> = {}, o: Parameters<ModernClient['request']>[2] = {}): Promise<any> {
    const r = await this.request(method, params, o);
    if (r.body.error) throw new Error(`${method}: ${r.body.error.code} ${r.body.error.message}`);
    return r.body.result;
  }

  callTool(name: string, args: Record<string, unknown>, extra: Record<string, unknown> = {}, o: Parameters<ModernClient['request']>[2] = {}): Promise<RpcAnswer> {
    return this.request('tools/call', { name, arguments: args, ...extra }, o);
  }
}

/** The URL elicitation an InputRequiredResult carries, with its key and the requestState to echo. */
export function urlElicitation(result: any): { key: string; url: string; message: string; requestState: string } {
  if (result?.resultType !== 'input_required') throw new Error(`expected an InputRequiredResult, got ${JSON.stringify(result)}`);
  const [key, req] = Object.entries(result.inputRequests ?? {})[0] as [string, { method: string; params: { mode: string; url: string; message: string } }];
  if (req.method !== 'elicitation/create' || req.params.mode !== 'url') throw new Error(`expected a URL elicitation, got ${JSON.stringify(req)}`);
  return { key, url: req.params.url, message: req.params.message, requestState: result.requestState };
}
