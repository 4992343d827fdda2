import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { ListToolsRequestSchema, SetLevelRequestSchema, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { ApiKey } from '../auth/keys.ts';
import type { Caller, Gate } from '../governance/gate.ts';
import { registerResources } from './resources.ts';
import { registerPrompts } from './prompts.ts';
import { looseRequest, registerRaw } from './rawHandler.ts';
import { toProtocolTools } from './toolList.ts';
import { callTool, type ApprovalLinks } from './toolCall.ts';
import { approvalTaskSource, instantTaskSource, registerTasks } from './tasks.ts';
import { capabilitiesOf, type ClientCapabilities, type ModernRequestContext } from './era.ts';

export const SERVER_INFO = { name: 'countersign', title: 'Countersign', version: '0.1.0' };

export const INSTRUCTIONS = `Countersign governs this MSP's RMM fleet. Every call is checked and audited.
Risk tiers: 1 read (runs), 2 low-risk change (runs, audited), 3 high risk (a technician decides on their desktop; the call returns {status:"pending_approval", approvalId} at once: poll get_approval_status — do not repeat the call; a client that declared tasks gets a task instead, one that declared URL elicitation a link to the approval card and then the result on retry), 4 never runs.
Refusals are tool results with isError and a JSON {error:{code,message}}; codes: TIER4_BLOCKED, SCOPE_DENIED, NOT_ALLOWLISTED, EXECUTE_ADMIN_REQUIRED, RATE_LIMITED (has retryAfterSeconds), TENANT_DENIED, NOT_FOUND, INVALID_ARGUMENTS, APPROVAL_DENIED, APPROVAL_EXPIRED; an approved request that can no longer run as it was shown ends with POLICY_CHANGED, PLAN_CHANGED or TAMPERED instead.
get_approval_status carries the outcome of what an approval ran (per device: status, exit code, output) and names in \`next\` the call to make next.
Call whoami to see this key's tenants, tiers and budgets. Lists are paginated: follow nextCursor while truncated is true.`;

const LooseCallTool = looseRequest('tools/call');

export interface SessionInfo {
  key: ApiKey;
  sessionId: () => string | undefined;
  remote?: string;
  /** The console's approval cards and the requestState seal; without them no client gets the URL elicitation view. */
  links?: ApprovalLinks;
}

/** Builds the McpServer of one session. The product's is createSessionServer; a test build may compose its own. */
export type SessionServerFactory = (gate: Gate, info: SessionInfo) => McpServer;

/**
 * The SDK Server builds an Ajv instance with its formats for every server not handed a validator: about 100 µs, and a
 * round of freshly generated functions for V8 to compile on the serving core, per session and, in the stateless era,
 * per request. Its only use is checking the answer to a form elicitation. The product sends none (approvals reach a
 * client as tasks, URL elicitation or polling); the conformance fixtures send a few fixed forms. One validator serves
 * every server of the process. Ajv keeps each schema it compiles, keyed by the object, so compiled checks are kept
 * here by the schema's text instead, and past FORM_SCHEMAS distinct ones the instance is replaced: bounded either way.
 */
export const FORM_SCHEMAS = 64;
let forms: { ajv: AjvJsonSchemaValidator; compiled: Map<string, JsonSchemaValidator<unknown>> } | undefined;
export const SHARED_FORM_VALIDATOR: jsonSchemaValidator = {
  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const text = JSON.stringify(schema);
    if (!forms || (forms.compiled.size >= FORM_SCHEMAS && !forms.compiled.has(text))) forms = { ajv: new AjvJsonSchemaValidator(), compiled: new Map() };
    let check = forms.compiled.get(text);
    if (!check) forms.compiled.set(text, (check = forms.ajv.getValidator(schema)));
    return check as JsonSchemaValidator<T>;
  },
};

/** Tasks of 2025-11-25 calls that finished at once: shared by the sessions of this process, each bound to its key. */
const instantTasks = instantTaskSource();

/**
 * One McpServer per session (legacy era) or per request (the stateless era serves each request through a fresh one),
 * bound to the key that opened it: tools, resources, prompts and tasks all go through the gate.
 */
export function createSessionServer(gate: Gate, info: SessionInfo): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: false }, resources: { listChanged: false }, prompts: { listChanged: false }, logging: {},
      // 2025-11-25 task augmentation of tools/call (tier-3 calls become tasks that follow their approval).
      tasks: { cancel: {}, requests: { tools: { call: {} } } },
    },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: SHARED_FORM_VALIDATOR,
  });
  const sessionClient = () => {
    const c = server.server.getClientVersion();
    return c ? { name: c.name, version: c.version } : undefined;
  };
  const caller = (modern?: ModernRequestContext): Caller => ({
    key: info.key, sessionId: info.sessionId(), remote: info.remote, client: modern ? modern.client : sessionClient(),
  });
  // logging/setLevel per session; the gate's notices travel on the request's own stream, filtered by it.
  let minLevel: LoggingLevel = 'info';
  server.server.setRequestHandler(SetLevelRequestSchema, (req) => {
    minLevel = req.params.level;
    return {};
  });
  // What the client declared at initialize does not change for the session: read once, when first needed after it.
  let declared: ClientCapabilities | undefined;
  const legacyCapabilities = () => (declared ??= capabilitiesOf(server.server.getClientCapabilities()));
  server.server.setRequestHandler(ListToolsRequestSchema, () => {
    // A session whose client augments calls with tasks (2025-11-25) learns which tools may answer with one.
    const tasks = !!legacyCapabilities()?.tasks?.requests?.tools?.call;
    return { tools: toProtocolTools(gate.listTools(info.key), { taskSupport: tasks }) };
  });
  // A loose schema here so malformed params get -32602 Invalid params (the SDK's own parse would answer -32603), and
  // registered past the SDK Server's tools/call wrapper: it parses every request against CallToolRequestSchema, which
  // callTool does once itself, and every result against CallToolResultSchema, which results.ts builds (typed) —
  // twice the per-call parsing for nothing.
  registerRaw(server, LooseCallTool, (raw, extra) => callTool({
    gate, caller, links: info.links, instantTasks, legacyLogLevel: () => minLevel, legacyCapabilities,
  }, raw, extra));
  registerTasks(server, () => caller(), [approvalTaskSource(gate), instantTasks]);
  registerResources(server, gate, caller);
  registerPrompts(server, gate, caller);
  return server;
}
