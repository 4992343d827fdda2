// tools/call on either era: pick the approval view from what the client declared, call the gate, and present what it
// answered in that view. A retried URL-elicitation request is answered from the approval its sealed requestState names.
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../errors.ts';
import type { Approval } from '../governance/approvals.ts';
import type { Caller, Gate, GateResult } from '../governance/gate.ts';
import { chooseView, elicitApproval, retryAnswer, settle, viaView, APPROVAL_INPUT_KEY, type ApprovalView } from './approvalViews.ts';

const RETRY = 'tools/call retry';
import { levelAllows, modernContextOf, type ClientCapabilities, type LogLevel, type ModernRequestContext } from './era.ts';
import { elicitAnswer, requestDigest, retryParamsOf, RequestStateError, type RequestStateCodec } from './mrtr.ts';
import { errorResult, toCallToolResult } from './results.ts';
import { plainCallParams, type CallParams } from './plainRequest.ts';
import { createTaskResult, type Era, type TaskSource, type TaskState } from './tasks.ts';

/** Where the console shows an approval's card, and the seal for requestState: without them there is no URL view. */
export interface ApprovalLinks {
  cardUrl(approvalId: string): string;
  requestState: RequestStateCodec;
}

export interface ToolCallContext {
  gate: Gate;
  caller: (modern?: ModernRequestContext) => Caller;
  links?: ApprovalLinks;
  /** 2025-11-25 task augmentation: calls that finished at once still answer with a task. */
  instantTasks: TaskSource & { add(keyId: string, result: CallToolResult): TaskState };
  /** The legacy session's logging/setLevel. */
  legacyLogLevel: () => LogLevel;
  /** The legacy session's capabilities from initialize (fixed for the session). */
  legacyCapabilities: () => ClientCapabilities | undefined;
}

interface Extra {
  signal: AbortSignal;
  _meta?: Record<string, unknown>;
  sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void>;
}

/** The answer of the first round: the pending approval in the chosen view. */
function presentPending(c: ToolCallContext, view: ApprovalView, era: Era, a: Approval, created: boolean, bind: { keyId: string; request: string }): CallToolResult {
  if (view === 'task') {
    const task: TaskState = {
      taskId: a.id, status: 'working', createdAt: a.createdAt, lastUpdatedAt: a.createdAt,
      statusMessage: `Waiting for a technician's approval in the Countersign console (expires ${a.expiresAt}).`,
    };
    return createTaskResult(task, era) as CallToolResult;
  }
  if (view === 'url_elicitation' && c.links) {
    const state = c.links.requestState.seal({ keyId: bind.keyId, session: '', request: bind.request }, { approvalId: a.id });
    return elicitApproval(a, c.links.cardUrl(a.id), state) as unknown as CallToolResult;
  }
  return toCallToolResult({ kind: 'pending', approval: a, created });
}

function callParams(raw: { params?: unknown }): CallParams {
  const plain = plainCallParams(raw.params);
  if (plain) return plain;
  const parsed = CallToolRequestSchema.safeParse(raw);
  if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, `Invalid params for tools/call: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data.params;
}

export async function callTool(c: ToolCallContext, raw: { params?: unknown }, extra: Extra): Promise<CallToolResult> {
  const { name, arguments: args, _meta, task } = callParams(raw);
  const modern = modernContextOf(extra._meta);
  const era: Era = modern ? 'modern' : 'legacy';
  const view = chooseView({ modern, legacy: modern ? undefined : c.legacyCapabilities(), taskAugmented: task !== undefined, canLink: !!c.links });
  const token = _meta?.progressToken;
  const minLevel = modern ? modern.logLevel : c.legacyLogLevel();
  const caller: Caller = {
    ...c.caller(modern), signal: extra.signal, view,
    progress: token === undefined ? undefined : (p) => extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } }),
    // On the modern wire there are no log notifications unless the request asked for them (its logLevel).
    log: (level, data) => (levelAllows(minLevel, level) ? extra.sendNotification({ method: 'notifications/message', params: { level, logger: 'countersign', data } }) : Promise.resolve()),
  };
  // What a requestState is bound to: only computed for the view that seals one.
  const request = () => requestDigest('tools/call', name, args);

  if (view === 'url_elicitation' && c.links) {
    const retry = retryParamsOf(raw.params);
    if (retry.requestState !== undefined) return answerRetry(c, caller, name, args, request(), retry);
  }
  // Only the pending-result view holds the call with progress; a task or an elicitation answers at once.
  const r: GateResult = await c.gate.call(name, args, view === 'pending_result' ? caller : { ...caller, progress: undefined });
  if (r.kind === 'pending') return presentPending(c, view, era, r.approval, r.created, { keyId: caller.key.id, request: view === 'url_elicitation' ? request() : '' });
  const result = toCallToolResult(r);
  // 2025-11-25: an augmented call is answered with a task whatever happened; this one has already finished.
  if (era === 'legacy' && view === 'task') return createTaskResult(c.instantTasks.add(caller.key.id, result), 'legacy') as CallToolResult;
  return result;
}

/**
 * The retry of a URL elicitation: the state must be one we sealed for this key and this exact request, else it is
 * refused (and audited). The client's answer only says whether the user opened the card; nothing here decides.
 */
async function answerRetry(c: ToolCallContext, caller: Caller, name: string, args: unknown, request: string, retry: ReturnType<typeof retryParamsOf>): Promise<CallToolResult> {
  const started = performance.now();
  let approvalId: unknown;
  try {
    // A retry spends the read budget before anything else, like every call: a flood of forged states is throttled.
    c.gate.throttle(caller.key, 'read');
    approvalId = c.links!.requestState.open(retry.requestState!, { keyId: caller.key.id, session: '', request }).approvalId;
    if (typeof approvalId !== 'string') throw new RequestStateError('malformed');
  } catch (e) {
    if (e instanceof AppError) {
      const r = await c.gate.refuse(e, name, c.gate.auditBase(name, caller, viaView(caller, RETRY)), { args, started, caller });
      return toCallToolResult(r);
    }
    if (!(e instanceof RequestStateError)) throw e;
    const refusal = new AppError('TAMPERED', 'The requestState of this retry is not one Countersign issued for this key and this request; nothing was read or run.',
      'request_state', { reason: e.reason }, `requestState refused: ${e.reason}`);
    await c.gate.refuse(refusal, name, c.gate.auditBase(name, caller, viaView(caller, RETRY)), { args, started, caller });
    throw e;
  }
  const answer = elicitAnswer(retry, APPROVAL_INPUT_KEY);
  // The user opened the card: hold the retry while the technician decides, as the held pending result does.
  const waitMs = answer?.action === 'accept' ? c.gate.d.policy.values.approvalWaitSeconds * 1000 : 0;
  const v = await settle(c.gate, caller, approvalId, waitMs, RETRY);
  return v instanceof AppError ? errorResult(v) : retryAnswer(v);
}
