// The integrity check of a long-running process runs again and again: an edit made while the server runs is found by
// the next run, on /healthz and in the console, and a repaired database is announced as whole again.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDataDir, openApp } from '../../src-main/app.ts';
import { startServer } from '../../src-main/http/server.ts';
import { createConsoleService } from '../../src-main/console/service.ts';
import type { ConsoleEvent } from '../../src-main/console/contract.ts';
import { checkReport, type IntegrityCheck, type IntegrityReport } from '../../src-main/store/integrity.ts';
import { recurringIntegrityCheck } from '../../src-main/store/integrityEvery.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { within } from '../helpers/wait.ts';

/** A run whose outcome the test decides: finish(state) ends it as the real checks do. */
function controlledRun() {
  const ends = checkReport(() => {});
  const report = ends.report;
  let resolve!: (r: IntegrityReport) => void;
  const done = new Promise<IntegrityReport>((r) => (resolve = r));
  const finish = (state: IntegrityReport['state'], detail: string | null = null) => {
    ends.finish(state, detail);
    resolve(report);
  };
  const check: IntegrityCheck = { report, done, stop: async () => finish('unchecked', 'the server stopped first') };
  return { check, finish };
}

/** Starts runs on demand and hands each to the test as it starts. */
function runs() {
  const started: ReturnType<typeof controlledRun>[] = [];
  const waiting: ((r: ReturnType<typeof controlledRun>) => void)[] = [];
  return {
    start: () => {
      const r = controlledRun();
      started.push(r);
      waiting.shift()?.(r);
      return r.check;
    },
    /** The n-th run (0: the first), once it has started. */
    nth: (n: number) => (started[n] ? Promise.resolve(started[n]) : new Promise<ReturnType<typeof controlledRun>>((r) => waiting.push(r))),
  };
}

describe('recurring integrity check', () => {
  it('keeps the last finding while the next run is under way, tells each finding, and says when the database is whole again', async () => {
    const r = runs();
    const logged: string[] = [];
    const told: string[] = [];
    const check = recurringIntegrityCheck(r.start, 1, (m) => void logged.push(m));
    check.onReport((x) => void told.push(x.state));
    expect(check.report.state).toBe('checking');
    (await r.nth(0)).finish('ok');
    expect((await check.done).state).toBe('ok');
    const second = await r.nth(1);
    // The second run is under way: the banner and /healthz still show the first finding, not "checking".
    expect(check.report).toMatchObject({ state: 'ok' });
    second.finish('damaged', 'page 7: btree broken');
    const third = await r.nth(2);
    expect(check.report).toMatchObject({ state: 'damaged', detail: 'page 7: btree broken' });
    third.finish('ok');
    await r.nth(3);
    expect(check.report).toMatchObject({ state: 'ok', detail: null });
    expect(told).toEqual(['ok', 'damaged', 'ok']);
    expect(logged).toEqual(['the database passed its integrity check again']);
    await check.stop();
  });

  it('a stop during a later run keeps the last finding; a stop during the first says the server stopped first', async () => {
    const r = runs();
    const later = recurringIntegrityCheck(r.start, 1);
    (await r.nth(0)).finish('damaged', 'bad');
    await r.nth(1);
    await later.stop();
    expect(later.report).toMatchObject({ state: 'damaged', detail: 'bad' });

    const r2 = runs();
    const first = recurringIntegrityCheck(r2.start, 1);
    await first.stop();
    expect(await first.done).toMatchObject({ state: 'unchecked', detail: 'the server stopped first' });
    expect(first.report.state).toBe('unchecked');
  });

  it('a run that could not check (a lost connection, a dead worker) leaves the last finding: damage found stays reported', async () => {
    const r = runs();
    const told: string[] = [];
    const check = recurringIntegrityCheck(r.start, 1);
    check.onReport((x) => void told.push(x.state));
    try {
      (await r.nth(0)).finish('damaged', 'page 7: btree broken');
      (await r.nth(1)).finish('unchecked', 'the connection was lost');
      await r.nth(2);
      expect(check.report).toMatchObject({ state: 'damaged', detail: 'page 7: btree broken' });
      expect(told).toEqual(['damaged']);
    } finally {
      await check.stop();
    }
  });

  it('a listener that throws is logged; the others are told and the checks go on', async () => {
    const r = runs();
    const logged: string[] = [];
    const told: string[] = [];
    const check = recurringIntegrityCheck(r.start, 1, (m) => void logged.push(m));
    check.onReport(() => {
      throw new Error('listener broke');
    });
    check.onReport((x) => void told.push(x.state));
    try {
      (await r.nth(0)).finish('ok');
      (await r.nth(1)).finish('damaged', 'bad');
      await r.nth(2);
      expect(told).toEqual(['ok', 'damaged']);
      expect(logged).toEqual(['a listener of the integrity check failed: listener broke', 'a listener of the integrity check failed: listener broke']);
    } finally {
      await check.stop();
    }
  });

  it('a later run that cannot start is logged and tried again, never thrown on the timer', async () => {
    const r = runs();
    const logged: string[] = [];
    let calls = 0;
    const check = recurringIntegrityCheck(() => {
      calls++;
      if (calls === 2 || calls === 3) throw new Error('no worker thread');
      return r.start();
    }, 1, (m) => void logged.push(m));
    (await r.nth(0)).finish('ok');
    (await r.nth(1)).finish('ok');
    expect(logged).toEqual(['the database integrity check could not start: no worker thread', 'the database integrity check could not start: no worker thread']);
    expect(check.report.state).toBe('ok');
    await check.stop();
  });
});

describeStores('a long-running app checks its database again', (kind) => {
  it('an audit summary edited while the server runs is found by the next run (/healthz 503, the console told); repaired, the next run says so', async () => {
    const storeUrl = await storeUrlFor(kind, 'integrity-every');
    const dir = mkdtempSync(join(tmpdir(), 'cs-integrity-every-'));
    const { store } = await initDataDir(dir, undefined, { storeUrl });
    // More than a block (1,024 entries): block 0 is closed and has its summaries.
    await store.write(async (tx) => {
      for (let i = 0; i < 1100; i++) await tx.audit({ event: 'tool_call', decision: 'allowed', tool: i % 2 ? 'list_devices' : 'whoami' });
    });
    await store.close();
    const logged: string[] = [];
    const app = await openApp(dir, { longRunning: true, integrityEveryMs: 100, log: (m) => void logged.push(m), storeUrl });
    const server = await startServer(app, {});
    const service = createConsoleService(app, { mode: 'desktop' });
    const heard: string[] = [];
    const off = service.subscribe((e: ConsoleEvent) => void (e.type === 'integrity.checked' && heard.push(e.integrity.state)));
    /** The next finding in `state`, from the runs that follow. */
    const next = (state: IntegrityReport['state']) => new Promise<IntegrityReport>((resolve) => {
      const stop = app.integrity!.onReport((r) => {
        if (r.state !== state) return;
        stop();
        resolve({ ...r });
      });
    });
    try {
      expect(await within('the first integrity check', app.integrity!.done, 20_000)).toMatchObject({ state: 'ok' });
      const sql = app.store.sql;
      const row = await sql.get<{ entries: number }>(`SELECT entries FROM audit_facets WHERE facet = 'tool' AND value = 'whoami' AND block = 0`);
      const was = Number(row!.entries);
      expect(was).toBeGreaterThan(500);
      const damaged = next('damaged');
      await sql.run(`UPDATE audit_facets SET entries = 1 WHERE facet = 'tool' AND value = 'whoami' AND block = 0`);
      const found = await within('a run that finds the edit', damaged, 20_000);
      expect(found.detail).toContain('missing or wrong: tool in block 0');
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ ok: false, integrity: { state: 'damaged', detail: found.detail } });
      expect(heard).toContain('damaged');

      const whole = next('ok');
      await sql.run(`UPDATE audit_facets SET entries = ? WHERE facet = 'tool' AND value = 'whoami' AND block = 0`, [was]);
      await within('a run that finds the database whole again', whole, 20_000);
      expect(logged).toContain('the database passed its integrity check again');
      const again = await fetch(`${server.url}/healthz`);
      expect(again.status).toBe(200);
      expect(heard.at(-1)).toBe('ok');
    } finally {
      off();
      await server.close();
      await app.close();
    }
  });
});
