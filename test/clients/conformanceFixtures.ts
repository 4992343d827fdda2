// The tools, resources and prompts that @modelcontextprotocol/conformance@0.1.16 server scenarios call by exact name
// (test_*, test://…). TEST BUILD ONLY: the test composes its own session server (startServer's third argument), which the
// product never does, so the product's tool list is untouched. Written from the scenario descriptions (`conformance list
// --server` and the scenario source), after /work/shared/research/mcp-clients.md Appendix C.
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema, type RequestId, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { SessionInfo } from '../../src-main/mcp/sessionServer.ts';
import { registerModernFixtures } from './conformanceFixtures2026.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';
/** The reference fixtures' own delays between notifications (part of what the scenarios exercise), not waits. */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

/**
 * The pending json-schema-2020-12 scenario wants this schema verbatim: $schema, $defs, additionalProperties: false
 * (0.1.16), and since 0.2.0 the 2020-12 vocabulary of SEP-2106 too ($anchor, allOf/anyOf, if/then/else).
 */
const JSON_SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
  properties: {
    name: { type: 'string' }, address: { $ref: '#/$defs/address' }, contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' }, email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
} as const;

export const FIXTURE_TOOLS = [
  'test_simple_text', 'test_image_content', 'test_audio_content', 'test_embedded_resource', 'test_multiple_content_types',
  'test_tool_with_logging', 'test_tool_with_progress', 'test_error_handling', 'test_sampling', 'test_elicitation',
  'test_elicitation_sep1034_defaults', 'test_elicitation_sep1330_enums', 'test_reconnection', 'json_schema_2020_12_tool',
] as const;

type RawHandler = (request: unknown, extra: unknown) => Promise<unknown>;

/**
 * The session server's raw request handlers. Countersign answers tools/list and tools/call with its own handlers
 * (the governance pipeline), not McpServer.registerTool, and SDK 1.32.2 has no public getter for a registered
 * handler; Protocol keeps them in the private `_requestHandlers` map. Test code only.
 */
export function handlersOf(server: McpServer): Map<string, RawHandler> {
  return (server.server as unknown as { _requestHandlers: Map<string, RawHandler> })._requestHandlers;
}

/** Registers every conformance fixture (2025 and 2026-07-28) next to the product's own tools, resources and prompts. */
export function registerConformanceFixtures(server: McpServer, info: SessionInfo): McpServer {
  const handlers = handlersOf(server);
  const productList = handlers.get('tools/list');
  const productCall = handlers.get('tools/call');
  if (!productList || !productCall) throw new Error('conformance fixtures: the session server has no tools/list or tools/call handler yet');
  // The session server's McpServer tool handlers were replaced by the product's, so registerTool on it would register
  // tools nobody lists. The fixture tools live in a registry McpServer that is never connected: its tools/list and
  // tools/call handlers run with the session's own `extra` (notifications, progress, the request's stream), and the
  // fixtures reach the client through `server.server` (sampling, elicitation).
  const registry = new McpServer({ name: 'countersign-conformance-fixtures', version: '0.0.0' }, { capabilities: { tools: {} } });

  registry.registerTool('test_simple_text', { description: 'Returns simple text' }, async () => text('This is a simple text response for testing.'));
  registry.registerTool('test_image_content', { description: 'Returns an image' }, async () => ({
    content: [{ type: 'image' as const, data: PNG, mimeType: 'image/png' }],
  }));
  registry.registerTool('test_audio_content', { description: 'Returns audio' }, async () => ({
    content: [{ type: 'audio' as const, data: WAV, mimeType: 'audio/wav' }],
  }));
  registry.registerTool('test_embedded_resource', { description: 'Returns an embedded resource' }, async () => ({
    content: [{ type: 'resource' as const, resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
  }));
  registry.registerTool('test_multiple_content_types', { description: 'Returns text, image and resource' }, async () => ({
    content: [
      { type: 'text' as const, text: 'Multiple content types test:' },
      { type: 'image' as const, data: PNG, mimeType: 'image/png' },
      { type: 'resource' as const, resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
    ],
  }));
  registry.registerTool('test_tool_with_logging', { description: 'Logs three messages during the call', inputSchema: {} }, async (_a, extra) => {
    for (const [i, m] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
      if (i) await sleep(50);
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: m } });
    }
    return text('Tool with logging executed successfully');
  });
  registry.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100 of 100', inputSchema: {} }, async (_a, extra) => {
    const progressToken = extra._meta?.progressToken;
    for (const p of [0, 50, 100]) {
      if (p) await sleep(50);
      if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: p, total: 100 } });
    }
    return text(`progress done (${String(progressToken)})`);
  });
  registry.registerTool('test_error_handling', { description: 'Always fails' }, async () => {
    throw new Error('This tool intentionally returns an error for testing');
  });
  // Server-to-client requests carry relatedRequestId so they travel on this POST's stream (the client may have no GET stream).
  registry.registerTool('test_sampling', { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const r = await server.server.createMessage(
      { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
      { relatedRequestId: extra.requestId },
    );
    const c = Array.isArray(r.content) ? r.content[0] : r.content;
    return text(`LLM response: ${c && c.type === 'text' ? c.text : JSON.stringify(c)}`);
  });
  registry.registerTool('test_elicitation', { description: 'Asks the client for input', inputSchema: { message: z.string() } }, async ({ message }, extra) => {
    const r = await server.server.elicitInput({
      message,
      requestedSchema: {
        type: 'object',
        properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
        required: ['username', 'email'],
      },
    }, { relatedRequestId: extra.requestId });
    return text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  });
  registry.registerTool('test_elicitation_sep1034_defaults', { description: 'Elicitation with defaults', inputSchema: {} }, async (_a, extra) => {
    const r = await server.server.elicitInput({
      message: 'Please review and update the form fields with defaults',
      requestedSchema: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'User name', default: 'John Doe' },
          age: { type: 'integer', description: 'User age', default: 30 },
          score: { type: 'number', description: 'User score', default: 95.5 },
          status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
          verified: { type: 'boolean', description: 'Verification status', default: true },
        },
        required: [],
      },
    }, { relatedRequestId: extra.requestId });
    return text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  });
  registry.registerTool('test_elicitation_sep1330_enums', { description: 'Elicitation with every enum variant', inputSchema: {} }, async (_a, extra) => {
    const choices = (titles: string[]) => titles.map((title, i) => ({ const: `value${i + 1}`, title }));
    const r = await server.server.elicitInput({
      message: 'Please select options',
      requestedSchema: {
        type: 'object',
        properties: {
          untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
          titledSingle: { type: 'string', oneOf: choices(['First Option', 'Second Option', 'Third Option']) },
          legacyEnum: { type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
          untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
          titledMulti: { type: 'array', items: { anyOf: choices(['First Choice', 'Second Choice', 'Third Choice']) } },
        },
        required: [],
      },
    } as Parameters<typeof server.server.elicitInput>[0], { relatedRequestId: extra.requestId });
    return text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  });
  // Pending-suite fixture (server-sse-polling, SEP-1699): close this call's POST stream mid-call, then answer.
  registry.registerTool('test_reconnection', { description: 'Closes the POST SSE stream mid-call (SEP-1699)', inputSchema: {} }, async (_a, extra) => {
    (server.server.transport as { closeSSEStream?: (id: RequestId) => void } | undefined)?.closeSSEStream?.(extra.requestId);
    await sleep(100);
    return text('Reconnection test completed successfully.');
  });
  // Pending-suite fixture (json-schema-2020-12): McpServer only emits zod-generated draft-07, so tools/list swaps in the raw schema.
  registry.registerTool('json_schema_2020_12_tool', {
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: { name: z.string().optional(), address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional() },
  }, async () => text('ok'));

  const fixtureList = handlersOf(registry).get('tools/list')!;
  const fixtureCall = handlersOf(registry).get('tools/call')!;
  const fixtureNames = new Set<string>(FIXTURE_TOOLS);
  handlers.set('tools/list', async (req, extra) => {
    const [product, fixtures] = (await Promise.all([productList(req, extra), fixtureList(req, extra)])) as { tools: Tool[] }[];
    const patched = fixtures!.tools.map((t) => (t.name === 'json_schema_2020_12_tool' ? { ...t, inputSchema: JSON_SCHEMA_2020_12 as unknown as Tool['inputSchema'] } : t));
    return { tools: [...product!.tools, ...patched] };
  });
  handlers.set('tools/call', (req, extra) => {
    const name = (req as { params?: { name?: unknown } }).params?.name;
    return typeof name === 'string' && fixtureNames.has(name) ? fixtureCall(req, extra) : productCall(req, extra);
  });

  // Resources (next to countersign://…; McpServer merges them into one list).
  server.registerResource('static-text', 'test://static-text', { description: 'Static text resource', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }));
  server.registerResource('static-binary', 'test://static-binary', { description: 'Static binary resource', mimeType: 'image/png' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }],
  }));
  server.registerResource('watched-resource', 'test://watched-resource', { description: 'Subscribable resource', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }],
  }));
  server.registerResource('template', new ResourceTemplate('test://template/{id}/data', { list: undefined }), { description: 'Templated resource', mimeType: 'application/json' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }) }] }));
  server.server.registerCapabilities({ resources: { subscribe: true } });
  const subscriptions = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, (r) => (subscriptions.add(r.params.uri), {}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, (r) => (subscriptions.delete(r.params.uri), {}));

  // Prompts: the product answers prompts/list and prompts/get with its own handlers, so the fixture prompts live in the
  // registry too (a completable argument there also gives it completion/complete, which the session server takes over).
  registry.registerPrompt('test_simple_prompt', { description: 'Simple prompt' }, async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  registry.registerPrompt('test_prompt_with_arguments', {
    description: 'Prompt with arguments',
    argsSchema: { arg1: completable(z.string(), (v) => ['paris', 'park', 'party'].filter((x) => x.startsWith(v))), arg2: z.string() },
  }, async ({ arg1, arg2 }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
  }));
  registry.registerPrompt('test_prompt_with_embedded_resource', { description: 'Prompt with an embedded resource', argsSchema: { resourceUri: z.string() } }, async ({ resourceUri }) => ({
    messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ],
  }));
  registry.registerPrompt('test_prompt_with_image', { description: 'Prompt with an image' }, async () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
  const productPrompts = handlers.get('prompts/list');
  const productPrompt = handlers.get('prompts/get');
  if (!productPrompts || !productPrompt) throw new Error('conformance fixtures: the session server has no prompts/list or prompts/get handler yet');
  const fixturePrompts = handlersOf(registry).get('prompts/list')!;
  const fixturePrompt = handlersOf(registry).get('prompts/get')!;
  const fixturePromptNames = new Set(['test_simple_prompt', 'test_prompt_with_arguments', 'test_prompt_with_embedded_resource', 'test_prompt_with_image']);
  handlers.set('prompts/list', async (req, extra) => {
    const [product, fixtures] = (await Promise.all([productPrompts(req, extra), fixturePrompts(req, extra)])) as { prompts: unknown[] }[];
    return { prompts: [...product!.prompts, ...fixtures!.prompts] };
  });
  handlers.set('prompts/get', (req, extra) => {
    const name = (req as { params?: { name?: unknown } }).params?.name;
    return typeof name === 'string' && fixturePromptNames.has(name) ? fixturePrompt(req, extra) : productPrompt(req, extra);
  });
  handlers.set('completion/complete', handlersOf(registry).get('completion/complete')!);
  server.server.registerCapabilities({ completions: {} });
  registerModernFixtures(server, info, handlers);
  return server;
}
