// The gate's results in MCP's shape, mapped here and nowhere else: a tool result, a refusal (isError with
// {"error":{code,message,...}}), the pending-approval answer, or a decided approval's outcome.
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../errors.ts';
import type { Approval } from '../governance/approvals.ts';
import type { GateResult } from '../governance/gate.ts';
import { structuredResult } from './messageJson.ts';

/** Text copy of a structured result, for clients that ignore structuredContent: compact, which is fewer tokens for the model and less work per call. */
export function asText(value: unknown): string {
  return JSON.stringify(value);
}

export function errorResult(e: AppError): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error: e.toJSON() }) }] };
}

const structured = (value: Record<string, unknown>): CallToolResult => structuredResult(value);

/** What an outcome is built from: the approval itself, or the gate's live read of it (get_approval_status). */
export type ApprovalFacts = Pick<Approval, 'id' | 'tool' | 'status' | 'reason' | 'decisionCode' | 'expiresAt' | 'result'>;

/**
 * A decided approval as the held call, a task's result or a retried request sees it. With `executions` (each device
 * command's status, exit code and output, as get_approval_status reads them) the outcome carries them as a second
 * text block: the tool's own result stays the structured content, so it still matches the tool's output schema.
 */
export function approvalOutcome(a: ApprovalFacts, executions?: readonly unknown[]): CallToolResult {
  const perDevice = executions?.length ? [{ type: 'text' as const, text: asText({ approvalId: a.id, status: a.status, executions }) }] : [];
  if (a.status === 'denied') {
    if (a.decisionCode && a.decisionCode !== 'APPROVAL_DENIED') {
      return errorResult(new AppError(a.decisionCode as AppError['code'], `${a.tool} was not run: ${a.reason ?? ''}`, 'approval', { approvalId: a.id, reason: a.reason }));
    }
    return errorResult(new AppError('APPROVAL_DENIED', `The technician denied ${a.tool}: ${a.reason ?? 'no reason given'}`, 'approval', { approvalId: a.id, reason: a.reason }));
  }
  if (a.status === 'expired') return errorResult(new AppError('APPROVAL_EXPIRED', `Approval ${a.id} expired at ${a.expiresAt} without a decision; nothing ran. Ask again if still needed.`, 'approval', { approvalId: a.id }));
  if (a.status === 'cancelled') return errorResult(new AppError('APPROVAL_DENIED', `Approval ${a.id} was cancelled by the requesting key; nothing ran.`, 'approval', { approvalId: a.id }));
  if (a.status === 'failed') {
    const r = errorResult(new AppError('EXECUTION_FAILED', `Approved, but ${a.tool} could not run${executions?.length ? ' on every device' : ''}: ${JSON.stringify(a.result)}`, 'approval', { approvalId: a.id }));
    return { ...r, content: [...r.content, ...perDevice] };
  }
  const r = structured((a.result ?? {}) as Record<string, unknown>);
  return { ...r, content: [...r.content, ...perDevice] };
}

/** The answer while a technician has not decided yet: the durable request, and how to learn its outcome. */
export function pendingResult(a: Pick<Approval, 'id' | 'expiresAt' | 'summary'>, created: boolean): CallToolResult {
  return structured({
    status: 'pending_approval' as const, approvalId: a.id, expiresAt: a.expiresAt, summary: a.summary,
    message: `${created ? 'Sent to' : 'Already waiting in'} the technician's approval queue. Nothing has run yet. Call get_approval_status with approvalId ${a.id} to learn the decision; do not repeat this call.`,
  });
}

export function toCallToolResult(r: GateResult): CallToolResult {
  switch (r.kind) {
    case 'ok': return structured(r.value);
    case 'pending': return pendingResult(r.approval, r.created);
    case 'decided': return approvalOutcome(r.approval);
    case 'refused': return errorResult(r.error);
  }
}

/** A refusal on a request that is not tools/call (resources/read, prompts/get) as a JSON-RPC error, with the code in data. */
export function toMcpError(e: AppError): McpError {
  const rpc = e.code === 'NOT_FOUND' ? -32002 : e.code === 'INVALID_ARGUMENTS' || e.code === 'TENANT_DENIED' ? ErrorCode.InvalidParams : -32000;
  return new McpError(rpc, e.message, e.toJSON());
}
