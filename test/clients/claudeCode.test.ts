// Claude Code 2.1.331 (the native `claude` binary), offline under a temporary HOME: the README's `claude mcp add`
// lines for both transports, then `claude mcp list` runs its health check (server/discover or initialize, then
// tools/list) against a real Countersign. No Anthropic login is needed for this; calling a tool would need the model
// API, so the flow its tier-3 calls would get is read from what it declares on the connection.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores } from '../helpers/stores.ts';
import { cleanup, clientEnv, CLIENTS, note, run, stopServer, tempDir } from './procs.ts';
import { claudeAddLines } from './readmeSnippets.ts';
import { handlersOf } from './conformanceFixtures.ts';
import { createSessionServer } from '../../src-main/mcp/sessionServer.ts';
import { capabilitiesOf, modernContextOf } from '../../src-main/mcp/era.ts';
import { chooseView, type ApprovalView } from '../../src-main/mcp/approvalViews.ts';

let t: TestServer;
/** The approval view each connection's declarations earn it (the product's chooseView), keyed by key name: `list` opens every connection. */
const declared = new Map<string, { era: string; view: ApprovalView; elicitation: unknown }>();
describeStores('Claude Code', (store) => {
  beforeAll(async () => {
    declared.clear();
    t = await startTestServer({
      store,
      sessionServer: (gate, info) => {
        const server = createSessionServer(gate, info);
        const handlers = handlersOf(server);
        const list = handlers.get('tools/list')!;
        handlers.set('tools/list', (req, extra) => {
          const modern = modernContextOf((extra as { _meta?: unknown })._meta);
          const legacy = capabilitiesOf(server.server.getClientCapabilities());
          declared.set(info.key.name, {
            era: modern ? modern.protocolVersion : 'session', elicitation: (modern?.capabilities ?? legacy)?.elicitation,
            view: chooseView({ modern, legacy, taskAugmented: false, canLink: !!info.links }),
          });
          return list(req, extra);
        });
        return server;
      },
    });
  });
  afterAll(async () => {
    cleanup();
    await stopServer(t);
  });

  /** A fresh HOME with a project dir: `claude mcp add` writes local-scope servers to ~/.claude.json keyed by the cwd. */
  function claudeHome() {
    const home = tempDir('cs-claude-home-');
    const cwd = join(home, 'project');
    mkdirSync(cwd);
    const claude = (args: string[], timeoutMs = 30_000) => run([...CLIENTS.claude, ...args], { env: clientEnv(home), cwd, timeoutMs });
    return { home, claude };
  }

  const PATHS = { sse: '/api/v1/mcp/sse', http: '/api/v1/mcp' } as const;
  const LABEL = { sse: 'SSE', http: 'HTTP' } as const;

  describe.concurrent('Claude Code', () => {
    it('runs offline here (version check)', async () => {
      const { claude } = claudeHome();
      const r = await claude(['--version']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('2.1.331 (Claude Code)');
    }, budget(40_000));

    it('the README has one `claude mcp add` line per transport', () => {
      expect(claudeAddLines(t.url, 'KEY').map((l) => l.transport)).toEqual(['sse', 'http']);
    });

    it.each(['sse', 'http'] as const)('the README line `claude mcp add --transport %s countersign … --header "X-API-Key: KEY"`, then `claude mcp list` → ✔ Connected', async (kind) => {
      const { claude } = claudeHome();
      const key = await t.key({ name: `claude-code-${kind}` });
      const url = `${t.url}${PATHS[kind]}`;
      const line = claudeAddLines(t.url, key).find((l) => l.transport === kind)!;
      expect(line.argv).toEqual(['mcp', 'add', '--transport', kind, 'countersign', url, '--header', `X-API-Key: ${key}`]);
      const add = await claude(line.argv);
      expect(add.code, add.stderr).toBe(0);
      expect(add.stdout).toContain(`Added ${LABEL[kind]} MCP server countersign with URL: ${url} to local config`);
      expect(add.stdout).not.toContain(key); // shown redacted
      const list = await claude(['mcp', 'list']);
      // `claude mcp list` exits 0 even when a server fails: the line is the evidence.
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(`countersign: ${url} (${LABEL[kind]}) - ✔ Connected`);
      note(`claude mcp list ${kind} (connected)`, `${list.ms} ms`);
      // The flow its tier-3 calls get: over HTTP it probes server/discover, speaks 2026-07-28 and declares URL
      // elicitation, so it is sent to the approval's card; over SSE (a 2025-11-25 session) it gets the pending result.
      expect(declared.get(`claude-code-${kind}`)).toEqual(kind === 'http'
        ? { era: '2026-07-28', elicitation: { form: {}, url: {} }, view: 'url_elicitation' }
        : { era: 'session', elicitation: { form: {}, url: {} }, view: 'pending_result' });
    }, budget(60_000));

    it('a wrong key shows "✘ Failed to connect" within seconds on both transports (OAuth discovery ends on our fast 404s)', async () => {
      const { claude } = claudeHome();
      for (const kind of ['sse', 'http'] as const) {
        const add = await claude(['mcp', 'add', '--transport', kind, `countersign-${kind}`, `${t.url}${PATHS[kind]}`, '--header', 'X-API-Key: csk_not_a_real_key_000000000000']);
        expect(add.code, add.stderr).toBe(0);
      }
      const list = await claude(['mcp', 'list'], 20_000);
      expect(list.timedOut).toBe(false);
      for (const kind of ['sse', 'http'] as const) {
        expect(list.stdout).toContain(`countersign-${kind}: ${t.url}${PATHS[kind]} (${LABEL[kind]}) - ✘ Failed to connect — Dynamic Client Registration rejected (HTTP 404)`);
      }
      expect(list.stdout).toContain('this server uses X-API-Key, not OAuth');
      expect(list.stdout).not.toContain('✔ Connected');
      expect(list.ms).toBeLessThan(budget(5_000));
      note('claude mcp list, wrong key on both transports', `${list.ms} ms`);
    }, budget(40_000));
  });
});
