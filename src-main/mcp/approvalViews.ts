// One durable approval, three ways a client can see it, chosen from what the client declares (never from arguments):
// a task (the Tasks extension, or 2025-11-25 task augmentation), a URL elicitation that sends the user to the
// approval's card (2026-07-28 multi round-trip requests), or the pending result plus get_approval_status. Every read
// and change goes through the gate (get_approval_status, cancel_approval), so it is audited, budgeted and key-bound.
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../errors.ts';
import { TERMINAL, type ApprovalStatus } from '../governance/approvals.ts';
import type { Caller, Gate, Via } from '../governance/gate.ts';
import { declaresExtension, TASKS_EXTENSION, type ClientCapabilities, type ModernRequestContext } from './era.ts';
import { inputRequired, type InputRequiredResult } from './mrtr.ts';
import { approvalOutcome, errorResult, pendingResult } from './results.ts';

export const APPROVAL_VIEWS = ['task', 'url_elicitation', 'pending_result'] as const;
export type ApprovalView = (typeof APPROVAL_VIEWS)[number];

export interface ViewChoice {
  /** The request's modern envelope (2026-07-28), if it has one. */
  modern?: ModernRequestContext;
  /** A legacy session's capabilities from initialize. */
  legacy?: ClientCapabilities;
  /** A legacy request asked for task augmentation (params.task), which 2025-11-25 makes the client's choice. */
  taskAugmented: boolean;
  /** This server can send users to the console (it knows its own URL and can seal a requestState). */
  canLink: boolean;
}

/** Tasks first (the result comes back by itself), then a URL elicitation (modern only), else the pending result. */
export function chooseView(c: ViewChoice): ApprovalView {
  if (c.modern) {
    if (declaresExtension(c.modern.capabilities, TASKS_EXTENSION)) return 'task';
    if (c.canLink && c.modern.capabilities.elicitation?.url) return 'url_elicitation';
    return 'pending_result';
  }
  if (c.taskAugmented && c.legacy?.tasks?.requests?.tools?.call) return 'task';
  return 'pending_result';
}

/** get_approval_status's answer, as far as the views use it. */
export interface ApprovalRead {
  approvalId: string;
  status: ApprovalStatus;
  tool: string;
  summary: string;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  reason: string | null;
  code: string | null;
  result: unknown;
  commands: Record<string, number>;
  executions: unknown[];
  message: string;
}

export const isTerminal = (s: ApprovalStatus): boolean => TERMINAL.has(s);

/** How a view's read or cancel reached the gate: its audit entry says which view and which request made it. */
export const viaView = (caller: Caller, method: string): Via => ({ kind: 'approval_view', view: caller.view ?? 'pending_result', method });

/**
 * The approval's live state, read through the gate as get_approval_status (audited, on the read budget, only the
 * key's own approvals). A refusal comes back as the AppError the gate recorded.
 */
export async function readApproval(gate: Gate, caller: Caller, approvalId: string, method: string): Promise<ApprovalRead | AppError> {
  const r = await gate.call('get_approval_status', { approvalId }, caller, viaView(caller, method));
  if (r.kind === 'ok') return r.value as unknown as ApprovalRead;
  if (r.kind === 'refused') return r.error;
  return new AppError('INTERNAL', 'get_approval_status did not answer with a value');
}

/** The tool result of a finished approval: the real result with each device's outcome, or the refusal with its reason. */
export function outcomeOf(v: ApprovalRead): CallToolResult {
  return approvalOutcome({ id: v.approvalId, tool: v.tool, status: v.status, reason: v.reason, decisionCode: v.code, expiresAt: v.expiresAt, result: v.result }, v.executions);
}

/** Resolves at the approval's next transition, after ms, or on abort (whichever is first); subscribe before reading. */
export function nextChange(gate: Gate, approvalId: string, ms: number, signal?: AbortSignal): { settled: Promise<void>; cancel(): void } {
  const events = gate.d.approvals.events;
  let done!: () => void;
  const settled = new Promise<void>((r) => (done = r));
  const onDecided = (a: { id: string }) => a.id === approvalId && finish();
  const timer = setTimeout(() => finish(), Math.max(0, ms));
  const finish = () => {
    clearTimeout(timer);
    events.off('decided', onDecided);
    signal?.removeEventListener('abort', finish);
    done();
  };
  events.on('decided', onDecided);
  signal?.addEventListener('abort', finish);
  if (signal?.aborted) finish();
  return { settled, cancel: finish };
}

/**
 * Waits up to waitMs for the approval to finish (decided and, when approved, executed), reading it through the gate at
 * each change; progress keeps the caller's timeout alive. Returns the last read, terminal or not.
 */
export async function settle(gate: Gate, caller: Caller, approvalId: string, waitMs: number, method: string): Promise<ApprovalRead | AppError> {
  const until = Date.now() + waitMs;
  let step = 0;
  for (;;) {
    const remaining = until - Date.now();
    const change = nextChange(gate, approvalId, Math.min(gate.progressEveryMs(), Math.max(0, remaining)), caller.signal);
    const v = await readApproval(gate, caller, approvalId, method);
    if (v instanceof AppError || isTerminal(v.status) || remaining <= 0 || caller.signal?.aborted) {
      change.cancel();
      return v;
    }
    await caller.progress?.({ progress: step++, message: `Waiting for ${v.tool} (${approvalId}): ${v.message}` }).catch(() => {});
    await change.settled;
  }
}

export const APPROVAL_INPUT_KEY = 'countersign_approval';

/**
 * The URL elicitation of a pending approval: the user opens the approval's card in the console (which asks for the
 * technician's sign-in); the client's answer only says whether the user agreed to open it, and never decides anything.
 */
export function elicitApproval(a: { id: string; tool: string; summary: string; expiresAt: string }, url: string, requestState: string): InputRequiredResult {
  return inputRequired({
    inputRequests: {
      [APPROVAL_INPUT_KEY]: {
        method: 'elicitation/create',
        params: {
          mode: 'url', url,
          message: `Countersign: "${a.summary}" (${a.tool}) waits for a technician's approval until ${a.expiresAt}. Open the approval card in the `
            + 'Countersign console to decide there (sign-in required). Answering this prompt approves nothing; retrying the call returns the outcome once decided.',
        },
      },
    },
    requestState,
  });
}

/** What a retried URL-elicitation request answers: the outcome once finished, else the pending result. */
export function retryAnswer(v: ApprovalRead): CallToolResult {
  if (isTerminal(v.status)) return outcomeOf(v);
  if (v.status === 'pending') return pendingResult({ id: v.approvalId, expiresAt: v.expiresAt, summary: v.summary }, false);
  // Approved and still running on the devices: the result as it stands, each device's live state included.
  return outcomeOf(v);
}

/** A refusal of a read the views made (another key's approval, the budget) as the tool result the client sees. */
export function refusalResult(e: AppError): CallToolResult {
  return errorResult(e);
}

/** The same refusal where a JSON-RPC error is expected (tasks/*): an unknown or foreign approval is an unknown task. */
export function refusalError(e: AppError, what: string): McpError {
  if (e.code === 'NOT_FOUND') return new McpError(ErrorCode.InvalidParams, `Failed to retrieve task: ${what} not found`);
  return new McpError(-32000, e.message, e.toJSON());
}
