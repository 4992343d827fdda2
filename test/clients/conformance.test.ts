// The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.16, server scenarios) against a real
// Countersign. The suite speaks Streamable HTTP only and cannot send headers, so it goes through a loopback proxy
// that adds X-API-Key. Evidence is the per-check checks.json each scenario writes, not only the exit code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { startHeaderProxy, type HeaderProxy } from './headerProxy.ts';
import { registerConformanceFixtures } from './conformanceFixtures.ts';
import { createSessionServer } from '../../src-main/mcp/sessionServer.ts';
import { cleanup, CLIENTS, note, stopServer, sdkToolNames } from './procs.ts';
import { count, runConformance, statuses, type Check } from './conformanceRun.ts';

/** The 30 scenarios of 0.1.16's active suite (`conformance list --server`, minus the 2 pending ones). */
const ACTIVE = [
  'server-initialize', 'logging-set-level', 'ping', 'completion-complete', 'tools-list', 'tools-call-simple-text', 'tools-call-image',
  'tools-call-audio', 'tools-call-embedded-resource', 'tools-call-mixed-content', 'tools-call-with-logging', 'tools-call-error',
  'tools-call-with-progress', 'tools-call-sampling', 'tools-call-elicitation', 'elicitation-sep1034-defaults', 'server-sse-multiple-streams',
  'elicitation-sep1330-enums', 'resources-list', 'resources-read-text', 'resources-read-binary', 'resources-templates-read', 'resources-subscribe',
  'resources-unsubscribe', 'prompts-list', 'prompts-get-simple', 'prompts-get-with-args', 'prompts-get-embedded-resource', 'prompts-get-with-image',
  'dns-rebinding-protection',
].sort();
const PENDING = ['json-schema-2020-12', 'server-sse-polling'];
/**
 * The scenarios that mean something without fixtures: the product build must pass these. Several are weak on their
 * own, so the tests below also check the recorded details:
 * - tools-list passes on an empty list (we compare the names with the product's tools);
 * - server-sse-multiple-streams skips its second check when the POSTs are answered as JSON (we require 3 SSE streams);
 * - dns-rebinding-protection's rejection check takes any 4xx, so a 401 for the missing key would pass (we require the Host guard's 403);
 * - logging-set-level only checks that logging/setLevel answers {}.
 * Without fixtures, tools-call-simple-text and tools-call-error pass vacuously (see the last test of this block).
 */
const PRODUCT = ['server-initialize', 'ping', 'tools-list', 'server-sse-multiple-streams', 'dns-rebinding-protection', 'logging-set-level'];

const conformance = (proxy: HeaderProxy, args: string[]) => runConformance(CLIENTS.conformance, proxy, args);

beforeAll(() => {
  // 0.1.16 imports fs.globSync, which Node 20 lacks; the suite runs under the Node that runs Vitest (npm's Node 24).
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
});
afterAll(() => cleanup());

describeStores('conformance 0.1.16', (store) => {
  describe('product build (no fixtures)', () => {
    let t: TestServer;
    let proxy: HeaderProxy;
    let productTools: string[];
    const results: Record<string, Check[]> = {};
    beforeAll(async () => {
      t = await startTestServer({ store });
      const key = await t.key({ name: 'conformance-product' });
      proxy = await startHeaderProxy(t.url, { 'X-API-Key': key });
      productTools = await sdkToolNames(t, key);
      // One process per scenario, all at once; the two vacuous ones are run to show why they prove nothing here.
      const runs = await Promise.all([...PRODUCT, 'tools-call-simple-text', 'tools-call-error'].map(async (s) => {
        const r = await conformance(proxy, ['--scenario', s]);
        expect(r.run.timedOut, `${s} timed out:\n${r.run.stderr}`).toBe(false);
        return { s, ...r };
      }));
      for (const r of runs) {
        expect(Object.keys(r.checks), `${r.s} wrote no checks.json:\n${r.run.stdout}\n${r.run.stderr}`).toEqual([r.s]);
        results[r.s] = r.checks[r.s]!;
        if (PRODUCT.includes(r.s)) expect(r.run.code, `${r.s} exit code\n${r.run.stdout}`).toBe(0);
      }
      note('conformance product checks', count(Object.fromEntries(PRODUCT.map((s) => [s, results[s]!]))));
    }, budget(120_000));
    afterAll(async () => {
      await proxy?.close();
      await stopServer(t);
    });

    it('server-initialize, ping: every check SUCCESS', () => {
      expect(statuses(results['server-initialize']!)).toEqual(['server-initialize:SUCCESS']);
      expect(results['server-initialize']![0]!.details.connected).toBe(true);
      expect(statuses(results.ping!)).toEqual(['ping:SUCCESS']);
      expect(results.ping![0]!.details.result).toEqual({});
    });

    it('tools-list: SUCCESS over the real product tool list (an empty list would pass vacuously)', () => {
      const [c] = results['tools-list']!;
      expect(statuses(results['tools-list']!)).toEqual(['tools-list:SUCCESS']);
      expect(c!.details.tools).toEqual(productTools);
      expect(c!.details.toolCount).toBeGreaterThanOrEqual(17);
      expect(c!.details.tools.some((n: string) => n.startsWith('test_'))).toBe(false);
    });

    it('server-sse-multiple-streams: both checks SUCCESS with 3 SSE streams (JSON answers would skip the second check)', () => {
      expect(statuses(results['server-sse-multiple-streams']!)).toEqual(['server-accepts-multiple-post-streams:SUCCESS', 'server-sse-streams-functional:SUCCESS']);
      const d = results['server-sse-multiple-streams']![0]!.details;
      expect(d.statuses).toEqual([200, 200, 200]);
      expect(d.numSseStreams).toBe(3);
    });

    it('dns-rebinding-protection: foreign Host/Origin → 403 from the Host guard (a 401 for the missing key would pass too), localhost → 2xx through the proxy', () => {
      expect(statuses(results['dns-rebinding-protection']!)).toEqual(['localhost-host-rebinding-rejected:SUCCESS', 'localhost-host-valid-accepted:SUCCESS']);
      const [evil, local] = results['dns-rebinding-protection']!;
      expect(evil!.details.statusCode).toBe(403);
      expect(evil!.details.body.error.message).toContain("Host 'evil.example.com' is not allowed");
      expect(local!.details.statusCode).toBe(200);
    });

    it('logging-set-level: SUCCESS (it checks only that logging/setLevel answers {})', () => {
      expect(statuses(results['logging-set-level']!)).toEqual(['logging-set-level:SUCCESS']);
      expect(results['logging-set-level']![0]!.details.result).toEqual({});
    });

    it('vacuous passes, not counted: tools-call-simple-text and tools-call-error "pass" on our UNKNOWN_TOOL refusal', () => {
      // tools-call-simple-text only wants some text content and ignores isError; tools-call-error wants any isError
      // result with text. Countersign's refusal for the missing test_* tool satisfies both, so without fixtures these
      // two prove nothing; the fixture build below passes them for real.
      for (const s of ['tools-call-simple-text', 'tools-call-error']) {
        const [c] = results[s]!;
        expect(statuses(results[s]!)).toEqual([`${s}:SUCCESS`]);
        expect(c!.details.result.isError).toBe(true);
        expect(JSON.parse(c!.details.result.content[0].text).error.code).toBe('UNKNOWN_TOOL');
      }
    });
  });

  describe('test build with the suite fixtures (its own session composition)', () => {
    let t: TestServer;
    let proxy: HeaderProxy;
    beforeAll(async () => {
      // The test build composes its own session server: the product's, plus the suite's fixtures next to it.
      t = await startTestServer({ store, sessionServer: (gate, info) => registerConformanceFixtures(createSessionServer(gate, info), info) });
      proxy = await startHeaderProxy(t.url, { 'X-API-Key': await t.key({ name: 'conformance-fixtures' }) });
    });
    afterAll(async () => {
      await proxy?.close();
      await stopServer(t);
    });

    it('passes the whole active suite: 30 scenarios, every check SUCCESS', async () => {
      const { run: r, checks } = await conformance(proxy, []);
      expect(r.timedOut, r.stderr).toBe(false);
      expect(Object.keys(checks).sort()).toEqual(ACTIVE);
      const bad = Object.entries(checks).flatMap(([s, cs]) => cs.filter((c) => c.status !== 'SUCCESS').map((c) => `${s}/${c.id}:${c.status} ${c.errorMessage ?? ''}`));
      expect(bad).toEqual([]);
      expect(r.code, r.stdout.slice(-3000)).toBe(0);
      note('conformance fixture-build active checks', { scenarios: Object.keys(checks).length, ...count(checks) });
      // The fixtures answered for real (not on a refusal): spot-check the results the suite recorded.
      expect(checks['tools-call-simple-text']![0]!.details.result).toEqual({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] });
      expect(checks['tools-call-error']![0]!.details.result.content[0].text).toContain('intentionally returns an error');
      expect(checks['tools-list']![0]!.details.tools).toEqual(expect.arrayContaining(['list_devices', 'device_actions', 'test_simple_text', 'test_sampling']));
    }, budget(120_000));

    it('pending suite: json-schema-2020-12 passes; server-sse-polling ends in its two known WARNINGs (no EventStore), no FAILURE', async () => {
      const { run: r, checks } = await conformance(proxy, ['--suite', 'pending']);
      expect(r.timedOut, r.stderr).toBe(false);
      expect(Object.keys(checks).sort()).toEqual(PENDING);
      expect(checks['json-schema-2020-12']!.every((c) => c.status === 'SUCCESS')).toBe(true);
      expect(checks['json-schema-2020-12']!.length).toBeGreaterThanOrEqual(4);
      note('conformance fixture-build pending checks', { 'json-schema-2020-12': count({ s: checks['json-schema-2020-12']! }), 'server-sse-polling': count({ s: checks['server-sse-polling']! }) });
      // server-sse-polling (SEP-1699): test_reconnection asks the transport to close its POST stream mid-call, so that
      // the client resumes with Last-Event-ID from an EventStore. Countersign keeps no EventStore (no resumable
      // streams), and its session transport offers no closeSSEStream (a stream closed without one would lose the
      // answer): the tool's answer arrives on the POST stream itself. Without priming event (`id:` + empty data) or
      // retry field that is two WARNINGs, no FAILURE. Adding resumability is a product decision; the exact known
      // outcome is pinned here so a change shows up.
      expect(statuses(checks['server-sse-polling']!)).toEqual([
        'outgoing-request:INFO', 'incoming-response:INFO', 'incoming-sse-event:INFO', 'stream-closed:INFO',
        'server-sse-priming-event:WARNING', 'server-sse-retry-field:WARNING', 'server-sse-disconnect-resume:INFO',
      ]);
      const polling = Object.fromEntries(checks['server-sse-polling']!.map((c) => [c.id, c]));
      expect(polling['server-sse-priming-event']!.errorMessage).toContain('did not send priming event');
      expect(polling['incoming-sse-event']!.details.body).toMatchObject({ id: 1, result: { content: [{ text: 'Reconnection test completed successfully.' }] } });
      expect(polling['server-sse-disconnect-resume']!.details.message).toContain('Tool response received on initial POST stream');
      expect(r.code).toBe(0);
    }, budget(120_000));
  });
});
