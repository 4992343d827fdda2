import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

interface PromptStep {
  tool: string;
  text: string;
}

/** A prompt is offered only when its first tool is callable, and names only steps whose tools this key can call. */
function steps(available: Set<string>, list: PromptStep[]): string | undefined {
  if (!available.has(list[0]!.tool)) return undefined;
  return list.filter((s) => available.has(s.tool)).map((s, i) => `${i + 1}. ${s.text}`).join('\n');
}

export function registerPrompts(server: McpServer, available: Set<string>): void {
  const tenant = { tenant: z.string().max(40).optional().describe('Tenant slug (optional)') };
  const scope = (t?: string) => (t ? ` for tenant "${t}"` : ' across my tenants');

  const triage = (t?: string) => steps(available, [
    { tool: 'get_alerts', text: `Call get_alerts${scope(t)} with severity critical and high; group them by device.` },
    { tool: 'get_device_details', text: 'For each affected device, call get_device_details to check status, disks and missing patches.' },
    { tool: 'acknowledge_alerts', text: 'Acknowledge the alerts you have investigated with acknowledge_alerts, with a short note.' },
    { tool: 'add_incident_note', text: 'Record findings on the related incident with add_incident_note.' },
  ]);
  if (triage()) {
    server.registerPrompt('triage-alerts', { title: 'Triage alerts', description: 'Work through critical and high alerts, device by device.', argsSchema: tenant },
      ({ tenant: t }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Triage the open alerts${scope(t)}:\n${triage(t)}\nSummarise what needs a technician.` } }] }));
  }

  const patching = (t?: string) => steps(available, [
    { tool: 'get_patch_status', text: `Call get_patch_status${scope(t)} for missing patches, critical first.` },
    { tool: 'list_devices', text: 'Check with list_devices which targets are online.' },
    { tool: 'deploy_patches', text: 'Propose deploy_patches per tenant; it honours the maintenance window and waits for the technician\'s approval. Poll get_approval_status.' },
  ]);
  if (patching()) {
    server.registerPrompt('patch-plan', { title: 'Patch plan', description: 'Plan missing-patch deployment inside maintenance windows.', argsSchema: tenant },
      ({ tenant: t }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Make a patch plan${scope(t)}:\n${patching(t)}` } }] }));
  }

  const briefing = (t?: string) => steps(available, [
    { tool: 'fleet_health_check', text: `Call fleet_health_check${scope(t)}.` },
    { tool: 'compliance_summary', text: 'Call compliance_summary and list non-compliant devices.' },
    { tool: 'generate_report', text: 'If asked for a document, generate an executive report with generate_report and give its path from get_report_status.' },
  ]);
  if (briefing()) {
    server.registerPrompt('fleet-briefing', { title: 'Fleet briefing', description: 'A short health and compliance briefing for the technician.', argsSchema: tenant },
      ({ tenant: t }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Brief me on the fleet${scope(t)}:\n${briefing(t)}` } }] }));
  }
}
