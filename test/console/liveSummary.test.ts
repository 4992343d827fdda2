// The live feed carries summaries: a Live page load and a `call` event stay small whatever the size of a call's
// arguments; the whole arguments come from the call's audit entry on demand. On both stores (the summary is computed
// by each database's own SQL).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApp, type App } from '../../src-main/app.ts';
import type { ApiKey } from '../../src-main/auth/keys.ts';
import { createConsoleService, type ConsoleService } from '../../src-main/console/service.ts';
import { ConsoleEvent, LIVE_ARGS_PREVIEW_BYTES, consoleMethods, type ConsoleEvent as Ev } from '../../src-main/console/contract.ts';
import { initTestDir } from '../helpers/server.ts';
import { callTool } from '../helpers/gate.ts';
import { until } from '../helpers/wait.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';

const CALLS = 12;
/**
 * As large as run_script's arguments can be stored (the log keeps a string to 8192 characters; 20 parameters of 1024):
 * three-byte characters make ~86 KB per call. The index keeps every body distinct.
 */
const body = (i: number) => `# ${i}\n${'€'.repeat(8_180)}`;
const parameters = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, String.fromCharCode(0x4e00 + i).repeat(1024)]));
const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describeStores('live summaries', (kind) => {
  let app: App;
  let svc: ConsoleService;
  let key: ApiKey;
  let deviceIds: string[];
  const events: Ev[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    const storeUrl = await storeUrlFor(kind, 'live-summary');
    app = await openApp(await initTestDir(storeUrl), { storeUrl, log: () => {} });
    svc = createConsoleService(app, { mcpBaseUrl: () => 'http://127.0.0.1:4319' });
    key = (await app.keys.create({ name: 'live-summary', scopes: ['ai:read', 'ai:write', 'ai:execute'], tenants: ['acme-dental'], role: 'admin' })).key;
    deviceIds = (await app.store.sql.all<{ id: string }>(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id
      WHERE t.slug = 'acme-dental' AND d.os = 'windows' ORDER BY d.hostname LIMIT 3`)).map((r) => r.id);
    unsubscribe = svc.subscribe((e) => events.push(e));
    for (let i = 0; i < CALLS; i++) {
      const r = await callTool(app, 'run_script', { language: 'powershell', body: body(i), deviceIds, parameters }, { key, client: { name: 'vitest', version: '1' } });
      expect(r.isError, JSON.stringify(r.content).slice(0, 300)).toBeFalsy();
    }
    await callTool(app, 'compliance_summary', { tenant: 'acme-dental' }, { key, client: { name: 'vitest', version: '1' } });
  });
  afterAll(async () => {
    unsubscribe?.();
    await app?.close();
  });

  it('a Live page load stays small with many ~86 KB calls; each row says tool, tenant, devices, tier, outcome, a preview, size and hash', async () => {
    const page = consoleMethods.liveCalls.output.parse(await svc.liveCalls({ limit: 200 }));
    const big = page.calls.filter((c) => c.tool === 'run_script');
    expect(big).toHaveLength(CALLS);
    for (const c of big) {
      expect(c).toMatchObject({ tenant: 'acme-dental', tier: 3, decision: 'pending', deviceCount: deviceIds.length, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(c.argsBytes).toBeGreaterThan(80_000);
      expect(Buffer.byteLength(c.argsPreview!)).toBeLessThanOrEqual(LIVE_ARGS_PREVIEW_BYTES);
      expect(c.argsPreview!.slice(0, 60)).toMatch(/^\{"language":"powershell","body":"# \d+\\n€€/);
    }
    const small = page.calls.find((c) => c.tool === 'compliance_summary')!;
    expect(small).toMatchObject({ deviceCount: null, argsPreview: '{"tenant":"acme-dental","listLimit":25}', argsBytes: 39, outcome: 'ok' });
    // The stored arguments total > 1 MB; the page carries a bounded summary per call.
    expect(big.reduce((n, c) => n + c.argsBytes!, 0)).toBeGreaterThan(CALLS * 80_000);
    expect(bytes(page)).toBeLessThan(page.calls.length * 1_200);
  });

  it('a `call` event is a summary too, valid against the contract', async () => {
    await until('the call events', () => events.filter((e) => e.type === 'call').length >= CALLS + 1);
    for (const e of events.filter((x) => x.type === 'call')) {
      expect(ConsoleEvent.parse(e)).toEqual(e);
      expect(bytes(e)).toBeLessThan(1_200);
    }
    const last = events.filter((e) => e.type === 'call').map((e) => e.call).find((c) => c.tool === 'run_script')!;
    const listed = (await svc.liveCalls({ limit: 200 })).calls.find((c) => c.seq === last.seq)!;
    expect(last).toEqual(listed);
  });

  it('the expanded row loads the whole stored arguments from the audit entry', async () => {
    const first = (await svc.liveCalls({ limit: 200 })).calls.filter((c) => c.tool === 'run_script').at(-1)!;
    const { entry } = await svc.getAuditEntry({ seq: first.seq });
    expect(entry.hash).toBe(first.hash);
    const args = entry.args as { body: string; deviceIds: string[]; language: string };
    expect(args.body === body(0), 'the whole body, as sent').toBe(true);
    expect(args).toMatchObject({ deviceIds: [...deviceIds].sort(), language: 'powershell' });
    expect(Buffer.byteLength(JSON.stringify(entry.args))).toBe(first.argsBytes);
  });
});
