// Shared by the tool tests: a ToolDenial catcher and a runner that also checks results against each tool's output schema.
import type { Harness } from '../helpers/toolHarness.ts';
import { ToolDenial, type ToolContext, type ToolSpec } from '../../src-main/tools/types.ts';

export const SEED_NOW = new Date('2026-11-20T12:00:00Z');

export function denial(fn: () => unknown): ToolDenial {
  try {
    fn();
  } catch (e) {
    if (e instanceof ToolDenial) return e;
    throw e;
  }
  throw new Error('expected a ToolDenial');
}

/** plan + execute through the harness, then validate the structured result against the tool's declared output schema. */
export function runner(h: Harness) {
  return <T extends ToolSpec>(tool: T, args: unknown, ctx: ToolContext): ReturnType<T['execute']> => {
    const result = h.run(tool, args, ctx);
    tool.output.strict().parse(result);
    return result;
  };
}

/** A context for the given tenants at the seed's "now" (or another time). */
export const ctxAt = (h: Harness, slugs?: string[], now = SEED_NOW): ToolContext => ({ ...h.ctx(slugs), now });
