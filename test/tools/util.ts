// Shared by the tool tests: an AppError catcher and a runner that also checks results against each tool's output schema.
import type { CallCtx, Harness } from '../helpers/toolHarness.ts';
import { AppError } from '../../src-main/errors.ts';
import type { ToolSpec } from '../../src-main/tools/types.ts';

export const SEED_NOW = new Date('2026-11-20T12:00:00Z');

export async function denial(fn: () => Promise<unknown>): Promise<AppError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

/** plan + execute through the harness, then validate the structured result against the tool's declared output schema. */
export function runner(h: Harness) {
  return async <T extends ToolSpec>(tool: T, args: unknown, ctx: CallCtx): Promise<Awaited<ReturnType<T['execute']>>> => {
    const result = await h.run(tool, args, ctx);
    tool.output.strict().parse(result);
    return result;
  };
}

/** A context for the given tenants at the seed's "now" (or another time). */
export const ctxAt = (h: Harness, slugs?: string[], now = SEED_NOW): CallCtx => ({ ...h.ctx(slugs), now });
