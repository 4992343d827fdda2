// Long console jobs in the server's process (export, verify, simulation) pause every few hundred rows, so MCP calls and commits queued meanwhile run
// during the job, not after it. "Ran meanwhile" is told by order, not time: a task queued before the job starts runs
// before the job ends only if the job gave the event loop back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir, openApp, type App } from '../src-main/app.ts';
import { verifyChain } from '../src-main/audit/chainVerify.ts';
import { exportAudit } from '../src-main/audit/export.ts';
import { listTenants } from '../src-main/auth/keys.ts';
import { seedDemoFleet } from '../src-main/demo/seed.ts';
import { PolicySimulator } from '../src-main/governance/simulate.ts';
import { pauses } from '../src-main/pauses.ts';

/** Whether a task queued now runs before `job` settles. */
async function ranMeanwhile(job: () => Promise<unknown>): Promise<boolean> {
  let done = false;
  const queued = new Promise<boolean>((resolve) => setImmediate(() => resolve(!done)));
  await job();
  done = true;
  return queued;
}

let dir: string;
let app: App;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-pauses-'));
  const { store } = await initDataDir(join(dir, 'data'));
  await seedDemoFleet(store);
  await store.close();
  app = await openApp(join(dir, 'data'), { log: () => {} });
  const tenants = (await listTenants(app.store.sql)).map((t) => t.slug);
  const key = (await app.keys.create({ name: 'pauses', scopes: ['ai:read'], tenants })).key;
  // 1,000 recorded calls: what the simulator replays and the export writes.
  for (let i = 0; i < 1_000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, () => app.store.audit.append({ event: 'tool_call', decision: 'allowed', keyId: key.id, keyName: key.name, tool: 'whoami', tier: 1, args: {}, outcome: 'ok' })));
  }
});
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('long jobs pause', () => {
  it('every n-th row, and only then', async () => {
    const pause = pauses(3);
    const got = Array.from({ length: 7 }, () => pause());
    expect(got.map((p) => p instanceof Promise)).toEqual([false, false, true, false, false, true, false]);
    await Promise.all(got);
  });

  it('an audit export gives the event loop back while it writes', async () => {
    const file = join(dir, 'export.jsonl');
    expect(await ranMeanwhile(() => exportAudit(app.store.sql, file, app.secrets.signingKey, app.secrets.verifyKey))).toBe(true);
  });

  it('a verify of a log too small for worker threads gives the event loop back while it hashes', async () => {
    let result: Awaited<ReturnType<typeof verifyChain>> | undefined;
    expect(await ranMeanwhile(async () => (result = await verifyChain(app.db)))).toBe(true);
    expect(result).toMatchObject({ ok: true });
    expect(result!.count).toBeGreaterThanOrEqual(1_000);
  });

  it('a policy simulation gives the event loop back while it replays', async () => {
    const sim = new PolicySimulator(app.gate);
    let report: Awaited<ReturnType<PolicySimulator['run']>> | undefined;
    expect(await ranMeanwhile(async () => (report = await sim.run({}, { days: 1 })))).toBe(true);
    expect(report!.entries).toBeGreaterThanOrEqual(1_000);
  });
});
