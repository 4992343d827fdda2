// Prompts are governed like reads: prompts/get goes through the gate (budget, tenant, audit) and names only the
// tools the key can call at that moment.
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
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

/** Registers the prompts the key can use when its session opens; each prompts/get is decided again by the gate. */
export function registerPrompts(server: McpServer, gate: Gate, caller: (modern?: ModernRequestContext) => Caller): void {
  const available = new Set(gate.listTools(caller().key).map((l) => l.tool.name));
  // Bounds are checked by the gate (so a bad argument is refused and audited like any call), not by the SDK.
  const argsSchema = { tenant: z.string().optional().describe('Tenant slug (optional)') };
  for (const p of PROMPTS) {
    if (!steps(available, p.steps())) continue;
    server.registerPrompt(p.name, { title: p.title, description: p.description, argsSchema }, async ({ tenant }, extra) => {
      const r = await gate.prompt(p.name, tenant, caller(modernContextOf(extra._meta)), (now, t) => {
        const body = steps(now, p.steps(t));
        return body === undefined ? undefined : { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: p.text(t, body) } }] };
      });
      if (r.kind === 'refused') throw toMcpError(r.error);
      return r.value;
    });
  }
}
