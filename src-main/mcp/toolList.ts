// tools/list in MCP's shape: the gate decides what a key sees; this renders it (JSON Schemas from the zod specs).
import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolSpec } from '../tools/types.ts';
import type { ToolListing } from '../governance/gate.ts';

type JsonSchema = Record<string, unknown> & { type?: string; properties?: Record<string, Record<string, unknown>> };

/** What a tier-3 call returns at once: the request waits in the technician's queue. */
export const pendingApprovalOutput = z.object({
  status: z.literal('pending_approval'),
  approvalId: z.string(),
  expiresAt: z.string(),
  summary: z.string(),
  message: z.string(),
});

function toJson(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { io, target: 'draft-7', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

const inputCache = new WeakMap<ToolSpec, JsonSchema>();
const outputCache = new WeakMap<ToolSpec, JsonSchema>();
const pendingJson = toJson(pendingApprovalOutput, 'output');

/** The advertised input schema: exactly the zod bounds (io: input, so defaults read as optional). */
export function inputJsonSchema(tool: ToolSpec): JsonSchema {
  let s = inputCache.get(tool);
  if (!s) inputCache.set(tool, (s = toJson(tool.input, 'input')));
  return s;
}

/** Tools that can end in the approval queue advertise both shapes, so clients validating structuredContent accept either. */
export function outputJsonSchema(tool: ToolSpec, mayNeedApproval: boolean): JsonSchema {
  let s = outputCache.get(tool);
  if (!s) outputCache.set(tool, (s = toJson(tool.output, 'output')));
  return mayNeedApproval ? { type: 'object', anyOf: [s, pendingJson] } : s;
}

/** Removes enum values of the action field the key cannot use: blocked actions vanish from the schema, not only from prose. */
export function withActions(schema: JsonSchema, field: string, allowed: string[]): JsonSchema {
  const prop = schema.properties?.[field];
  if (!prop || !Array.isArray(prop.enum)) return schema;
  return { ...schema, properties: { ...schema.properties, [field]: { ...prop, enum: (prop.enum as string[]).filter((v) => allowed.includes(v)) } } };
}

const APPROVAL_NOTE = ' Tier 3 calls return {status:"pending_approval", approvalId} at once: a technician decides; poll get_approval_status.';

/** `taskSupport`: the client augments calls with tasks (2025-11-25); tools that may wait for a technician say they can. */
export function toProtocolTools(listings: ToolListing[], opts: { taskSupport?: boolean } = {}): Tool[] {
  return listings.map(({ tool, actions, tiers, mayNeedApproval }) => ({
    name: tool.name,
    title: tool.title,
    description: `${tool.description}${tiers.includes(3) ? APPROVAL_NOTE : ''}`,
    inputSchema: (actions ? withActions(inputJsonSchema(tool), tool.actionField!, actions) : inputJsonSchema(tool)) as Tool['inputSchema'],
    outputSchema: outputJsonSchema(tool, mayNeedApproval) as Tool['outputSchema'],
    annotations: { title: tool.title, ...tool.annotations },
    _meta: { 'countersign/tiers': tiers },
    ...(opts.taskSupport && mayNeedApproval ? { execution: { taskSupport: 'optional' as const } } : {}),
  }));
}
