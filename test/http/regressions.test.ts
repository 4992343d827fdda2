// Regressions found by probing the server: empty batches, a legacy message racing its stream's close, non-JSON-RPC legacy bodies, malformed tools/call params.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, useServerWithKey } from '../helpers/server.ts';
import { expectRpcError, initializeRequest, initStreamable, openLegacySse, rawRequest, streamablePost, type RawResponse } from '../helpers/raw.ts';
import { until, within } from '../helpers/wait.ts';

let t: TestServer;
let port: number;
let key: string;
useServerWithKey('bugs', (s) => ({ t, port, key } = s));

describe('Streamable HTTP: an empty JSON array is not a JSON-RPC message', () => {
  // src-main/http/mcpRoutes.ts streamable(): the parsed body goes to the SDK unchecked; the SDK maps [] to zero
  // messages, finds no request among them, and answers 202 Accepted. JSON-RPC 2.0: an empty batch is an Invalid Request.
  it('POST [] on a session → 400 with a JSON-RPC error (-32600), not 202', async () => {
    const sid = await initStreamable(port, key);
    const r = await streamablePost(port, key, sid, []);
    expectRpcError(r, 400, -32600);
  });
});

describe('legacy SSE: a message racing the close of its stream', () => {
  // src-main/http/mcpRoutes.ts legacyMessage(): the session is looked up, then the body is read (await), then
  // s.sse.handlePostMessage() runs. If the stream closed meanwhile, the SDK answers `500 SSE connection not established`
  // (text/plain) and throws; the session is gone, so this is the same case as an unknown session: 404.
  it('POST whose body completes after the SSE stream closed → 404 JSON-RPC, not 500', async () => {
    const sse = await openLegacySse({ port, key });
    // The moment the server has looked the session up and waits for the body: its next legacyMessage call.
    const sessions = t.server.sessions;
    const original = sessions.legacyMessage;
    const lookedUp = new Promise<void>((entered) => {
      sessions.legacyMessage = (...args) => {
        sessions.legacyMessage = original;
        const handled = original.apply(sessions, args);
        entered();
        return handled;
      };
    });
    const size = sessions.size;
    const r = await new Promise<RawResponse>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: sse.endpoint!, agent: false, headers: { host: `127.0.0.1:${port}`, 'x-api-key': key, 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: (() => { try { return JSON.parse(body); } catch { return undefined; } })(), ms: 0 }));
        },
      );
      req.on('error', reject);
      req.write('{"jsonrpc":"2.0","id":1,');
      // Head and half the body are in; then the stream closes, and only once the session is gone does the body end.
      void within('the server to take the half-sent message', lookedUp, 5_000)
        .then(() => sse.close())
        .then(() => until('the closed stream\'s session to go', () => sessions.size < size, 5_000, 10))
        .then(() => req.end('"method":"ping"}'), reject);
    });
    // The server survives it either way.
    expect((await rawRequest({ port, path: '/healthz' })).status).toBe(200);
    expect(r.status).toBeLessThan(500);
    expectRpcError(r, 404, -32001);
  });
});

describe('legacy SSE: refusals from the message endpoint are JSON-RPC shaped, like every other refusal', () => {
  // src-main/http/mcpRoutes.ts legacyMessage() hands the parsed body to SSEServerTransport.handlePostMessage(), whose own
  // refusals are plain text without a Content-Type: "Invalid message: [object Object]", "Error: Unsupported content-type: ..."
  // and, for a JSON `null` body (treated as "no parsed body", so the SDK re-reads the consumed stream),
  // "InternalServerError: stream is not readable". Streamable HTTP answers the same mistakes with JSON-RPC errors.
  let endpoint: string;
  let close: () => void;
  beforeAll(async () => {
    const sse = await openLegacySse({ port, key });
    endpoint = sse.endpoint!;
    close = () => sse.close();
  });
  afterAll(() => close());

  const post = (body: string, contentType = 'application/json') =>
    rawRequest({ port, method: 'POST', path: endpoint, headers: { 'content-type': contentType, 'x-api-key': key }, body });

  it.each(['{"foo":1}', '[]', '42', '{"jsonrpc":"2.0"}'])('not JSON-RPC (%s) → 400 with a JSON-RPC error body', async (body) => {
    expectRpcError(await post(body), 400);
  });

  it('a JSON null body → 400 with a JSON-RPC error body that does not blame the server', async () => {
    const r = await post('null');
    expectRpcError(r, 400);
    expect(r.body).not.toContain('InternalServerError');
  });

  it('a wrong Content-Type → 415 with a JSON-RPC error body (as on Streamable HTTP)', async () => {
    expectRpcError(await post(JSON.stringify(initializeRequest()), 'text/plain'), 415);
  });
});

describe('tools/call with malformed params: Invalid params (-32602), not Internal error (-32603)', () => {
  // src-main/mcp/sessionServer.ts registers tools/call with server.server.setRequestHandler(CallToolRequestSchema, ...).
  // The SDK (1.32.2) parses the request against that schema in Protocol.setRequestHandler *before* Server's
  // InvalidParams wrapper runs, so the ZodError surfaces as -32603 "Internal error" with a raw Zod issue dump:
  // a client mistake reported as a server fault.
  it.each([
    ['arguments is an array', { name: 'list_devices', arguments: [1, 2] }],
    ['arguments is null', { name: 'list_devices', arguments: null }],
    ['name is missing', { arguments: {} }],
  ])('%s → -32602', async (_label, params) => {
    const sid = await initStreamable(port, key);
    const r = await streamablePost(port, key, sid, { jsonrpc: '2.0', id: 'p', method: 'tools/call', params });
    expect(r.status).toBe(200);
    expect(r.messages[0]).toMatchObject({ jsonrpc: '2.0', id: 'p', error: { code: -32602 } });
  });
});
