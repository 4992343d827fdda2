// Parameters hidden from SQLite's planner (store/stablePlans.ts): the text is rewritten only where a parameter stands,
// a value reads and compares the same through `+?` as through `?`, and every statement a broad workload prepares keeps
// the plan SQLite chose for it before.
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { generateHistory, simulationDraft, simulationFleet } from '../../bench/simHistory.ts';
import { openApp, type App } from '../../src-main/app.ts';
import { createAuditQueries } from '../../src-main/console/auditQuery.ts';
import { createConsoleService } from '../../src-main/console/service.ts';
import { Gate } from '../../src-main/governance/gate.ts';
import { RateLimiter } from '../../src-main/governance/rateLimiter.ts';
import { PolicySimulator } from '../../src-main/governance/simulate.ts';
import { DB_FILE, preparedSql } from '../../src-main/store/db.ts';
import { stablePlanSql } from '../../src-main/store/stablePlans.ts';
import { join } from 'node:path';
import { budget } from '../helpers/wait.ts';

describe('stablePlanSql', () => {
  it('writes each parameter +?, in every position an expression may take', () => {
    expect(stablePlanSql('SELECT * FROM t WHERE a = ? AND b IN (?, ?) AND c >= ?')).toBe('SELECT * FROM t WHERE a = +? AND b IN (+?, +?) AND c >= +?');
    expect(stablePlanSql('INSERT INTO t (a, b) VALUES (?,?)')).toBe('INSERT INTO t (a, b) VALUES (+?,+?)');
    expect(stablePlanSql('UPDATE t SET n = n + ? WHERE id=?')).toBe('UPDATE t SET n = n + +? WHERE id=+?');
    expect(stablePlanSql('SELECT value FROM json_each(?) WHERE x = -?1')).toBe('SELECT value FROM json_each(+?) WHERE x = -+?1');
  });

  it('leaves LIKE, GLOB and ESCAPE parameters visible, in any case and spacing; LIMIT and OFFSET are hidden too', () => {
    expect(stablePlanSql('SELECT * FROM t WHERE a = ? ORDER BY a LIMIT ? OFFSET ?')).toBe('SELECT * FROM t WHERE a = +? ORDER BY a LIMIT +? OFFSET +?');
    expect(stablePlanSql('SELECT * FROM t WHERE a like\n  ? escape ? AND b GLOB ? limit ?')).toBe('SELECT * FROM t WHERE a like\n  ? escape ? AND b GLOB ? limit +?');
    // Only the keyword right before the parameter counts.
    expect(stablePlanSql('SELECT * FROM t WHERE lower(a) LIKE lower(?)')).toBe('SELECT * FROM t WHERE lower(a) LIKE lower(+?)');
    expect(stablePlanSql('SELECT * FROM t WHERE like_count = ?')).toBe('SELECT * FROM t WHERE like_count = +?');
  });

  it('never touches a question mark inside a literal, a quoted name or a comment', () => {
    const sql = `SELECT '?', 'it''s ?', "col?", \`b?\`, [c?] FROM t -- what ?\nWHERE x = ? /* and ? */ AND y = 'a'`;
    expect(stablePlanSql(sql)).toBe(`SELECT '?', 'it''s ?', "col?", \`b?\`, [c?] FROM t -- what ?\nWHERE x = +? /* and ? */ AND y = 'a'`);
    // Unterminated text is copied to the end (SQLite then refuses it as it would have).
    expect(stablePlanSql("SELECT 'open ? ")).toBe("SELECT 'open ? ");
    expect(stablePlanSql('SELECT 1 /* open ?')).toBe('SELECT 1 /* open ?');
  });

  it('leaves named parameters alone', () => {
    expect(stablePlanSql('SELECT * FROM t WHERE a = :a AND b = @b AND c = $c')).toBe('SELECT * FROM t WHERE a = :a AND b = @b AND c = $c');
  });
});

describe('a value through +? is the value through ?', () => {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, a ANY) STRICT;
    INSERT INTO t VALUES (1, 1.0, '1', x'31', 1), (2, 2.5, '2.5', x'322e35', '2.5'), (NULL, NULL, NULL, NULL, NULL),
      (9007199254740993, 9007199254740992.0, 'x', x'00', x'00')`);
  const values: unknown[] = [1, 2.5, '1', '2.5', ' 1', 'x', Buffer.from('1'), Buffer.from([0]), null, 9007199254740993n, 0, -1];

  it('in comparisons with every column type, and when stored', () => {
    for (const col of ['i', 'r', 's', 'b', 'a']) {
      for (const op of ['=', '<', '>=', 'IS', 'IS NOT']) {
        const q = `SELECT rowid FROM t WHERE ${col} ${op} ? ORDER BY rowid`;
        const plain = db.prepare(q).pluck();
        const hidden = db.prepare(stablePlanSql(q)).pluck();
        for (const v of values) expect(hidden.all(v), `${col} ${op} ${String(v)}`).toEqual(plain.all(v));
      }
    }
    const typed = db.prepare('SELECT typeof(?) AS t, quote(?) AS q').safeIntegers(true);
    const typedHidden = db.prepare(stablePlanSql('SELECT typeof(?) AS t, quote(?) AS q')).safeIntegers(true);
    for (const v of values) expect(typedHidden.get(v, v)).toEqual(typed.get(v, v));
    db.exec('CREATE TABLE u (i INTEGER, s TEXT, a ANY) STRICT');
    const put = (sql: string) => db.prepare(sql);
    for (const v of [1, 2.0, '3', 4n, null]) {
      put('INSERT INTO u VALUES (?, ?, ?)').run(typeof v === 'string' ? 3 : v, String(v), v);
      put(stablePlanSql('INSERT INTO u VALUES (?, ?, ?)')).run(typeof v === 'string' ? 3 : v, String(v), v);
    }
    const rows = db.prepare('SELECT typeof(i), i, typeof(s), s, typeof(a), a FROM u ORDER BY rowid').raw(true).all();
    for (let k = 0; k < rows.length; k += 2) expect(rows[k + 1]).toEqual(rows[k]);
  });

  it('what the planner gives up: an integer LIMIT it never saw from JavaScript, a partial index matched by a bound value', () => {
    db.exec("CREATE TABLE p (id INTEGER PRIMARY KEY, digest TEXT, status TEXT); CREATE INDEX p_pending ON p (digest) WHERE status = 'pending'");
    const plan = (sql: string, ...args: unknown[]) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args).map((r) => (r as { detail: string }).detail).join('; ');
    // Numbers are bound as REAL: the planner reads a LIMIT's value only from an INTEGER binding (a BigInt).
    expect(db.prepare('SELECT typeof(?)').pluck().get(25)).toBe('real');
    const limited = 'SELECT id FROM p WHERE digest = ? ORDER BY id LIMIT ?';
    expect(plan(stablePlanSql(limited), 'x', 25)).toBe(plan(limited, 'x', 25));
    // A partial index: matched through the bound value as written, not through +? (the product compares with literals).
    const byStatus = "SELECT id FROM p WHERE digest = ? AND status = ?";
    expect(plan(byStatus, 'x', 'pending')).toContain('p_pending');
    expect(plan(stablePlanSql(byStatus), 'x', 'pending')).not.toContain('p_pending');
    expect(plan(stablePlanSql("SELECT id FROM p WHERE digest = ? AND status = 'pending'"), 'x')).toContain('p_pending');
  });
});

describe('the plans of what the product prepares', () => {
  const apps: App[] = [];
  afterAll(() => {
    vi.useRealTimers();
    for (const a of apps) a.close();
  });

  it('are the plans SQLite chose for the statements as written, with the arguments they ran with', async () => {
    // A broad workload: a history of every kind of call through the gate (reads, locks in the bulk window, cards,
    // tier 4, refusals, grants), the policy simulator over it, the console's audit pages with each filter, and its other pages.
    const fleet = await simulationFleet();
    const app = await openApp(fleet.dir, { env: {}, log: () => {} });
    apps.push(app);
    // The first arguments each statement runs with: its plan is compared with them, as the product bound them.
    const ranWith = new Map<string, unknown[]>();
    const cached = app.db.prepare.bind(app.db);
    const recorded = new WeakSet<object>();
    app.db.prepare = ((text: string) => {
      const stmt = cached(text);
      if (!recorded.has(stmt)) {
        recorded.add(stmt);
        for (const m of ['get', 'all', 'run', 'iterate'] as const) {
          const f = (stmt[m] as (...a: unknown[]) => unknown).bind(stmt);
          (stmt as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
            if (!ranWith.has(text)) ranWith.set(text, a);
            return f(...a);
          };
        }
      }
      return stmt;
    }) as typeof app.db.prepare;
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.parse('2026-11-19T01:00:00.000Z');
    const end = await generateHistory(new Gate({ ...app.gate.d, limiter: new RateLimiter(() => Date.now()) }), fleet,
      { entries: 1_500, seed: 0x5eed, start, batch: 16, tick: (ms) => vi.setSystemTime(ms) });
    vi.useRealTimers();
    await new PolicySimulator(app.gate).run(simulationDraft(fleet), { days: 1, now: new Date(end + 60_000) });
    const audit = createAuditQueries(app.store.sql);
    const key = fleet.keys.admin.id;
    for (const q of [{}, { keyId: key }, { tenant: 'acme-dental' }, { tool: 'run_script' }, { q: 'reboot' }, { outcome: 'refused' },
      { from: new Date(start).toISOString(), to: new Date(end).toISOString() }, { keyId: key, tool: 'device_actions', decision: ['denied' as const] }]) {
      const page = await audit.query({ limit: 20, ...q });
      if (page.nextBeforeSeq) await audit.query({ limit: 20, ...q, beforeSeq: page.nextBeforeSeq });
    }
    await audit.liveCalls({ limit: 50, keyId: key });
    // Every console read that takes no argument (each page's first load), then the approval cards one by one.
    const svc = createConsoleService(app, { mode: 'web' });
    for (const m of ['session', 'lookups', 'listApprovals', 'listGrants', 'decisionStats', 'listKeys', 'queryAudit', 'verifyAudit', 'auditCheckpoint',
      'getPolicy', 'listTierOverrides', 'fleet', 'liveCalls', 'listEnrollmentTokens', 'listAgents', 'listTechnicians', 'listFourEyesRules'] as const) {
      await (svc[m] as (input: object) => Promise<unknown>)({});
    }
    const { approvals } = await svc.listApprovals({ status: ['pending'] });
    for (const a of approvals.slice(0, 5)) await svc.getApproval({ id: a.id });

    const texts = preparedSql(app.db);
    // What the workload reached (99 statements when written): about a hundred, joins with parameters among them.
    expect(texts.length).toBeGreaterThanOrEqual(90);
    const joins = texts.filter((t) => /\bJOIN\b/i.test(t) && t.includes('?'));
    expect(joins.length).toBeGreaterThan(10);

    const raw = new Database(join(fleet.dir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      const explain = (sql: string, args: unknown[]) => raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args).map((r) => (r as { detail: string }).detail);
      let compared = 0;
      for (const sql of texts) {
        const args = ranWith.get(sql);
        if (!args || !/^\s*(SELECT|WITH|INSERT|UPDATE|DELETE)\b/i.test(sql)) continue;
        const [asWritten, asRun] = [raw.prepare(sql), raw.prepare(stablePlanSql(sql))];
        expect(explain(stablePlanSql(sql), args), sql).toEqual(explain(sql, args));
        expect(asRun.readonly, sql).toBe(asWritten.readonly);
        if (asWritten.reader) expect(asRun.columns().map((c) => c.name), sql).toEqual(asWritten.columns().map((c) => c.name));
        compared++;
      }
      expect(compared).toBeGreaterThanOrEqual(80);
      console.log(`[stable plans] ${compared} statements compared, ${joins.length} joins with parameters among them`);
      expect(raw.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'sqlite_stat%'").pluck().get()).toBe(0);
    } finally {
      raw.close();
    }
  }, budget(120_000));
});
