// Prompts are governed like reads: prompts/get goes through the gate (budget, tenant, audit) and names only the
// tools the key can call at that moment.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, ListPromptsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { looseRequest, parseParams, registerRaw } from './rawHandler.ts';
import type { Caller, Gate } from '../governance/gate.ts';
import { modernContextOf, type ModernRequestContext } from './era.ts';
import { toMcpError } from './results.ts';

interface PromptStep {
  tool: string;
  text: string;
}

/** A prompt is offered only when its first tool is callable, and names only steps whose tools this key can call. */
function steps(available: ReadonlySet<string>, list: PromptStep[]): string | undefined {
  if (!available.has(list[0]!.tool)) return undefined;
  return list.filter((s) => available.has(s.tool)).map((s, i) => `${i + 1}. ${s.text}`).join('\n');
}

const scope = (t?: string) => (t ? ` for tenant "${t}"` : ' across my tenants');

const PROMPTS: { name: string; title: string; description: string; steps: (t?: string) => PromptStep[]; text: (t: string | undefined, body: string) => string }[] = [
  {
    name: 'triage-alerts', title: 'Triage alerts', description: 'Work through critical and high alerts, device by device.',
    steps: (t) => [
      { tool: 'get_alerts', text: `Call get_alerts${scope(t)} with severity critical and high; group them by device.` },
      { tool: 'get_device_details', text: 'For each affected device, call get_device_details to check status, disks and missing patches.' },
      { tool: 'acknowledge_alerts', text: 'Acknowledge the alerts you have investigated with acknowledge_alerts, with a short note.' },
      { tool: 'add_incident_note', text: 'Record findings on the related incident with add_incident_note.' },
    ],
    text: (t, body) => `Triage the open alerts${scope(t)}:\n${body}\nSummarise what needs a technician.`,
  },
  {
    name: 'patch-plan', title: 'Patch plan', description: 'Plan missing-patch deployment inside maintenance windows.',
    steps: (t) => [
      { tool: 'get_patch_status', text: `Call get_patch_status${scope(t)} for missing patches, critical first.` },
      { tool: 'list_devices', text: 'Check with list_devices which targets are online.' },
      { tool: 'deploy_patches', text: 'Propose deploy_patches per tenant; it honours the maintenance window and waits for the technician\'s approval. Poll get_approval_status.' },
    ],
    text: (t, body) => `Make a patch plan${scope(t)}:\n${body}`,
  },
  {
    name: 'fleet-briefing', title: 'Fleet briefing', description: 'A short health and compliance briefing for the technician.',
    steps: (t) => [
      { tool: 'fleet_health_check', text: `Call fleet_health_check${scope(t)}.` },
      { tool: 'compliance_summary', text: 'Call compliance_summary and list non-compliant devices.' },
      { tool: 'generate_report', text: 'If asked for a document, generate an executive report with generate_report and give its path from get_report_status.' },
    ],
    text: (t, body) => `Brief me on the fleet${scope(t)}:\n${body}`,
  },
];

const BY_NAME = new Map(PROMPTS.map((p) => [p.name, p]));
const PROMPT_ARGUMENTS = [{ name: 'tenant', description: 'Tenant slug (optional)', required: false }];
// Bounds are checked by the gate (so a bad argument is refused and audited like any call); here only the shape.
const GetPromptParams = z.object({ name: z.string(), arguments: z.object({ tenant: z.string().optional() }).optional() }).loose();
const LooseGetPrompt = looseRequest('prompts/get');

/**
 * prompts/list and prompts/get on the session server itself, not McpServer.registerPrompt: that builds a schema per
 * prompt and the tool list per session, every time a session opens (and in the stateless era on every request), where
 * the list is wanted only when asked for. A prompt is listed when its first tool is callable at that moment; each
 * prompts/get is decided again by the gate.
 */
export function registerPrompts(server: McpServer, gate: Gate, caller: (modern?: ModernRequestContext) => Caller): void {
  server.server.setRequestHandler(ListPromptsRequestSchema, () => {
    const available = new Set(gate.listTools(caller().key).map((l) => l.tool.name));
    return {
      prompts: PROMPTS.filter((p) => steps(available, p.steps()) !== undefined)
        .map((p) => ({ name: p.name, title: p.title, description: p.description, arguments: PROMPT_ARGUMENTS })),
    };
  });
  registerRaw(server, LooseGetPrompt, async (req, extra) => {
    const params = parseParams(GetPromptParams, req.params, 'prompts/get');
    const p = BY_NAME.get(params.name);
    if (!p) throw new McpError(ErrorCode.InvalidParams, `Prompt ${JSON.stringify(params.name.slice(0, 100))} not found`);
    const r = await gate.prompt(p.name, params.arguments?.tenant, caller(modernContextOf(extra._meta)), (now, t) => {
      const body = steps(now, p.steps(t));
      return body === undefined ? undefined : { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: p.text(t, body) } }] };
    });
    if (r.kind === 'refused') throw toMcpError(r.error);
    return r.value;
  });
}
