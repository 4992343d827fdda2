// The PSA ticket a call may carry: shown on the card, kept in the audit entry, required for tier 3 in the tenants the
// policy names. Every tool that changes something (and propose_plan) accepts it as an optional `ticket` argument.
import { z } from 'zod';
import type { ToolSpec } from '../tools/types.ts';

export const PSA_SYSTEMS = ['connectwise', 'halopsa', 'autotask', 'other'] as const;

export const Ticket = z.strictObject({
  system: z.enum(PSA_SYSTEMS).describe('connectwise, halopsa, autotask, or other (free text in id)'),
  // Printable ASCII only: a ticket reference never needs an invisible or look-alike character.
  id: z.string().trim().min(1).max(120).regex(/^[\x20-\x7e]+$/, 'printable ASCII only').describe('The ticket number or reference, e.g. 104233 or T20261120.0042'),
}).describe('The PSA ticket this call is for: shown to the technician on the approval card and kept in the audit log. Tenants may require one on calls that need approval.');
export type Ticket = z.infer<typeof Ticket>;

/** The ticket of validated arguments, if any. */
export function ticketOf(args: Record<string, unknown> | undefined): Ticket | undefined {
  const r = Ticket.safeParse(args?.ticket);
  return r.success ? r.data : undefined;
}

/** The tool with `ticket` added to its input, where it changes something and its input is an object. */
export function withTicket(tool: ToolSpec): ToolSpec {
  if (tool.access !== 'write' || !(tool.input instanceof z.ZodObject) || 'ticket' in tool.input.shape) return tool;
  return { ...tool, input: tool.input.safeExtend({ ticket: Ticket.optional() }) } as ToolSpec;
}
