// The task receiver SDK 1.32.2 lacks, written against the Tasks extension (io.modelcontextprotocol/tasks, SEP-2663,
// 2026-07-28: tasks/get with the result inline, tasks/update, tasks/cancel) and the 2025-11-25 task augmentation that
// SDK clients of that era speak (tasks/get, the blocking tasks/result, tasks/cancel). Tasks come from sources: the
// product's is the approval queue (a task id is the approval id; every read and cancel goes through the gate); a test
// build may add its own. Delete this file when the SDK ships a task receiver for both eras.
import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Caller, Gate } from '../governance/gate.ts';
import { MODERN_ERRORS, TASKS_EXTENSION, declaresExtension, modernContextOf, type ModernRequestContext } from './era.ts';
import { nextChange, outcomeOf, readApproval, refusalError, viaView, type ApprovalRead } from './approvalViews.ts';
import type { InputRequest } from './mrtr.ts';
import { looseRequest, parseParams } from './rawHandler.ts';

export const TASK_STATUSES = ['working', 'input_required', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type Era = 'legacy' | 'modern';

/** Tasks stay readable at least this long (approvals are kept for good; the figure is what clients may rely on). */
export const TASK_TTL_MS = 24 * 60 * 60_000;
export const POLL_INTERVAL_MS = 2_000;
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** A task as the receiver reports it, in either era's shape once rendered. */
export interface TaskState {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  /** completed (and, in 2025-11-25, failed): the result of the original request. */
  result?: CallToolResult;
  /** failed on the modern wire: the JSON-RPC error the request ended with. */
  error?: { code: number; message: string; data?: unknown };
  /** input_required: what the client must answer through tasks/update. */
  inputRequests?: Record<string, InputRequest>;
}

export interface TaskSource {
  /** The task, or undefined when this source does not hold the id. Refusals throw a McpError. */
  get(taskId: string, caller: Caller, era: Era): Promise<TaskState | undefined>;
  /** Cancels it; false when unknown here. A task that can no longer be cancelled throws (2025-11-25) or is left as is. */
  cancel(taskId: string, caller: Caller, era: Era): Promise<boolean>;
  /** Delivers inputResponses (2026-07-28); false when unknown here. */
  update?(taskId: string, inputResponses: Record<string, unknown>, caller: Caller): Promise<boolean>;
  /** Resolves at the task's next change, after ms, or on abort. */
  changed(taskId: string, ms: number, signal?: AbortSignal): Promise<void>;
}

/** The 2026-07-28 wire: flat Result & Task with ttlMs/pollIntervalMs; CreateTaskResult says resultType "task". */
export function modernTask(t: TaskState, resultType: 'task' | 'complete'): Record<string, unknown> {
  const base: Record<string, unknown> = {
    resultType, taskId: t.taskId, status: t.status, createdAt: t.createdAt, lastUpdatedAt: t.lastUpdatedAt, ttlMs: TASK_TTL_MS, pollIntervalMs: POLL_INTERVAL_MS,
  };
  if (t.statusMessage) base.statusMessage = t.statusMessage;
  if (resultType === 'complete') {
    if (t.status === 'completed' && t.result) base.result = { resultType: 'complete', ...t.result };
    if (t.status === 'failed' && t.error) base.error = t.error;
    if (t.status === 'input_required' && t.inputRequests) base.inputRequests = t.inputRequests;
  }
  return base;
}

/** The 2025-11-25 wire: a Task with ttl/pollInterval, wrapped as { task } when it is the answer to tools/call. */
export function legacyTask(t: TaskState): Record<string, unknown> {
  return {
    taskId: t.taskId, status: t.status, createdAt: t.createdAt, lastUpdatedAt: t.lastUpdatedAt, ttl: TASK_TTL_MS, pollInterval: POLL_INTERVAL_MS,
    ...(t.statusMessage ? { statusMessage: t.statusMessage } : {}),
  };
}

/** What tools/call answers when it makes a task. */
export function createTaskResult(t: TaskState, era: Era): Record<string, unknown> {
  return era === 'modern' ? modernTask(t, 'task') : { task: legacyTask(t), _meta: { [RELATED_TASK]: { taskId: t.taskId } } };
}

// ---------------------------------------------------------------------------------------------------------------
// The approval queue as a task source.

const APPROVAL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A task's state from the approval's live read. A tool-level refusal is "completed" with isError in 2026-07-28. */
export function taskOfApproval(v: ApprovalRead, era: Era): TaskState {
  const base = { taskId: v.approvalId, createdAt: v.createdAt, lastUpdatedAt: v.decidedAt ?? v.createdAt, statusMessage: v.message };
  switch (v.status) {
    case 'pending':
      return { ...base, status: 'working', statusMessage: `Waiting for a technician's approval in the Countersign console (expires ${v.expiresAt}).` };
    case 'approved':
    case 'running':
      return { ...base, status: 'working' };
    case 'cancelled':
      return { ...base, status: 'cancelled', result: outcomeOf(v) };
    case 'completed':
      return { ...base, status: 'completed', result: outcomeOf(v) };
    default:
      // denied, expired, failed: the request ended with a tool-level error carrying the reason.
      return { ...base, status: era === 'modern' ? 'completed' : 'failed', result: outcomeOf(v) };
  }
}

export function approvalTaskSource(gate: Gate): TaskSource {
  return {
    async get(taskId, caller, era) {
      if (!APPROVAL_ID.test(taskId)) return undefined;
      const v = await readApproval(gate, { ...caller, view: 'task' }, taskId, era === 'modern' ? 'tasks/get' : 'tasks/get|tasks/result');
      if (v instanceof AppError) {
        if (v.code === 'NOT_FOUND') return undefined;
        throw refusalError(v, 'task');
      }
      return taskOfApproval(v, era);
    },
    async cancel(taskId, caller, era) {
      if (!APPROVAL_ID.test(taskId)) return false;
      // cancel_approval is the requesting key's withdrawal (Decisions.cancel), audited like any call.
      const c = { ...caller, view: 'task' };
      const r = await gate.call('cancel_approval', { approvalId: taskId }, c, viaView(c, 'tasks/cancel'));
      if (r.kind === 'ok') return true;
      if (r.kind !== 'refused' || r.error.code === 'NOT_FOUND') return false;
      if (r.error.code === 'CONFLICT') {
        // Decided already: cancellation is cooperative in 2026-07-28 (acknowledged, the task goes on); 2025-11-25 says no.
        if (era === 'modern') return true;
        throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task ${taskId}: ${r.error.message}`);
      }
      throw refusalError(r.error, 'task');
    },
    changed: (taskId, ms, signal) => nextChange(gate, taskId, ms, signal).settled,
  };
}

/**
 * 2025-11-25 task augmentation obliges a task for every augmented call, even one that finished at once (a read, a
 * refusal). Those are kept here, in memory, for their key, for the TTL; they are never pending anything.
 */
export function instantTaskSource(limit = 1000): TaskSource & { add(keyId: string, result: CallToolResult): TaskState } {
  const tasks = new Map<string, { keyId: string; state: TaskState; at: number }>();
  const live = (id: string, keyId: string) => {
    const t = tasks.get(id);
    if (!t || t.keyId !== keyId) return undefined;
    if (Date.now() - t.at > TASK_TTL_MS) return void tasks.delete(id);
    return t;
  };
  return {
    add(keyId, result) {
      const now = new Date().toISOString();
      const state: TaskState = { taskId: randomUUID(), status: result.isError ? 'failed' : 'completed', createdAt: now, lastUpdatedAt: now, result };
      tasks.set(state.taskId, { keyId, state, at: Date.now() });
      while (tasks.size > limit) tasks.delete(tasks.keys().next().value!);
      return state;
    },
    get: async (taskId, caller) => live(taskId, caller.key.id)?.state,
    async cancel(taskId, caller) {
      const t = live(taskId, caller.key.id);
      if (!t) return false;
      throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${t.state.status}`);
    },
    changed: (_id, ms, signal) => new Promise((r) => {
      const timer = setTimeout(r, ms);
      signal?.addEventListener('abort', () => { clearTimeout(timer); r(); });
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The receiver: tasks/* on a session server, for both eras.

const TaskParams = z.object({ taskId: z.string().min(1).max(200) }).loose();
const UpdateParams = TaskParams.extend({ inputResponses: z.record(z.string(), z.unknown()) });
// Built once: a schema per handler per session server was the largest part of making one (one per stateless request).
const TASKS_GET = looseRequest('tasks/get');
const TASKS_CANCEL = looseRequest('tasks/cancel');
const TASKS_UPDATE = looseRequest('tasks/update');
const TASKS_RESULT = looseRequest('tasks/result');

export function missingTasksCapability(): McpError {
  return new McpError(MODERN_ERRORS.missingCapability, 'Missing required client capability', { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });
}

export interface TaskReceiver {
  readonly sources: TaskSource[];
  add(source: TaskSource): void;
}

const receivers = new WeakMap<McpServer, TaskReceiver>();

/** The receiver registered on a session server, so a test build can add its own task source. */
export function taskReceiverOf(server: McpServer): TaskReceiver | undefined {
  return receivers.get(server);
}

export function registerTasks(server: McpServer, caller: () => Caller, sources: TaskSource[]): TaskReceiver {
  const receiver: TaskReceiver = { sources: [...sources], add: (s) => void receiver.sources.push(s) };
  receivers.set(server, receiver);
  const eraOf = (meta: unknown): { era: Era; modern?: ModernRequestContext } => {
    const modern = modernContextOf(meta);
    return modern ? { era: 'modern', modern } : { era: 'legacy' };
  };
  const gated = (meta: unknown) => {
    const e = eraOf(meta);
    if (e.modern && !declaresExtension(e.modern.capabilities, TASKS_EXTENSION)) throw missingTasksCapability();
    return e;
  };
  const find = async (taskId: string, c: Caller, era: Era): Promise<{ task: TaskState; source: TaskSource }> => {
    for (const source of receiver.sources) {
      const task = await source.get(taskId, c, era);
      if (task) return { task, source };
    }
    throw new McpError(ErrorCode.InvalidParams, 'Failed to retrieve task: Task not found');
  };
  const who = (signal: AbortSignal, modern?: ModernRequestContext): Caller => ({ ...caller(), ...(modern?.client ? { client: modern.client } : {}), signal });

  server.server.setRequestHandler(TASKS_GET, async (req, extra) => {
    const { era, modern } = gated(extra._meta);
    const { taskId } = parseParams(TaskParams, req.params, 'tasks/get');
    const { task } = await find(taskId, who(extra.signal, modern), era);
    return (era === 'modern' ? modernTask(task, 'complete') : legacyTask(task)) as never;
  });

  server.server.setRequestHandler(TASKS_CANCEL, async (req, extra) => {
    const { era, modern } = gated(extra._meta);
    const { taskId } = parseParams(TaskParams, req.params, 'tasks/cancel');
    const c = who(extra.signal, modern);
    for (const source of receiver.sources) {
      if (await source.cancel(taskId, c, era)) {
        if (era === 'modern') return { resultType: 'complete' } as never;
        return legacyTask((await find(taskId, c, era)).task) as never;
      }
    }
    throw new McpError(ErrorCode.InvalidParams, 'Failed to cancel task: Task not found');
  });

  server.server.setRequestHandler(TASKS_UPDATE, async (req, extra) => {
    const { era, modern } = gated(extra._meta);
    if (era !== 'modern') throw new McpError(ErrorCode.MethodNotFound, 'Method not found');
    const { taskId, inputResponses } = parseParams(UpdateParams, req.params, 'tasks/update');
    const c = who(extra.signal, modern);
    for (const source of receiver.sources) if (await source.update?.(taskId, inputResponses, c)) return { resultType: 'complete' } as never;
    await find(taskId, c, era); // known but takes no input: acknowledged, the responses are ignored (they answer nothing outstanding)
    return { resultType: 'complete' } as never;
  });

  // 2025-11-25 only (2026-07-28 inlines the result on tasks/get and removed this method): blocks until the task ends.
  server.server.setRequestHandler(TASKS_RESULT, async (req, extra) => {
    if (eraOf(extra._meta).era === 'modern') throw new McpError(ErrorCode.MethodNotFound, 'Method not found');
    const { taskId } = parseParams(TaskParams, req.params, 'tasks/result');
    const c = who(extra.signal);
    for (;;) {
      const { task, source } = await find(taskId, c, 'legacy');
      if (task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled') {
        const result = task.result ?? { isError: true, content: [{ type: 'text' as const, text: task.statusMessage ?? `task ${task.status}` }] };
        return { ...result, _meta: { ...result._meta, [RELATED_TASK]: { taskId } } } as never;
      }
      if (extra.signal.aborted) throw new McpError(ErrorCode.ConnectionClosed, 'Request was cancelled');
      await source.changed(taskId, 30_000, extra.signal);
    }
  });
  return receiver;
}

