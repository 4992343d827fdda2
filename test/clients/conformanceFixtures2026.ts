// The fixtures @modelcontextprotocol/conformance@0.2.0-alpha.12 calls by exact name for protocol 2026-07-28: multi
// round-trip tools (test_input_required_result_*), the capability and logging probes of server-stateless, and the
// Tasks-extension tools (greet, slow_compute, failing_job, …). TEST BUILD ONLY, composed next to the product's session
// server like the 2025 fixtures. They are written on the product's own MRTR and task pieces (src-main/mcp/mrtr.ts,
// tasks.ts), so the suite exercises those, not a second implementation. Behaviour follows each scenario's description.
import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError, ErrorCode, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { declaresExtension, levelAllows, modernContextOf, MODERN_ERRORS, TASKS_EXTENSION, type ModernRequestContext } from '../../src-main/mcp/era.ts';
import { elicitAnswer, inputRequired, requestDigest, requestStateCodec, retryParamsOf, type InputRequest, type RetryParams } from '../../src-main/mcp/mrtr.ts';
import { createTaskResult, missingTasksCapability, taskReceiverOf, type TaskSource, type TaskState } from '../../src-main/mcp/tasks.ts';
import type { SessionInfo } from '../../src-main/mcp/sessionServer.ts';

type RawHandler = (request: unknown, extra: unknown) => Promise<unknown>;
interface Extra { _meta?: Record<string, unknown>; signal: AbortSignal; sendNotification: (n: { method: string; params: Record<string, unknown> }) => Promise<void> }
type Params = { name: string; arguments?: Record<string, unknown> } & Record<string, unknown>;

const text = (t: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: t }], ...(isError ? { isError } : {}) });
const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((r) => {
  const timer = setTimeout(r, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); r(); });
});
const elicit = (message: string, properties: Record<string, unknown>, required: string[]): InputRequest => ({
  method: 'elicitation/create', params: { mode: 'form', message, requestedSchema: { type: 'object', properties, required } },
});
const sample = (question: string, maxTokens: number): InputRequest => ({
  method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens },
});
const ROOTS: InputRequest = { method: 'roots/list', params: {} };
const samplingText = (v: unknown): string | undefined => {
  const c = (v as { content?: { type?: string; text?: unknown } } | undefined)?.content;
  return c?.type === 'text' && typeof c.text === 'string' ? c.text : undefined;
};
const rootsOf = (v: unknown): string[] | undefined => {
  const r = (v as { roots?: unknown } | undefined)?.roots;
  return Array.isArray(r) ? r.map((x) => String((x as { uri?: unknown }).uri)) : undefined;
};

/** Fixture tasks: in memory, bound to the key, driven by the fixture tools below. */
class FixtureTasks implements TaskSource {
  private readonly tasks = new Map<string, { keyId: string; state: TaskState; answers: Record<string, unknown>; abort: AbortController }>();
  private readonly events = new EventEmitter().setMaxListeners(0);

  create(keyId: string): { state: TaskState; signal: AbortSignal } {
    const now = new Date().toISOString();
    const state: TaskState = { taskId: randomUUID(), status: 'working', createdAt: now, lastUpdatedAt: now, statusMessage: 'working' };
    const abort = new AbortController();
    this.tasks.set(state.taskId, { keyId, state, answers: {}, abort });
    return { state, signal: abort.signal };
  }

  set(taskId: string, patch: Partial<TaskState>): void {
    const t = this.tasks.get(taskId);
    if (!t || t.state.status === 'cancelled') return;
    t.state = { ...t.state, ...patch, lastUpdatedAt: new Date().toISOString() };
    this.events.emit(taskId);
  }

  /** Parks the task on these input requests until every one is answered through tasks/update. */
  async ask(taskId: string, requests: Record<string, InputRequest>): Promise<Record<string, unknown>> {
    const t = this.tasks.get(taskId)!;
    const open = { ...requests };
    this.set(taskId, { status: 'input_required', inputRequests: open, statusMessage: 'waiting for input' });
    while (Object.keys(open).length > 0 && !t.abort.signal.aborted) {
      await this.changed(taskId, 10_000, t.abort.signal);
      for (const k of Object.keys(open)) if (k in t.answers) delete open[k];
      this.set(taskId, Object.keys(open).length ? { inputRequests: { ...open } } : { status: 'working', inputRequests: undefined, statusMessage: 'working' });
    }
    return t.answers;
  }

  async get(taskId: string, caller: { key: { id: string } }) {
    const t = this.tasks.get(taskId);
    return t && t.keyId === caller.key.id ? t.state : undefined;
  }

  async cancel(taskId: string, caller: { key: { id: string } }) {
    const t = this.tasks.get(taskId);
    if (!t || t.keyId !== caller.key.id) return false;
    if (t.state.status === 'working' || t.state.status === 'input_required') {
      this.set(taskId, { status: 'cancelled', statusMessage: 'cancelled by the client', inputRequests: undefined });
      t.abort.abort();
    }
    return true;
  }

  async update(taskId: string, inputResponses: Record<string, unknown>, caller: { key: { id: string } }) {
    const t = this.tasks.get(taskId);
    if (!t || t.keyId !== caller.key.id) return false;
    const outstanding = t.state.inputRequests ?? {};
    for (const [k, v] of Object.entries(inputResponses)) if (k in outstanding && !(k in t.answers)) t.answers[k] = v;
    this.events.emit(taskId);
    return true;
  }

  changed(taskId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.events.off(taskId, done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.events.on(taskId, done);
      signal?.addEventListener('abort', done);
    });
  }
}

interface Fixture {
  tool: Tool;
  call(p: Params, ctx: { modern?: ModernRequestContext; retry: RetryParams; extra: Extra }): Promise<Record<string, unknown>>;
}

export const MODERN_FIXTURE_TOOLS = [
  'test_input_required_result_elicitation', 'test_input_required_result_sampling', 'test_input_required_result_list_roots',
  'test_input_required_result_request_state', 'test_input_required_result_multiple_inputs', 'test_input_required_result_multi_round',
  'test_input_required_result_tampered_state', 'test_input_required_result_capabilities', 'test_missing_capability', 'test_logging_tool',
  'greet', 'slow_compute', 'failing_job', 'protocol_error_job', 'confirm_delete', 'multi_input', 'test_tool_with_task',
] as const;

// The stateless era builds a session server per request: what outlives a request lives here, once per process.
const codec = requestStateCodec(randomBytes(32));
const tasks = new FixtureTasks();

/** Registers the 2026-07-28 fixtures around the session server's tools/list, tools/call and prompts/get. */
export function registerModernFixtures(server: McpServer, info: SessionInfo, handlers: Map<string, RawHandler>): void {
  taskReceiverOf(server)!.add(tasks);
  const keyId = info.key.id;
  const bind = (name: string, args: unknown) => ({ keyId, session: '', request: requestDigest('tools/call', name, args) });
  const answered = (r: RetryParams, key: string) => r.inputResponses?.[key];
  const noArgs = { type: 'object', properties: {} } as Tool['inputSchema'];
  const tool = (name: string, description: string, inputSchema: Tool['inputSchema'] = noArgs, taskSupport?: 'optional' | 'required'): Tool => ({
    name, description, inputSchema, ...(taskSupport ? { execution: { taskSupport } } : {}),
  });
  const requireTasks = (modern?: ModernRequestContext) => {
    if (!modern || !declaresExtension(modern.capabilities, TASKS_EXTENSION)) throw missingTasksCapability();
  };
  const wantsTask = (modern?: ModernRequestContext) => !!modern && declaresExtension(modern.capabilities, TASKS_EXTENSION);
  /** Runs work as a fixture task and answers with its CreateTaskResult (the task is in the map before that). */
  const asTask = (work: (taskId: string, signal: AbortSignal) => Promise<Partial<TaskState>>) => {
    const { state, signal } = tasks.create(keyId);
    void work(state.taskId, signal).then((end) => tasks.set(state.taskId, end), (e: Error) => tasks.set(state.taskId, { status: 'failed', error: { code: ErrorCode.InternalError, message: e.message } }));
    return createTaskResult(state, 'modern');
  };

  const fixtures: Fixture[] = [
    {
      tool: tool('test_input_required_result_elicitation', 'MRTR: asks for a name through elicitation'),
      async call(_p, { retry }) {
        const name = elicitAnswer(retry, 'user_name')?.content?.name;
        if (typeof name === 'string') return text(`Hello, ${name}!`);
        return inputRequired({ inputRequests: { user_name: elicit('What is your name?', { name: { type: 'string' } }, ['name']) } });
      },
    },
    {
      tool: tool('test_input_required_result_sampling', 'MRTR: asks the client to sample'),
      async call(_p, { retry }) {
        const answer = samplingText(answered(retry, 'capital_question'));
        if (answer !== undefined) return text(`The model said: ${answer}`);
        return inputRequired({ inputRequests: { capital_question: sample('What is the capital of France?', 100) } });
      },
    },
    {
      tool: tool('test_input_required_result_list_roots', 'MRTR: asks for the client roots'),
      async call(_p, { retry }) {
        const roots = rootsOf(answered(retry, 'client_roots'));
        if (roots) return text(`Client roots: ${roots.join(', ') || '(none)'}`);
        return inputRequired({ inputRequests: { client_roots: ROOTS } });
      },
    },
    {
      tool: tool('test_input_required_result_request_state', 'MRTR: round-trips a sealed requestState'),
      async call(p, { retry }) {
        if (retry.requestState !== undefined) {
          const d = codec.open(retry.requestState, bind(p.name, p.arguments));
          if (d.step === 'confirm' && elicitAnswer(retry, 'confirm')) return text('state-ok: the requestState was verified');
        }
        return inputRequired({
          inputRequests: { confirm: elicit('Please confirm', { ok: { type: 'boolean' } }, ['ok']) },
          requestState: codec.seal(bind(p.name, p.arguments), { step: 'confirm' }),
        });
      },
    },
    {
      tool: tool('test_input_required_result_multiple_inputs', 'MRTR: elicitation, sampling and roots at once'),
      async call(p, { retry }) {
        if (retry.requestState !== undefined) codec.open(retry.requestState, bind(p.name, p.arguments));
        const name = elicitAnswer(retry, 'user_name')?.content?.name;
        const greeting = samplingText(answered(retry, 'greeting'));
        const roots = rootsOf(answered(retry, 'client_roots'));
        if (typeof name === 'string' && greeting !== undefined && roots) return text(`${greeting}, ${name}; roots: ${roots.join(', ')}`);
        const all: Record<string, InputRequest> = {
          user_name: elicit('What is your name?', { name: { type: 'string' } }, ['name']), greeting: sample('Generate a greeting', 50), client_roots: ROOTS,
        };
        return inputRequired({ inputRequests: all, requestState: codec.seal(bind(p.name, p.arguments), { step: 'all' }) });
      },
    },
    {
      tool: tool('test_input_required_result_multi_round', 'MRTR: two rounds of elicitation with evolving requestState'),
      async call(p, { retry }) {
        const state = retry.requestState === undefined ? {} : codec.open(retry.requestState, bind(p.name, p.arguments));
        const name = state.round === 1 ? elicitAnswer(retry, 'step1')?.content?.name : state.name;
        if (state.round === 2) {
          const color = elicitAnswer(retry, 'step2')?.content?.color;
          if (typeof color === 'string') return text(`${String(name)} likes ${color}`);
        }
        if (typeof name === 'string') {
          return inputRequired({
            inputRequests: { step2: elicit('Step 2: What is your favorite color?', { color: { type: 'string' } }, ['color']) },
            requestState: codec.seal(bind(p.name, p.arguments), { round: 2, name }),
          });
        }
        return inputRequired({
          inputRequests: { step1: elicit('Step 1: What is your name?', { name: { type: 'string' } }, ['name']) },
          requestState: codec.seal(bind(p.name, p.arguments), { round: 1 }),
        });
      },
    },
    {
      tool: tool('test_input_required_result_tampered_state', 'MRTR: refuses a requestState it did not seal'),
      async call(p, { retry }) {
        if (retry.requestState !== undefined) {
          codec.open(retry.requestState, bind(p.name, p.arguments)); // throws -32602 unless sealed here, for this key and request
          return text('state verified');
        }
        return inputRequired({ inputRequests: { ok: elicit('Continue?', { ok: { type: 'boolean' } }, ['ok']) }, requestState: codec.seal(bind(p.name, p.arguments), {}) });
      },
    },
    {
      tool: tool('test_input_required_result_capabilities', 'MRTR: asks only for what the client declared'),
      async call(_p, { modern, retry }) {
        const caps = modern?.capabilities ?? {};
        if (retry.inputResponses && Object.keys(retry.inputResponses).length > 0) return text('thanks');
        const wanted: Record<string, InputRequest> = {};
        if (caps.elicitation) wanted.user_name = elicit('What is your name?', { name: { type: 'string' } }, ['name']);
        if (caps.sampling) wanted.summary = sample('Summarise the weather', 50);
        if (caps.roots) wanted.client_roots = ROOTS;
        return Object.keys(wanted).length ? inputRequired({ inputRequests: wanted }) : text('nothing to ask this client');
      },
    },
    {
      tool: tool('test_missing_capability', 'Needs the sampling capability'),
      async call(_p, { modern }) {
        if (!modern?.capabilities.sampling) throw new McpError(MODERN_ERRORS.missingCapability, 'Missing required client capability', { requiredCapabilities: { sampling: {} } });
        return text('sampling is available');
      },
    },
    {
      tool: tool('test_logging_tool', 'Logs only when the request asked for a log level'),
      async call(_p, { modern, extra }) {
        if (levelAllows(modern?.logLevel, 'info')) await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'logged at the requested level' } });
        return text('logging tool done');
      },
    },
    {
      tool: tool('greet', 'Sync only: Hello, {name}!', { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }),
      call: async (p) => text(`Hello, ${String(p.arguments?.name)}!`),
    },
    {
      tool: tool('slow_compute', 'Task-supporting: sleeps `seconds`', { type: 'object', properties: { seconds: { type: 'number' }, label: { type: 'string' } } }, 'optional'),
      async call(p, { modern, extra }) {
        const ms = Math.max(0, Number(p.arguments?.seconds ?? 0)) * 1000;
        const done = text(`computed ${String(p.arguments?.label ?? '')} after ${ms / 1000}s`);
        if (!wantsTask(modern)) {
          await sleep(ms, extra.signal);
          return done;
        }
        return asTask(async (_id, signal) => {
          await sleep(ms, signal);
          return { status: 'completed', result: done, statusMessage: 'done' };
        });
      },
    },
    {
      tool: tool('failing_job', 'Task-required: ends with a tool error', noArgs, 'required'),
      async call(_p, { modern }) {
        requireTasks(modern);
        return asTask(async (_id, signal) => {
          await sleep(1000, signal);
          return { status: 'completed', result: text('the job failed as designed', true), statusMessage: 'tool error' };
        });
      },
    },
    {
      tool: tool('protocol_error_job', 'Task-supporting: ends with a JSON-RPC error', noArgs, 'optional'),
      async call(_p, { modern }) {
        requireTasks(modern);
        return asTask(async () => ({ status: 'failed', error: { code: ErrorCode.InternalError, message: 'protocol error as designed' }, statusMessage: 'protocol error' }));
      },
    },
    {
      tool: tool('confirm_delete', 'Task-supporting: asks for confirmation', { type: 'object', properties: { filename: { type: 'string' } } }, 'optional'),
      async call(p, { modern }) {
        requireTasks(modern);
        return asTask(async (taskId) => {
          const a = await tasks.ask(taskId, { [`confirm-${randomUUID()}`]: elicit(`Delete ${String(p.arguments?.filename)}?`, { confirm: { type: 'boolean' } }, ['confirm']) });
          return { status: 'completed', result: text(`deleted ${String(p.arguments?.filename)} (${Object.keys(a).length} answer)`), statusMessage: 'done' };
        });
      },
    },
    {
      tool: tool('multi_input', 'Task-supporting: two inputs at once', noArgs, 'optional'),
      async call(_p, { modern }) {
        requireTasks(modern);
        return asTask(async (taskId) => {
          const a = await tasks.ask(taskId, {
            [`first-${randomUUID()}`]: elicit('First?', { name: { type: 'string' }, confirm: { type: 'boolean' } }, ['name']),
            [`second-${randomUUID()}`]: elicit('Second?', { name: { type: 'string' }, confirm: { type: 'boolean' } }, ['name']),
          });
          return { status: 'completed', result: text(`got ${Object.keys(a).length} answers`), statusMessage: 'done' };
        });
      },
    },
    {
      tool: tool('test_tool_with_task', 'MRTR first, then a task', noArgs, 'required'),
      async call(_p, { modern, retry }) {
        requireTasks(modern);
        const name = elicitAnswer(retry, 'user_name')?.content?.name;
        if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: elicit('What is your name?', { name: { type: 'string' } }, ['name']) } });
        return asTask(async () => ({ status: 'completed', result: text(`Hello from the task, ${name}!`), statusMessage: 'done' }));
      },
    },
  ];
  const byName = new Map(fixtures.map((f) => [f.tool.name, f]));

  const list = handlers.get('tools/list')!;
  const call = handlers.get('tools/call')!;
  handlers.set('tools/list', async (req, extra) => {
    const r = (await list(req, extra)) as { tools: Tool[] };
    return { ...r, tools: [...r.tools, ...fixtures.map((f) => f.tool)] };
  });
  handlers.set('tools/call', async (req, extra) => {
    const params = (req as { params?: Params }).params;
    const f = params && byName.get(params.name);
    if (!f) return call(req, extra);
    const x = extra as Extra;
    return f.call(params, { modern: modernContextOf(x._meta), retry: retryParamsOf(params), extra: x });
  });
  const getPrompt = handlers.get('prompts/get')!;
  handlers.set('prompts/get', async (req, extra) => {
    const params = (req as { params?: Params }).params;
    if (params?.name !== 'test_input_required_result_prompt') return getPrompt(req, extra);
    const context = elicitAnswer(retryParamsOf(params), 'user_context')?.content?.context;
    if (typeof context === 'string') return { messages: [{ role: 'user', content: { type: 'text', text: `Use this context: ${context}` } }] };
    return inputRequired({ inputRequests: { user_context: elicit('What context should the prompt use?', { context: { type: 'string' } }, ['context']) } });
  });
  const listPrompts = handlers.get('prompts/list')!;
  handlers.set('prompts/list', async (req, extra) => {
    const r = (await listPrompts(req, extra)) as { prompts: unknown[] };
    return { ...r, prompts: [...r.prompts, { name: 'test_input_required_result_prompt', description: 'MRTR: asks for context first' }] };
  });
}
