// One approval, seen through the view each client declares, end to end with a real enrolled agent on this machine:
// the SDK client augments run_script with a task and reads the script's real stdout through tasks/result after the
// technician approves the card in Chromium (a denial gives the reason); an independent 2026-07-28 client on raw HTTP
// declares URL elicitation, gets the card's URL, which Playwright opens (signing in) and approves, and its retried
// request returns the real result. Runs last (file order): it leaves an enrolled agent behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { ModernClient, urlElicitation } from '../clients/modernClient.ts';
import { budget, expect, screenshot, server, test, timing, waitLive } from './fixtures.ts';

const MAIN = resolve(import.meta.dirname, '../../src-main/cli/main.ts');
const NODE = [process.execPath, '--disable-warning=ExperimentalWarning', MAIN];
const TENANT = 'globex-logistics';
const HOST = 'e2e-views-agent';

let root: string;
let agent: ChildProcess | undefined;
let deviceId: string;
const text = (r: { content?: unknown }) => ((r.content ?? []) as { text?: string }[]).map((c) => c.text ?? '').join('\n');

test.beforeAll(async () => {
  test.setTimeout(budget(60_000));
  root = mkdtempSync(join(tmpdir(), 'cs-e2e-views-'));
  const cli = (args: string[]) => spawnSync(NODE[0]!, [...NODE.slice(1), ...args], { encoding: 'utf8', timeout: budget(30_000) });
  const token = cli(['enroll-tokens', 'create', '--data-dir', server().dataDir, '--tenant', TENANT]).stdout.trim().split('\n').pop()!;
  const stateDir = join(root, 'state');
  const enrolled = cli(['agent', 'enroll', '--url', server().agentUrl, '--token', token, '--state-dir', stateDir, '--hostname', HOST]);
  deviceId = /enrolled device (\S+)/.exec(enrolled.stdout)?.[1] ?? '';
  expect(deviceId, enrolled.stdout + enrolled.stderr).not.toBe('');
  writeFileSync(join(root, 'agent.json'), JSON.stringify({ patchScan: false, maxBackoffSeconds: 1 }));
  agent = spawn(NODE[0]!, [...NODE.slice(1), 'agent', 'run', '--state-dir', stateDir, '--config', join(root, 'agent.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((ok, fail) => {
    let err = '';
    const timer = setTimeout(() => fail(new Error(`agent did not connect:\n${err}`)), budget(30_000));
    agent!.stderr!.on('data', (d) => {
      err += String(d);
      if (/\[agent\] connected /.test(err)) {
        clearTimeout(timer);
        ok();
      }
    });
  });
});

test.afterAll(async () => {
  agent?.kill('SIGTERM');
  if (agent && agent.exitCode === null) await new Promise((r) => agent!.once('exit', r));
  rmSync(root, { recursive: true, force: true });
});

test('Tasks declared: the SDK client gets the script\'s real stdout through tasks/result after the technician approves in the console; a denial gives the reason', async ({ signedIn: page }) => {
  test.setTimeout(budget(90_000));
  const client = new Client({ name: 'e2e-sdk-tasks', version: '1.0.0' }, { capabilities: { tasks: { requests: { tools: { call: {} } } } } });
  await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', server().url), { requestInit: { headers: { 'X-API-Key': server().key } } }));
  try {
    const tools = (await client.listTools()).tools;
    expect(tools.find((x) => x.name === 'run_script')!.execution).toEqual({ taskSupport: 'optional' });
    const marker = `hello from the agent ${Date.now()}`;
    const stream = client.experimental.tasks.callToolStream({ name: 'run_script', arguments: { language: 'bash', body: `echo "${marker}"; uname -s`, deviceIds: [deviceId] } });
    const created = (await stream.next()).value as { type: string; task: { taskId: string; status: string } };
    expect(created).toMatchObject({ type: 'taskCreated', task: { status: 'working' } });
    const { taskId } = created.task;
    await stream.return(undefined);

    // The technician opens the card the task stands for: focused, with the client and its flow.
    await page.goto(`/#/approvals/${taskId}`);
    await waitLive(page);
    const card = page.locator(`[data-approval-id="${taskId}"]`);
    await expect(card).toHaveClass(/linked/);
    await expect(card).toBeFocused();
    await expect(card.getByTestId('flow')).toHaveText('flow: MCP task');
    await expect(card).toContainText('e2e-sdk-tasks');
    await expect(card).toContainText(marker);
    expect((await client.experimental.tasks.getTask(taskId)).status).toBe('working');

    const result = client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, { timeout: budget(60_000) });
    const approvedAt = performance.now();
    await card.getByTestId('approve').click();
    const r = await result;
    timing('tasks/result after the click on Approve (agent ran the script)', performance.now() - approvedAt);
    expect(r.isError).toBeUndefined();
    expect(text(r)).toContain(marker);
    expect(text(r)).toContain('Linux');
    const outcome = JSON.parse((r.content as { text: string }[])[1]!.text) as { status: string; executions: { commands: { stdout: string; exitCode: number; hostname: string }[] }[] };
    expect(outcome.status).toBe('completed');
    expect(outcome.executions[0]!.commands[0]).toMatchObject({ hostname: HOST, exitCode: 0, stdout: expect.stringContaining(marker) });
    expect((await client.experimental.tasks.getTask(taskId)).status).toBe('completed');

    // Denied in the console with a reason: the task fails, and tasks/result carries the reason.
    const denied = await client.request({ method: 'tools/call', params: { name: 'run_script', arguments: { language: 'bash', body: 'rm -rf /tmp/not-today', deviceIds: [deviceId] }, task: {} } }, CreateTaskResultSchema);
    await page.goto(`/#/approvals/${denied.task.taskId}`);
    const card2 = page.locator(`[data-approval-id="${denied.task.taskId}"]`);
    await expect(card2).toHaveClass(/linked/);
    await card2.getByTestId('deny').click();
    const reason = 'Nothing to clean up there; do not run deletes from the assistant.';
    await card2.getByLabel(/Reason for the model/).fill(reason);
    await page.keyboard.press('Enter');
    await expect(card2).toBeHidden();
    const d = await client.experimental.tasks.getTaskResult(denied.task.taskId, CallToolResultSchema);
    expect(d.isError).toBe(true);
    expect(text(d)).toContain(reason);
    expect((await client.experimental.tasks.getTask(denied.task.taskId)).status).toBe('failed');
  } finally {
    await client.close();
  }
});

test('URL elicitation declared: an independent 2026-07-28 client gets the card\'s URL; Playwright opens it, signs in and approves; the retried request completes with the real result; a tampered requestState is refused', async ({ guest: page }) => {
  test.setTimeout(budget(90_000));
  const c = new ModernClient({ url: `${server().url}/api/v1/mcp`, apiKey: server().key, capabilities: { elicitation: { form: {}, url: {} } }, clientInfo: { name: 'e2e-raw-2026', version: '1.0.0' } });
  const marker = `url elicitation ${Date.now()}`;
  const args = { language: 'bash', body: `echo "${marker}"`, deviceIds: [deviceId] };
  const first = await c.callTool('run_script', args);
  const e = urlElicitation(first.body.result);
  const approvalId = new URL(e.url).hash.replace('#/approvals/', '');
  expect(e.url).toBe(`${server().url}/#/approvals/${approvalId}`);

  const tampered = await c.callTool('run_script', args, { inputResponses: { [e.key]: { action: 'accept' } }, requestState: `${e.requestState.slice(0, -2)}xx` });
  expect(tampered.body.error).toMatchObject({ code: -32602, message: expect.stringContaining('Invalid or expired requestState') });

  // The user accepted opening the link: the client retries, and the server holds each retry (up to its wait) while the
  // technician decides and the agent runs; a retry that comes back before the end is simply made again.
  const retry = () => c.callTool('run_script', args, { inputResponses: { [e.key]: { action: 'accept' } }, requestState: e.requestState });
  const finished = (r: any) => r.structuredContent?.status !== 'pending_approval' && JSON.parse(r.content?.[1]?.text ?? '{}').status === 'completed';
  const retried = (async () => {
    for (let i = 0; i < 4; i++) {
      const r = await retry();
      if (r.body.error || finished(r.body.result)) return r;
    }
    return retry();
  })();
  await page.goto(e.url);
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await page.getByLabel('Admin passphrase').fill(server().passphrase);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const card = page.locator(`[data-approval-id="${approvalId}"]`);
  await expect(card).toHaveClass(/linked/);
  await expect(card).toBeFocused();
  await expect(card.getByTestId('flow')).toHaveText('flow: URL elicitation (link to this card)');
  await expect(card).toContainText('e2e-raw-2026');
  await expect(card).toContainText(marker);
  await screenshot(page, 'approval-linked-from-url-elicitation');
  await card.getByTestId('approve').click();
  const done = (await retried).body.result;
  expect(done.resultType).toBe('complete');
  expect(done.isError).toBeUndefined();
  expect(done.structuredContent.commands[0]).toMatchObject({ deviceId, hostname: HOST });
  const outcome = JSON.parse(done.content[1].text) as { status: string; executions: { commands: { stdout: string; exitCode: number }[] }[] };
  expect(outcome.status).toBe('completed');
  expect(outcome.executions[0]!.commands[0]).toMatchObject({ exitCode: 0, stdout: expect.stringContaining(marker) });

  // The same link after the decision: the card has left the queue; the page says what became of it.
  await page.goto(e.url);
  await page.reload();
  await expect(page.getByTestId('linked-notice')).toContainText('is completed');
});
