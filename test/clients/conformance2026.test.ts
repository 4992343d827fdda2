// The 2026-07-28 conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12, `--requirements 2026-07-28`)
// against a real Countersign through the header proxy: the stateless wire, server/discover, MRTR, caching hints and
// the Tasks extension. The requirement set is the suite's own frozen list (requirements/2026-07-28.yaml).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { budget } from '../helpers/wait.ts';
import { describeStores } from '../helpers/stores.ts';
import { startHeaderProxy, type HeaderProxy } from './headerProxy.ts';
import { registerConformanceFixtures } from './conformanceFixtures.ts';
import { createSessionServer } from '../../src-main/mcp/sessionServer.ts';
import { cleanup, CLIENTS, note, ROOT, sdkToolNames, stopServer } from './procs.ts';
import { count, notPassed, runConformance, statuses, type Check } from './conformanceRun.ts';

/** The required server scenarios of 2026-07-28, read from the suite's frozen requirement file. */
function requiredServerScenarios(): string[] {
  const yaml = readFileSync(join(ROOT, 'node_modules/conformance-2026/requirements/2026-07-28.yaml'), 'utf8');
  const section = /^server:\n((?: {2}- .+\n)+)/m.exec(yaml)![1]!;
  return section.trim().split('\n').map((l) => l.replace(/^\s*- /, '').trim()).sort();
}
const REQUIRED = requiredServerScenarios();
const TASKS = [
  'tasks-lifecycle', 'tasks-capability-negotiation', 'tasks-wire-fields', 'tasks-request-state-removal', 'tasks-mrtr-input', 'tasks-request-headers',
  'tasks-dispatch-and-envelope', 'tasks-status-notifications', 'tasks-required-task-error', 'tasks-mrtr-composition',
];
/**
 * Required scenarios that call no fixture: the product build must pass them as it is. The others call test_* tools,
 * test:// resources or prompts by name, which only the fixture build has.
 */
const NO_FIXTURES = [
  'tools-list', 'server-sse-multiple-streams', 'resources-list', 'sep-2164-resource-not-found', 'prompts-list', 'dns-rebinding-protection', 'caching',
  'input-required-result-unsupported-methods',
];
/** server-stateless probes MissingRequiredClientCapability with the suite's test_missing_capability tool: a fixture. */
const STATELESS_FIXTURE_CHECKS = ['sep-2575-missing-capability-http-400', 'sep-2575-server-rejects-undeclared-capability'];
/** The product declares no listChanged, so it has nothing to serve on subscriptions/listen: those checks skip. */
const SUBSCRIPTION_CHECKS = [
  'sep-2575-server-honors-notification-filter', 'sep-2575-server-sends-prompts-list-changed-on-subscription', 'sep-2575-server-sends-subscription-ack',
  'sep-2575-server-sends-tools-list-changed-on-subscription', 'sep-2575-server-tags-subscription-id',
];

const conformance = (proxy: HeaderProxy) => runConformance(CLIENTS.conformance2026, proxy, ['--requirements', '2026-07-28'], 150_000);
const only = (all: Record<string, Check[]>, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, all[n] ?? []]));

beforeAll(() => {
  // The suite needs Node ≥ 22; it runs under the Node that runs Vitest (npm's Node 24).
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
});
afterAll(() => cleanup());

describeStores('conformance 2026', (store) => {
  describe('0.2.0-alpha.12 --requirements 2026-07-28, product build (no fixtures)', () => {
    let t: TestServer;
    let proxy: HeaderProxy;
    let productTools: string[];
    let checks: Record<string, Check[]>;
    beforeAll(async () => {
      t = await startTestServer({ store });
      const key = await t.key({ name: 'conformance-2026-product' });
      proxy = await startHeaderProxy(t.url, { 'X-API-Key': key });
      productTools = await sdkToolNames(t, key);
      const r = await conformance(proxy);
      expect(r.run.timedOut, r.run.stderr).toBe(false);
      checks = r.checks;
      note('conformance 2026 product build, no-fixture scenarios', count(only(checks, NO_FIXTURES)));
    }, budget(180_000));
    afterAll(async () => {
      await proxy?.close();
      await stopServer(t);
    });

    it('the requirement set is the frozen 37 server scenarios, and every one of them ran', () => {
      expect(REQUIRED).toHaveLength(37);
      expect(Object.keys(checks)).toEqual(expect.arrayContaining(REQUIRED));
    });

    it('passes every required scenario that needs no fixture, every check SUCCESS (sse-multiple-streams: INFO for the JSON answers)', () => {
      expect(notPassed(only(checks, NO_FIXTURES), ['SUCCESS', 'INFO'])).toEqual([]);
      expect(statuses(checks['server-sse-multiple-streams']!)).toEqual(['server-accepts-multiple-post-streams:SUCCESS', 'server-sse-streams-functional:INFO']);
    });

    it('tools-list lists the product tools over the stateless wire; caching hints on every cacheable result', () => {
      const list = checks['tools-list']!.find((c) => c.id === 'tools-list')!;
      expect(list.details.tools).toEqual(productTools);
      expect(checks.caching!.filter((c) => c.status === 'SUCCESS')).toHaveLength(8);
    });

    it('server-stateless: discovery, envelope, versions, headers and removed methods all pass; only the two checks that need the suite\'s test_missing_capability tool do not', () => {
      const s = checks['server-stateless']!;
      const failing = s.filter((c) => c.status === 'FAILURE').map((c) => c.id).sort();
      expect(failing).toEqual(STATELESS_FIXTURE_CHECKS);
      expect(s.filter((c) => c.status === 'SKIPPED').map((c) => c.id).sort()).toEqual(SUBSCRIPTION_CHECKS);
      expect(s.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThanOrEqual(18);
      const discover = s.find((c) => c.id === 'sep-2575-server-implements-discover')!;
      expect(discover.details.result.supportedVersions[0]).toBe('2026-07-28');
      expect(discover.details.result.supportedVersions).toContain('2025-11-25');
      expect(discover.details.result.capabilities.extensions).toEqual({ 'io.modelcontextprotocol/tasks': {} });
    });
  });

  describe('0.2.0-alpha.12 --requirements 2026-07-28, test build with the suite fixtures', () => {
    let t: TestServer;
    let proxy: HeaderProxy;
    let checks: Record<string, Check[]>;
    let code: number | null;
    beforeAll(async () => {
      t = await startTestServer({ store, sessionServer: (gate, info) => registerConformanceFixtures(createSessionServer(gate, info), info) });
      proxy = await startHeaderProxy(t.url, { 'X-API-Key': await t.key({ name: 'conformance-2026-fixtures' }) });
      const r = await conformance(proxy);
      expect(r.run.timedOut, r.run.stderr).toBe(false);
      checks = r.checks;
      code = r.run.code;
      note('conformance 2026 fixture build, required scenarios', { scenarios: REQUIRED.length, ...count(only(checks, REQUIRED)) });
      note('conformance 2026 fixture build, tasks (not scored)', { scenarios: TASKS.length, ...count(only(checks, TASKS)) });
    }, budget(180_000));
    afterAll(async () => {
      await proxy?.close();
      await stopServer(t);
    });

    it('passes all 37 required scenarios: no check fails or warns (subscriptions skip: nothing is advertised for them)', () => {
      expect(notPassed(only(checks, REQUIRED), ['SUCCESS', 'INFO', 'SKIPPED'])).toEqual([]);
      const skipped = Object.entries(only(checks, REQUIRED)).flatMap(([, cs]) => cs.filter((c) => c.status === 'SKIPPED').map((c) => c.id)).sort();
      expect(skipped).toEqual(SUBSCRIPTION_CHECKS);
      expect(code).toBe(0);
    });

    it('the MRTR fixtures run on the product\'s requestState seal: a tampered state is a JSON-RPC error, not a result', () => {
      const [c] = checks['input-required-result-tampered-state']!.filter((x) => x.id === 'sep-2322-reject-tampered-state');
      expect(c!.status).toBe('SUCCESS');
      expect(c!.details.tamperedResponse.code).toBe(-32602);
      expect(c!.details.tamperedResponse.message).toContain('Invalid or expired requestState');
    });

    it('the Tasks extension scenarios pass too (run, not scored)', () => {
      expect(Object.keys(checks)).toEqual(expect.arrayContaining(TASKS));
      expect(notPassed(only(checks, TASKS), ['SUCCESS', 'SKIPPED'])).toEqual([]);
      // tasks-status-notifications is optional and skips: Countersign sends no notifications/tasks (clients poll tasks/get).
      expect(statuses(checks['tasks-status-notifications']!)).toEqual(['tasks-status-notifications:SKIPPED']);
      expect(only(checks, TASKS)['tasks-lifecycle']!.filter((c) => c.status === 'SUCCESS').length).toBeGreaterThanOrEqual(9);
    });
  });
});
