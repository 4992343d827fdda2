import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, SetLevelRequestSchema, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { ApiKey } from '../auth/keys.ts';
import type { Caller, Gate } from '../governance/gate.ts';
import { registerResources } from './resources.ts';
import { registerPrompts } from './prompts.ts';
import { toCallToolResult } from './results.ts';
import { toProtocolTools } from './toolList.ts';

export const SERVER_INFO = { name: 'countersign', title: 'Countersign', version: '0.1.0' };

const INSTRUCTIONS = `Countersign governs this MSP's RMM fleet. Every call is checked and audited.
Risk tiers: 1 read (runs), 2 low-risk change (runs, audited), 3 high risk (returns {status:"pending_approval", approvalId} at once; a technician decides on their desktop; poll get_approval_status — do not repeat the call), 4 never runs.
Refusals are tool results with isError and a JSON {error:{code,message}}; codes: TIER4_BLOCKED, SCOPE_DENIED, NOT_ALLOWLISTED, EXECUTE_ADMIN_REQUIRED, RATE_LIMITED (has retryAfterSeconds), TENANT_DENIED, NOT_FOUND, INVALID_ARGUMENTS, APPROVAL_DENIED, APPROVAL_EXPIRED; an approved request that can no longer run as it was shown ends with POLICY_CHANGED, PLAN_CHANGED or TAMPERED instead.
get_approval_status carries the outcome of what an approval ran (per device: status, exit code, output) and names in \`next\` the call to make next.
Call whoami to see this key's tenants, tiers and budgets. Lists are paginated: follow nextCursor while truncated is true.`;

const LooseCallTool = z.object({ method: z.literal('tools/call'), params: z.unknown() });

const LEVELS: LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

export interface SessionInfo {
  key: ApiKey;
  sessionId: () => string | undefined;
  remote?: string;
}

/** Builds the McpServer of one session. The product's is createSessionServer; a test build may compose its own. */
export type SessionServerFactory = (gate: Gate, info: SessionInfo) => McpServer;

/** One McpServer per session, bound to the key that opened it: tools, resources and prompts all go through the gate. */
export function createSessionServer(gate: Gate, info: SessionInfo): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { tools: { listChanged: false }, resources: { listChanged: false }, prompts: { listChanged: false }, logging: {} },
    instructions: INSTRUCTIONS,
  });
  const client = () => {
    const c = server.server.getClientVersion();
    return c ? { name: c.name, version: c.version } : undefined;
  };
  const caller = (): Caller => ({ key: info.key, sessionId: info.sessionId(), remote: info.remote, client: client() });
  // logging/setLevel per session; the gate's notices travel on the request's own stream, filtered by it.
  let minLevel: LoggingLevel = 'info';
  server.server.setRequestHandler(SetLevelRequestSchema, (req) => {
    minLevel = req.params.level;
    return {};
  });
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toProtocolTools(gate.listTools(info.key)) }));
  // A loose schema here so malformed params get -32602 Invalid params (the SDK's own parse would answer -32603).
  server.server.setRequestHandler(LooseCallTool, async (raw, extra) => {
    const parsed = CallToolRequestSchema.safeParse(raw);
    if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, `Invalid params for tools/call: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const req = parsed.data;
    const token = req.params._meta?.progressToken;
    return toCallToolResult(await gate.call(req.params.name, req.params.arguments, {
      ...caller(),
      signal: extra.signal,
      progress: token === undefined ? undefined : (p) => extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }),
      log: (level, data) =>
        LEVELS.indexOf(level) < LEVELS.indexOf(minLevel)
          ? Promise.resolve()
          : extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'countersign', data } }),
    }));
  });
  registerResources(server, gate, caller);
  registerPrompts(server, gate, caller);
  return server;
}
