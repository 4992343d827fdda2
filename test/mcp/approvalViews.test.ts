// One durable approval, three views, chosen from what the client declares, against a real server: the Tasks
// extension and URL elicitation over the 2026-07-28 wire (a raw-HTTP client, no SDK), 2025-11-25 task augmentation
// with the SDK client, and the pending result. Every view reads and changes the same approval row; each is audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ModernClient, urlElicitation } from '../clients/modernClient.ts';

const TASKS = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
const URL_ELICITATION = { elicitation: { form: {}, url: {} } };

let t: TestServer;
let key: string;
let otherKey: string;
const client = (capabilities: Record<string, unknown>, apiKey = key) => new ModernClient({ url: `${t.url}/api/v1/mcp`, apiKey, capabilities });
/** A tier-3 call that runs without an agent: create_runbook raised to tier 3 by an override. */
const runbook = (title: string) => ({ tenant: 'acme-dental', title, body: `# ${title}\nSteps.` });
const approvalCount = () => (t.app.db.prepare('SELECT COUNT(*) AS n FROM approvals').get() as { n: number }).n;
/** The audit entries of an approval: its own, and the reads of it (get_approval_status names it in its arguments). */
const audit = (approvalId: string) => t.app.db.prepare(`SELECT event, decision, code, rule, tool, detail_json FROM audit_log
  WHERE approval_id = ? OR (tool = 'get_approval_status' AND json_extract(args_json, '$.approvalId') = ?) ORDER BY seq`).all(approvalId, approvalId) as
  { event: string; decision: string; code: string | null; rule: string | null; tool: string; detail_json: string | null }[];
const views = (approvalId: string) => audit(approvalId).map((e) => (e.detail_json ? (JSON.parse(e.detail_json) as { view?: string }).view : undefined)).filter(Boolean);
const text = (r: { content?: { type: string; text?: string }[] }) => (r.content ?? []).map((c) => c.text ?? '').join('\n');

beforeAll(async () => {
  t = await startTestServer({ env: { COUNTERSIGN_APPROVAL_WAIT_SECONDS: '2' } });
  key = await t.key({ name: 'views' });
  otherKey = await t.key({ name: 'someone-else' });
  await t.app.policy.setOverride({ tool: 'create_runbook', tier: 3 }, 'test');
});
afterAll(() => t.close());

describe('Tasks extension declared (2026-07-28): the approval is a task', () => {
  it('tools/call answers a CreateTaskResult whose id is the approval; identical calls give the same task, one card', async () => {
    const c = client(TASKS);
    const before = approvalCount();
    const first = await c.callTool('create_runbook', runbook('task one'));
    expect(first.status).toBe(200);
    const task = first.body.result;
    expect(task).toMatchObject({ resultType: 'task', status: 'working', ttlMs: expect.any(Number), pollIntervalMs: 2000 });
    expect(task.statusMessage).toContain("Waiting for a technician's approval");
    const again = (await c.callTool('create_runbook', runbook('task one'))).body.result;
    expect(again.taskId).toBe(task.taskId);
    expect(approvalCount()).toBe(before + 1);
    const a = (await t.app.approvals.get(task.taskId))!;
    expect(a).toMatchObject({ status: 'pending', tool: 'create_runbook', client: 'countersign-raw-2026-client 1.0.0' });
    expect(a.detail.clientFlow).toBe('task');
    expect(views(a.id)).toEqual(['task', 'task']);
  });

  it('tasks/get follows the approval: working while pending, completed with the real result once approved', async () => {
    const c = client(TASKS);
    const { taskId } = (await c.callTool('create_runbook', runbook('task approved'))).body.result;
    expect((await c.result('tasks/get', { taskId })).status).toBe('working');
    await t.app.gate.approve(taskId, 'technician');
    const done = await c.result('tasks/get', { taskId });
    expect(done).toMatchObject({ resultType: 'complete', taskId, status: 'completed' });
    expect(done.result.isError).toBeUndefined();
    expect(done.result.structuredContent).toMatchObject({ title: 'task approved', kind: 'runbook' });
    // The reads went through the gate as get_approval_status, audited with the view.
    const reads = audit(taskId).filter((e) => e.tool === 'get_approval_status');
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.every((e) => e.decision === 'allowed' && JSON.parse(e.detail_json!).view === 'task')).toBe(true);
  });

  it('a denial completes the task with isError and the technician\'s reason (a tool-level outcome, not a protocol failure)', async () => {
    const c = client(TASKS);
    const { taskId } = (await c.callTool('create_runbook', runbook('task denied'))).body.result;
    await t.app.gate.deny(taskId, 'technician', 'not during business hours');
    const done = await c.result('tasks/get', { taskId });
    expect(done.status).toBe('completed');
    expect(done.result.isError).toBe(true);
    expect(JSON.parse(done.result.content[0].text).error).toMatchObject({ code: 'APPROVAL_DENIED', reason: 'not during business hours' });
  });

  it('tasks/cancel cancels the approval through the gate (cancel_approval), audited with the view', async () => {
    const c = client(TASKS);
    const { taskId } = (await c.callTool('create_runbook', runbook('task cancelled'))).body.result;
    expect(await c.result('tasks/cancel', { taskId })).toEqual({ resultType: 'complete', _meta: expect.any(Object) });
    expect((await t.app.approvals.get(taskId))!.status).toBe('cancelled');
    expect((await c.result('tasks/get', { taskId })).status).toBe('cancelled');
    const cancel = audit(taskId).find((e) => e.event === 'approval' && e.decision === 'cancelled');
    expect(cancel).toBeDefined();
    expect(views(taskId)).toContain('task');
  });

  it('tasks/* need the declared extension (-32021, HTTP 400); another key\'s task is an unknown task', async () => {
    const { taskId } = (await client(TASKS).callTool('create_runbook', runbook('task foreign'))).body.result;
    const undeclared = await client({}).request('tasks/get', { taskId });
    expect(undeclared.status).toBe(400);
    expect(undeclared.body.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } } } });
    const foreign = await client(TASKS, otherKey).request('tasks/get', { taskId });
    expect(foreign.body.error).toMatchObject({ code: -32602, message: expect.stringContaining('Failed to retrieve task: Task not found') });
    expect((await client(TASKS, otherKey).request('tasks/cancel', { taskId })).body.error?.code).toBe(-32602);
    expect((await t.app.approvals.get(taskId))!.status).toBe('pending');
  });
});

describe('URL elicitation declared (2026-07-28 MRTR): the client is sent to the approval\'s card', () => {
  it('answers an InputRequiredResult with the card URL and a sealed requestState; the retry before a decision gets the pending result', async () => {
    const c = client(URL_ELICITATION);
    const args = runbook('url pending');
    const first = (await c.callTool('create_runbook', args)).body.result;
    const e = urlElicitation(first);
    const id = new URL(e.url).hash.replace('#/approvals/', '');
    expect(e.url).toBe(`${t.url}/#/approvals/${id}`);
    expect(e.message).toContain('approves nothing');
    expect((await t.app.approvals.get(id))!.detail.clientFlow).toBe('url_elicitation');
    // The state is opaque: nothing of the approval id or key shows through.
    expect(e.requestState).not.toContain(id);
    expect(Buffer.from(e.requestState, 'base64url').toString('latin1')).not.toContain(id);
    // Accepting the elicitation (the user opened the link) decides nothing: after the wait, still pending.
    const retry = (await c.callTool('create_runbook', args, { inputResponses: { [e.key]: { action: 'accept' } }, requestState: e.requestState })).body.result;
    expect(retry.structuredContent).toMatchObject({ status: 'pending_approval', approvalId: id });
    expect((await t.app.approvals.get(id))!.status).toBe('pending');
    // A fresh identical call (no state) is the same card.
    expect(urlElicitation((await c.callTool('create_runbook', args)).body.result).url).toBe(e.url);
    // The first call, the retry's reads of the approval (get_approval_status, as it waited), the fresh identical call.
    const tools = audit(id).map((e) => e.tool);
    expect(tools.filter((x) => x === 'create_runbook')).toHaveLength(2);
    expect(tools.filter((x) => x === 'get_approval_status').length).toBeGreaterThanOrEqual(1);
    expect(new Set(views(id))).toEqual(new Set(['url_elicitation']));
  });

  it('once the technician approves, the retried request returns the real result', async () => {
    const c = client(URL_ELICITATION);
    const args = runbook('url approved');
    const e = urlElicitation((await c.callTool('create_runbook', args)).body.result);
    const id = new URL(e.url).hash.replace('#/approvals/', '');
    const retried = c.callTool('create_runbook', args, { inputResponses: { [e.key]: { action: 'accept' } }, requestState: e.requestState });
    await t.app.gate.approve(id, 'technician');
    const done = (await retried).body.result;
    expect(done.resultType).toBe('complete');
    expect(done.isError).toBeUndefined();
    expect(done.structuredContent).toMatchObject({ title: 'url approved', kind: 'runbook' });
  });

  it('a tampered, foreign or re-aimed requestState is refused with -32602, and the refusal is audited', async () => {
    const c = client(URL_ELICITATION);
    const args = runbook('url tampered');
    const e = urlElicitation((await c.callTool('create_runbook', args)).body.result);
    const answer = { inputResponses: { [e.key]: { action: 'accept' } } };
    const flipped = e.requestState.slice(0, 20) + (e.requestState[20] === 'A' ? 'B' : 'A') + e.requestState.slice(21);
    const cases = [
      ['tampered', await c.callTool('create_runbook', args, { ...answer, requestState: flipped })],
      ['appended', await c.callTool('create_runbook', args, { ...answer, requestState: `${e.requestState}-TAMPERED` })],
      ['another request', await c.callTool('create_runbook', { ...args, body: 'something else' }, { ...answer, requestState: e.requestState })],
      ['another key', await client(URL_ELICITATION, otherKey).callTool('create_runbook', args, { ...answer, requestState: e.requestState })],
    ] as const;
    for (const [what, r] of cases) {
      expect(r.body.error, what).toMatchObject({ code: -32602, message: expect.stringContaining('Invalid or expired requestState') });
    }
    const refusals = t.app.db.prepare("SELECT code, rule, outcome FROM audit_log WHERE code = 'TAMPERED' AND rule = 'request_state' ORDER BY seq").all() as { outcome: string }[];
    // Appending characters of the token alphabet still decodes: the seal fails as forged, like a flipped byte.
    expect(refusals.map((r) => r.outcome).slice(-4)).toEqual([
      'requestState refused: forged', 'requestState refused: forged', 'requestState refused: other_request', 'requestState refused: foreign',
    ]);
  });
});

describe('neither declared: the pending result and get_approval_status, as before', () => {
  it('2026-07-28 without tasks or URL elicitation gets the pending result; form-only elicitation is not enough', async () => {
    for (const caps of [{}, { elicitation: {} }, { elicitation: { form: {} } }]) {
      const r = (await client(caps).callTool('create_runbook', runbook(`plain ${JSON.stringify(caps)}`))).body.result;
      expect(r.structuredContent.status).toBe('pending_approval');
      expect(views(r.structuredContent.approvalId)).toEqual(['pending_result']);
    }
  });
});

describe('2025-11-25 task augmentation (the SDK client, a session)', () => {
  let sdk: Client;
  beforeAll(async () => {
    sdk = new Client({ name: 'sdk-tasks', version: '1.0.0' }, { capabilities: { tasks: { requests: { tools: { call: {} } } } } });
    await sdk.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', t.url), { requestInit: { headers: { 'X-API-Key': key } } }));
  });
  afterAll(() => sdk.close());

  it('tools/list marks the tools that may wait for a technician as task-capable; others not', async () => {
    const tools = (await sdk.listTools()).tools;
    expect(tools.find((x) => x.name === 'run_script')!.execution).toEqual({ taskSupport: 'optional' });
    expect(tools.find((x) => x.name === 'list_devices')!.execution).toBeUndefined();
  });

  it('an approved task: taskCreated, then tasks/result yields the real result', async () => {
    const stream = sdk.experimental.tasks.callToolStream({ name: 'create_runbook', arguments: runbook('sdk approved') }, CallToolResultSchema, { task: {} });
    const first = await stream.next();
    expect(first.value).toMatchObject({ type: 'taskCreated' });
    const taskId = (first.value as { task: { taskId: string } }).task.taskId;
    expect((await t.app.approvals.get(taskId))!.detail.clientFlow).toBe('task');
    expect((await sdk.experimental.tasks.getTask(taskId)).status).toBe('working');
    const result = sdk.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    await t.app.gate.approve(taskId, 'technician');
    const r = await result;
    expect(r.structuredContent).toMatchObject({ title: 'sdk approved', kind: 'runbook' });
    expect((await sdk.experimental.tasks.getTask(taskId)).status).toBe('completed');
    await stream.return(undefined);
  });

  it('a denied task is failed, and tasks/result gives the denial with the reason; cancelTask cancels the approval', async () => {
    const denied = await sdk.request({ method: 'tools/call', params: { name: 'create_runbook', arguments: runbook('sdk denied'), task: {} } }, (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema);
    await t.app.gate.deny(denied.task.taskId, 'technician', 'use the staging tenant');
    expect((await sdk.experimental.tasks.getTask(denied.task.taskId)).status).toBe('failed');
    const r = await sdk.experimental.tasks.getTaskResult(denied.task.taskId, CallToolResultSchema);
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('use the staging tenant');

    const cancelled = await sdk.request({ method: 'tools/call', params: { name: 'create_runbook', arguments: runbook('sdk cancelled'), task: {} } }, (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema);
    expect((await sdk.experimental.tasks.cancelTask(cancelled.task.taskId)).status).toBe('cancelled');
    expect((await t.app.approvals.get(cancelled.task.taskId))!.status).toBe('cancelled');
    await expect(sdk.experimental.tasks.cancelTask(denied.task.taskId)).rejects.toThrow(/Cannot cancel task/);
  });

  it('an augmented call that finishes at once (a tier-1 read) is a completed task of its own', async () => {
    const r = await sdk.request({ method: 'tools/call', params: { name: 'whoami', arguments: {}, task: {} } }, (await import('@modelcontextprotocol/sdk/types.js')).CreateTaskResultSchema);
    expect(r.task.status).toBe('completed');
    const result = await sdk.experimental.tasks.getTaskResult(r.task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ name: 'views' });
  });

  it('without the task parameter the same session gets the pending result', async () => {
    const r = await sdk.callTool({ name: 'create_runbook', arguments: runbook('sdk plain') });
    expect((r.structuredContent as { status: string }).status).toBe('pending_approval');
  });
});
