import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir, openApp, DB_FILE, type App } from '../../src-main/app.ts';
import { startIntegrityCheck } from '../../src-main/store/integrity.ts';
import { startServer } from '../../src-main/http/server.ts';
import { createConsoleService } from '../../src-main/console/service.ts';
import { newDatabase, postgresAvailable } from '../helpers/stores.ts';
import { within } from '../helpers/wait.ts';

// A database whose audit pages (not the schema, not the header) were overwritten: it opens, so the server starts at
// once, and the integrity check that follows on its own thread finds the damage.
async function dataDir(damaged: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-integrity-'));
  const { store } = await initDataDir(dir);
  await store.write(async (tx) => {
    for (let i = 0; i < 5000; i++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: 'list_devices', args: { i, pad: 'x'.repeat(200) } });
  });
  await store.close();
  if (damaged) {
    const file = join(dir, DB_FILE);
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length * 0.6 / 4096) * 4096;
    bytes.fill(0xa5, at + 8, at + 4096 * 3);
    writeFileSync(file, bytes);
    expect(statSync(file).size).toBe(bytes.length);
  }
  return dir;
}

/** More entries written straight into the table, for a summary pass that takes a while (their chain does not matter here). */
function fillLog(file: string, n: number): void {
  const db = new Database(file);
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})
    INSERT INTO audit_log (at, event, decision, key_id, tenant, tool, prev_hash, hash)
    SELECT '2026-12-05T00:00:00.000Z', 'tool_call', 'allowed', 'k' || (i % 7), 't' || (i % 3), 'whoami', '', '' FROM n`);
  db.close();
}

describe('database integrity, checked after start', () => {
  it('a sound database: ok, with when and how long', async () => {
    const check = startIntegrityCheck(join(await dataDir(false), DB_FILE));
    expect(check.report.state).toBe('checking');
    const r = await within('the integrity check', check.done, 20_000);
    expect(r).toMatchObject({ state: 'ok', detail: null });
    expect(Date.parse(r.checkedAt!)).not.toBeNaN();
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it('a stop lets the worker leave SQLite by itself, never terminating it mid-call (which can abort the process)', async () => {
    const file = join(await dataDir(false), DB_FILE);
    // Stopped at once, at every stage a check can be in (opening, quick_check, the summary pass, done), 20 times.
    for (let i = 0; i < 20; i++) {
      const check = startIntegrityCheck(file);
      if (i % 4) await new Promise((r) => setTimeout(r, i * 3));
      await check.stop();
      expect(check.ended).toBe(true);
      expect(['unchecked', 'ok']).toContain(check.report.state);
    }
  });

  it('stopped during the summary pass, the worker leaves it within 1,024 rows instead of reading the whole log', async () => {
    const dir = await dataDir(false);
    const file = join(dir, DB_FILE);
    fillLog(file, 400_000);
    const check = startIntegrityCheck(file);
    // Waits on the worker's own progress, read from shared memory without yielding (so this thread's turns cannot
    // let the pass run to its end unseen): stopped once the pass has read some rows, far from its end. The deadline
    // only bounds a worker that died.
    const deadline = Date.now() + 120_000;
    while (check.phase !== 'done' && !(check.phase === 'summaries' && check.summaryRowsRead > 0) && Date.now() < deadline) { /* spin */ }
    expect(check.phase).toBe('summaries');
    const at = check.summaryRowsRead;
    await check.stop();
    expect(check.ended).toBe(true);
    expect(check.report.state).toBe('unchecked');
    expect(check.summaryRowsRead - at).toBeLessThanOrEqual(2 * 1024);
    expect(check.summaryRowsRead).toBeLessThan(400_000);
  });

  it('a process whose last work is a stopped check stays until the worker has left quick_check, then exits 0', async () => {
    const dir = await dataDir(false);
    const file = join(dir, DB_FILE);
    fillLog(file, 400_000);
    // Stopped inside quick_check, and nothing else keeps the process: an unref'd worker let it end there, with the
    // worker terminated inside the addon by Node's exit (and the stop's promise never settled).
    const script = join(dir, 'stop-in-check.ts');
    writeFileSync(script, `import { startIntegrityCheck } from ${JSON.stringify(join(import.meta.dirname, '../../src-main/store/integrity.ts'))};
const check = startIntegrityCheck(${JSON.stringify(file)});
while (check.phase !== 'quick_check' && check.phase !== 'done') { /* spin until it is inside SQLite */ }
console.log('phase', check.phase);
void check.stop().then(() => console.log('stopped', check.ended));
`);
    const out = await new Promise<{ code: number | null; signal: string | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.on('exit', (code, signal) => resolve({ code, signal, stdout }));
    });
    expect(out.stdout).toContain('phase quick_check');
    expect(out.stdout).toContain('stopped true');
    expect(out).toMatchObject({ code: 0, signal: null });
  });

  describe('a damaged database', () => {
    let app: App;
    let server: Awaited<ReturnType<typeof startServer>>;
    const logged: string[] = [];
    beforeAll(async () => {
      app = await openApp(await dataDir(true), { longRunning: true, log: (m) => void logged.push(m) });
      server = await startServer(app, {});
    });
    afterAll(async () => {
      await server.close();
      app.close();
    });

    it('still starts (the check is off the start-up path), then reports the damage: log, /healthz 503, the console', async () => {
      const r = await within('the integrity check', app.integrity!.done, 20_000);
      expect(r.state).toBe('damaged');
      expect(r.detail).toMatch(/page|tree|malformed|corrupt/i);
      expect(logged.join('\n')).toMatch(/failed its integrity check: [\s\S]*restore it from a backup/);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, integrity: { state: 'damaged', detail: r.detail } });
      const session = await createConsoleService(app, { mode: 'desktop' }).session();
      expect(session.integrity).toMatchObject({ state: 'damaged', detail: r.detail });
    });
  });

  it('a console connected while the check runs hears its outcome as an event', async () => {
    const app = await openApp(await dataDir(true), { longRunning: true, log: () => {} });
    try {
      const service = createConsoleService(app, { mode: 'desktop' });
      const heard = new Promise((resolve) => service.subscribe((e) => e.type === 'integrity.checked' && resolve(e.integrity)));
      if (app.integrity!.report.state === 'checking') expect(await within('the integrity event', heard, 20_000)).toMatchObject({ state: 'damaged' });
      else expect(app.integrity!.report.state).toBe('damaged');
    } finally {
      app.close();
    }
  });

  it('a healthy server answers /healthz 200 with the integrity state', async () => {
    const app = await openApp(await dataDir(false), { longRunning: true, log: () => {} });
    const server = await startServer(app, {});
    try {
      await within('the integrity check', app.integrity!.done, 20_000);
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ ok: true, integrity: { state: 'ok' } });
    } finally {
      await server.close();
      app.close();
    }
  });
});

// Only PostgreSQL: SQLite's own check (above) compares them after its quick_check (test/audit/facets.test.ts).
(postgresAvailable() ? describe : describe.skip)(`the audit summaries, checked after start [PostgreSQL${postgresAvailable() ? '' : ': skipped, no cluster'}]`, () => {
  it('a long-running app compares them with the log: whole is ok, an edited one is reported on /healthz and in the log', async () => {
    const storeUrl = await newDatabase('integrity-summaries');
    const dir = mkdtempSync(join(tmpdir(), 'cs-integrity-pg-'));
    const { store } = await initDataDir(dir, undefined, { storeUrl });
    await store.write(async (tx) => {
      for (let i = 0; i < 1100; i++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: i % 2 ? 'list_devices' : 'whoami' });
    });
    await store.close();
    const healthy = await openApp(dir, { longRunning: true, log: () => {}, storeUrl });
    try {
      expect(await within('the summary check', healthy.integrity!.done, 20_000)).toMatchObject({ state: 'ok', detail: null });
      await healthy.store.sql.run(`UPDATE audit_facets SET entries = 1 WHERE facet = 'tool' AND value = 'whoami' AND block = 0`);
    } finally {
      await healthy.close();
    }
    const logged: string[] = [];
    const app = await openApp(dir, { longRunning: true, log: (m) => void logged.push(m), storeUrl });
    const server = await startServer(app, {});
    try {
      const r = await within('the summary check', app.integrity!.done, 20_000);
      expect(r).toMatchObject({ state: 'damaged', detail: expect.stringContaining('missing or wrong: tool in block 0') });
      expect(logged.join('\n')).toContain('block summaries disagree with the log');
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, integrity: { state: 'damaged', detail: r.detail } });
    } finally {
      await server.close();
      await app.close();
    }
  });
});
