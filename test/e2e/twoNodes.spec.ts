// Team mode across two nodes on one PostgreSQL, in Chromium: an SDK client on node A asks for run_script with a
// technician's key; a four-eyes rule wants two technicians; the requester's own account is refused; technician 1
// approves on B's console, technician 2 on A's (who sees technician 1's approval there); the agent connected to B runs
// the script once, and its output reaches the client on A. The cluster is CI's (COUNTERSIGN_TEST_DATABASE_URL) or one
// started here; without PostgreSQL binaries or root the test skips and says why.
import { mkdirSync, mkdtempSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI_MAIN, cli, startServe, type ChildServer } from '../helpers/childServer.ts';
import { budget, structured } from './fixtures.ts';
import { clusterUnavailable, createDatabase, startCluster, type Cluster } from '../helpers/pgCluster.ts';

const PASS = { admin: 'two nodes admin passphrase', rita: 'rita asks with her key', tom: 'tom approves first', tina: 'tina approves second' };
const unavailable = process.env.COUNTERSIGN_TEST_DATABASE_URL ? undefined : clusterUnavailable();

test.describe.configure({ mode: 'serial' });
test.skip(!!unavailable, `two nodes on PostgreSQL: skipped, ${unavailable}`);

let root: string;
let cluster: Cluster | undefined;
let env: NodeJS.ProcessEnv;
let a: ChildServer;
let b: ChildServer;
let agent: ChildProcess | undefined;
let agentLog = '';
let deviceId: string;
let ritaKey: string;
let marker: string;

const must = (r: { status: number | null; stdout: string; stderr: string }, what: string) => {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
};

const agentsUrl = async (s: ChildServer) => {
  await expect.poll(() => /^agents (https:\/\/\S+)$/m.exec(s.stderr())?.[1] ?? null, { timeout: budget(20_000) }).not.toBeNull();
  return /^agents (https:\/\/\S+)$/m.exec(s.stderr())![1]!;
};

async function signIn(browser: Browser, node: ChildServer, name: string, passphrase: string): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: node.url })).newPage();
  await page.goto('/');
  await page.getByLabel('Technician').fill(name);
  await page.getByLabel('Passphrase').fill(passphrase);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  await expect(page.getByTestId('signed-in-as')).toHaveText(new RegExp(`Signed in as ${name} \\(`));
  return page;
}

test.beforeAll(async () => {
  test.setTimeout(budget(120_000));
  root = mkdtempSync(join(tmpdir(), 'cs-two-nodes-'));
  const given = process.env.COUNTERSIGN_TEST_DATABASE_URL;
  if (!given) cluster = await startCluster();
  const url = await createDatabase(given ?? cluster!.url, 'two nodes');
  env = { ...process.env, COUNTERSIGN_ADMIN_PASSPHRASE: PASS.admin, COUNTERSIGN_DATABASE_URL: url, COUNTERSIGN_AGENT_HEARTBEAT_SECONDS: '1' };
  const dirA = join(root, 'a');
  const dirB = join(root, 'b');
  must(cli(env, 'init', '--data-dir', dirA, '--demo'), 'init');
  // The second node joins with a copy of the first one's install secrets.
  mkdirSync(dirB, { mode: 0o700 });
  copyFileSync(join(dirA, 'secrets.json'), join(dirB, 'secrets.json'));
  const tech = (name: keyof typeof PASS, role: string, tenants: string) =>
    must(cli({ ...env, COUNTERSIGN_TECHNICIAN_PASSPHRASE: PASS[name] }, 'technicians', 'create', '--data-dir', dirA, '--name', name, '--role', role, '--tenants', tenants), `technician ${name}`);
  tech('rita', 'technician', 'acme-dental');
  tech('tom', 'technician', 'acme-dental,globex-logistics');
  tech('tina', 'admin', 'all');
  must(cli(env, 'four-eyes', 'set', '--data-dir', dirA, '--tool', 'run_script', '--approvers', '2'), 'four-eyes set');
  const key = cli(env, 'keys', 'create', '--data-dir', dirA, '--name', 'rita-ai', '--scopes', 'ai:read,ai:write,ai:execute', '--tenants', 'acme-dental', '--role', 'standard', '--owner', 'rita');
  ritaKey = must(key, 'keys create').split('\n').at(-1)!;

  [a, b] = await Promise.all([startServe(env, dirA), startServe(env, dirB)]);
  // The agent enrolls with node B and stays connected to it.
  const token = must(cli(env, 'enroll-tokens', 'create', '--data-dir', dirB, '--tenant', 'acme-dental'), 'enroll-tokens create').split('\n').at(-1)!;
  const state = join(root, 'agent');
  const enrolled = must(cli(env, 'agent', 'enroll', '--url', await agentsUrl(b), '--token', token, '--state-dir', state, '--hostname', 'two-node-agent'), 'agent enroll');
  deviceId = /enrolled device (\S+)/.exec(enrolled)![1]!;
  agent = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI_MAIN, 'agent', 'run', '--state-dir', state], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  agent.stderr!.setEncoding('utf8').on('data', (d: string) => (agentLog += d));
  await expect.poll(() => /\[agent\] connected /.test(agentLog), { timeout: budget(20_000) }).toBe(true);
  marker = join(root, 'runs.txt');
  writeFileSync(marker, '');
});

test.afterAll(async () => {
  agent?.kill('SIGTERM');
  await Promise.all([a?.stop(), b?.stop()]);
  cluster?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a run_script asked on node A, approved by two technicians on both consoles, runs once on the agent of node B', async ({ browser }) => {
  test.setTimeout(budget(90_000));
  const client = new Client({ name: 'two-node-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', a.url), { requestInit: { headers: { 'X-API-Key': ritaKey } } }));
  const body = `echo run >> '${marker}'\necho "hello via two nodes"\n`;
  const asked = structured<{ status: string; approvalId: string }>(await client.callTool({ name: 'run_script', arguments: { language: 'bash', body, deviceIds: [deviceId], timeoutSeconds: 30 } }));
  expect(asked.status).toBe('pending_approval');
  const id = asked.approvalId;

  // The requester's own account is refused as an approver (B's console).
  const rita = await signIn(browser, b, 'rita', PASS.rita);
  const ritaCard = rita.locator(`[data-approval-id="${id}"]`);
  await expect(ritaCard.getByTestId('four-eyes')).toContainText('2 technicians must approve');
  await ritaCard.getByTestId('approve').click();
  await expect(rita.getByText(/rita asked for this with their own key and cannot approve it/)).toBeVisible();
  await rita.context().close();

  // Technician 1 on B: one approval of two; the card stays, saying who approved and that one more is needed.
  const tom = await signIn(browser, b, 'tom', PASS.tom);
  const tomCard = tom.locator(`[data-approval-id="${id}"]`);
  await tomCard.getByTestId('approve').click();
  await expect(tomCard.getByTestId('four-eyes')).toContainText('Approved by tom. 1 more needed');
  expect(readFileSync(marker, 'utf8')).toBe('');

  // Technician 2 on A: A's console shows tom's approval (committed on B), and the second approval runs it.
  const tina = await signIn(browser, a, 'tina', PASS.tina);
  const tinaCard = tina.locator(`[data-approval-id="${id}"]`);
  await expect(tinaCard.getByTestId('four-eyes')).toContainText('Approved by tom. 1 more needed');
  await tinaCard.getByTestId('approve').click();
  await expect(tinaCard).toBeHidden();
  // B's console drops the card too (decided on A).
  await expect(tomCard).toBeHidden();

  // The agent on B ran it once; the output reaches the client on A.
  type Status = { status: string; result: { executionId: string } | null };
  const statusOf = async () => structured<Status>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId: id } }));
  await expect.poll(async () => (await statusOf()).status, { timeout: budget(30_000) }).toBe('completed');
  const status = await statusOf();
  // The console names both technicians as deciders (the model's view does not carry names).
  const card = await (await tina.request.post('/console/api/rpc/getApproval', { data: { id } })).json() as { result: { approval: { decidedBy: string } } };
  expect(card.result.approval.decidedBy).toBe('tom, tina');
  const results = structured<{ commands: { status: string; stdout: string; exitCode: number }[] }>(await client.callTool({ name: 'get_script_results', arguments: { executionId: status.result!.executionId } }));
  expect(results.commands).toHaveLength(1);
  expect(results.commands[0]).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'hello via two nodes\n' });
  expect(readFileSync(marker, 'utf8')).toBe('run\n');
  await client.close();
  await tom.context().close();
  await tina.context().close();

  // The audit chain both nodes wrote is one chain, and it names the technicians.
  const verified = cli(env, 'audit', 'verify', '--data-dir', join(root, 'a'));
  expect(verified.status, verified.stderr).toBe(0);
});
