// A long-running app (serve, the desktop app) shows what another process changed — the CLI creating or revoking a
// key while the console is open — through the same events as its own changes, once each and in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.ts';
import { openApp, type App } from '../../src-main/app.ts';
import { type AuditRow } from '../../src-main/audit/log.ts';
import { createConsoleService } from '../../src-main/console/service.ts';
import type { ConsoleEvent } from '../../src-main/console/contract.ts';
import { initTestDir } from '../helpers/server.ts';

let dir: string;
let app: App;
const events: ConsoleEvent[] = [];
const rows: AuditRow[] = [];
let unsubscribe: () => void;

beforeAll(async () => {
  dir = await initTestDir();
  app = await openApp(dir, { log: () => {}, longRunning: true, externalChangesMs: 50 });
  unsubscribe = createConsoleService(app, {}).subscribe((e) => events.push(e));
  app.store.audit.onAppend((r) => rows.push(r));
});
afterAll(() => {
  unsubscribe();
  app.close();
});


describe('changes committed by another process', () => {
  it('reach the console as events within a second, interleaved with this process\'s own, each once', async () => {
    const own = (await app.keys.create({ name: 'made-here', scopes: ['ai:read'], tenants: ['acme-dental'] })).key;
    const cli = await openApp(dir, { log: () => {} });
    let outside: string;
    try {
      outside = (await cli.keys.create({ name: 'made-by-cli', scopes: ['ai:read'], tenants: ['acme-dental'] })).key.id;
      await cli.keys.revoke(outside, 'cli');
    } finally {
      cli.close();
    }
    await until('the CLI\'s two key events', () => events.filter((e) => e.type === 'key.changed' && e.keyId === outside).length === 2, 5_000, 20);
    // Made once the other process's events are in: the order below is then the only right one, whatever moment of the
    // 50 ms poll the CLI's commits fell into (a busy machine can let a poll run between them).
    const second = (await app.keys.create({ name: 'made-here-too', scopes: ['ai:read'], tenants: ['acme-dental'] })).key;
    await until('this process\'s second key event', () => events.some((e) => e.type === 'key.changed' && e.keyId === second.id), 5_000, 20);
    const keyEvents = events.filter((e): e is Extract<ConsoleEvent, { type: 'key.changed' }> => e.type === 'key.changed');
    expect(keyEvents.map((e) => [e.keyId, e.change])).toEqual([
      [own.id, 'created'], [outside, 'created'], [outside, 'revoked'], [second.id, 'created'],
    ]);
    // Every entry of the log reached the listener exactly once: another round of the poll delivers nothing more.
    expect(await app.store.audit.catchUp()).toBe(0);
    const seqs = rows.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    const total = await app.store.audit.count();
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: seqs.length }, (_, i) => total - seqs.length + 1 + i));
  });

  it('holds nothing for the entries this process commits itself, and only until a catch-up past another process\'s', async () => {
    const log = app.store.audit;
    await log.catchUp();
    expect(log.heldForCatchUp).toBe(0);
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.append({ event: 'system', decision: 'info', outcome: `local ${i}` })));
    expect(log.heldForCatchUp).toBe(0);
    // Another process's entry, then ours: ours is past a gap until the catch-up reads the other's.
    const cli = await openApp(dir, { log: () => {} });
    try {
      await cli.store.audit.append({ event: 'system', decision: 'info', outcome: 'from the cli' });
    } finally {
      await cli.close();
    }
    await log.append({ event: 'system', decision: 'info', outcome: 'local after the cli' });
    const held = log.heldForCatchUp;
    await log.catchUp();
    expect(log.heldForCatchUp).toBe(0);
    expect(rows.filter((r) => r.outcome === 'from the cli')).toHaveLength(1);
    expect(rows.filter((r) => r.outcome === 'local after the cli')).toHaveLength(1);
    // Held at most the one entry (none if the 50 ms poll ran between the two appends).
    expect(held).toBeLessThanOrEqual(1);
  });

  it('entries of a commit of ours that nobody delivered (its reply lost) are read by the next catch-up, counter moved or not', async () => {
    const log = app.store.audit;
    await log.catchUp();
    // A commit whose entries are dropped from delivery before it commits: committed, and never heard of, as when a
    // PostgreSQL commit succeeds but its reply is lost.
    let lose = true;
    app.store.perBatch(() => {
      if (lose) log.discardPending();
      lose = false;
    }, () => {});
    await log.append({ event: 'system', decision: 'info', outcome: 'committed, reply lost' });
    await log.append({ event: 'system', decision: 'info', outcome: 'after the lost one' });
    expect(rows.filter((r) => r.outcome === 'committed, reply lost')).toHaveLength(0);
    expect(log.heldForCatchUp).toBe(1);
    // No other process committed: SQLite's change counter has not moved.
    expect(await log.catchUp()).toBe(1);
    expect(rows.filter((r) => r.outcome === 'committed, reply lost')).toHaveLength(1);
    expect(rows.filter((r) => r.outcome === 'after the lost one')).toHaveLength(1);
    expect(log.heldForCatchUp).toBe(0);
  });

  it('costs one query when nothing changed elsewhere', async () => {
    const log = app.store.audit;
    expect(await log.catchUp()).toBe(0);
    await app.keys.create({ name: 'quiet', scopes: ['ai:read'], tenants: ['acme-dental'] });
    expect(await log.catchUp()).toBe(0);
  });
});
