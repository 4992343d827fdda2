import { z } from 'zod';
import { COMMAND_STATUSES } from '../store/data/commands.ts';

export { COMMAND_STATUSES };

/** Device commands are how actions reach machines: queued → running → completed | failed | timed_out. */
export const commandOutput = z.object({
  commandId: z.string(),
  deviceId: z.string(),
  hostname: z.string(),
  status: z.enum(COMMAND_STATUSES),
  notBefore: z.string().nullable(),
});

/** Queued commands wait for the device's endpoint agent; offline devices run them when they reconnect. */
export const NO_AGENT_NOTE = 'Queued for each device\'s endpoint agent (offline devices run it when they reconnect). '
  + 'Read the outcome per device with get_script_results and this executionId.';
