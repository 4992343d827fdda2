// The console's audit page filtered by key, tenant or tool at a large log: through the block summaries (audit/facets.ts),
// against reading the log as the page did before them (the same SQL, run here in the same process on the same file).
// Also `node bench/auditFilters.ts [entries]` alone.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, openApp } from '../src-main/app.ts';
import { BLOCK, summarizeBlock } from '../src-main/audit/facets.ts';
import { createAuditQueries, LIST_COLUMNS } from '../src-main/console/auditQuery.ts';
import { DB_FILE } from '../src-main/store/db.ts';
import { startIntegrityCheck } from '../src-main/store/integrity.ts';
import type { Sql } from '../src-main/store/sql.ts';

type Say = (line?: string) => void;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const TOOLS = ['whoami', 'list_devices', 'get_device', 'list_alerts', 'run_script', 'device_actions', 'list_patches', 'deploy_patches'];
const TENANTS = ['acme-dental', 'globex-legal', 'initech', 'umbrella-clinic', 'stark-cpa'];

/** The page and its total as the console read them before the summaries: the whole log, newest first, then counted. */
async function scanPage(sql: Sql, where: string, params: unknown[], limit: number): Promise<void> {
  await sql.all(`SELECT ${LIST_COLUMNS} FROM audit_log WHERE ${where} ORDER BY seq DESC LIMIT ?`, [...params, limit + 1]);
  await sql.get(`SELECT count(*) AS n FROM audit_log WHERE ${where}`, params);
}

export async function auditFilters(say: Say, entries = 1_000_000, rounds = 15): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'cs-filters-')), 'data');
  const { store } = await initDataDir(dir);
  await store.close();
  const app = await openApp(dir, { log: () => {} });
  try {
    // Eight busy keys in turn, and one key with ten entries spread over the log.
    const keys = Array.from({ length: 8 }, () => randomUUID());
    const rare = randomUUID();
    const fillT0 = performance.now();
    let have = await app.store.audit.count();
    while (have < entries) {
      const end = Math.min(entries, have + 50_000);
      await app.store.write(async (tx) => {
        for (; have < end; have++) {
          const keyId = have % Math.floor(entries / 10) === 7 ? rare : keys[have % 8]!;
          await tx.audit({ event: 'tool_call', decision: 'allowed', keyId, tenant: TENANTS[have % 5]!, tool: TOOLS[(have >> 3) % TOOLS.length]!, tier: 1, args: { page: have } });
        }
      });
    }
    const fillS = (performance.now() - fillT0) / 1000;
    const q = createAuditQueries(app.store.sql);
    const time = async (fn: () => Promise<unknown>) => {
      await fn();
      const ms: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        await fn();
        ms.push(performance.now() - t0);
      }
      return `${percentile(ms, 0.5).toFixed(1)} / ${percentile(ms, 0.95).toFixed(1)}`;
    };
    const limit = 100;
    const sql = app.store.sql;
    // Time windows by the times entries were written at: a tenth of the log in its middle, and its newest 1,000 entries.
    const atOf = async (seq: number) => (await sql.get<{ at: string }>('SELECT at FROM audit_log WHERE seq = ?', [seq]))!.at;
    const middle = { from: await atOf(Math.floor(entries * 0.45)), to: await atOf(Math.floor(entries * 0.55)) };
    const newest = { from: await atOf(entries - 1_000) };
    const by = (column: string, value: string) => () => scanPage(sql, `${column} = ?`, [value], limit);
    const rows: [string, () => Promise<unknown>, (() => Promise<unknown>) | undefined][] = [
      ['no filter', () => q.query({ limit }), () => scanPage(sql, '1 = 1', [], limit)],
      ['a busy key (1 entry in 8)', () => q.query({ keyId: keys[3]!, limit }), by('key_id', keys[3]!)],
      ['a key with 10 entries', () => q.query({ keyId: rare, limit }), by('key_id', rare)],
      ['a tenant (1 in 5)', () => q.query({ tenant: TENANTS[2]!, limit }), by('tenant', TENANTS[2]!)],
      ['a tool (1 in 8)', () => q.query({ tool: 'run_script', limit }), by('tool', 'run_script')],
      ['a tool no entry has', () => q.query({ tool: 'no_such_tool', limit }), by('tool', 'no_such_tool')],
      ['a time window: a tenth of the log, in its middle', () => q.query({ ...middle, limit }), () => scanPage(sql, 'at >= ? AND at <= ?', [middle.from, middle.to], limit)],
      ['a time window: the newest 1,000 entries', () => q.query({ ...newest, limit }), () => scanPage(sql, 'at >= ?', [newest.from], limit)],
      ['a busy key in the middle window', () => q.query({ keyId: keys[3]!, ...middle, limit }), () => scanPage(sql, 'key_id = ? AND at >= ? AND at <= ?', [keys[3]!, middle.from, middle.to], limit)],
      ['a busy key and a tool (1 in 64)', () => q.query({ keyId: keys[3]!, tool: 'run_script', limit }), undefined],
      ['the rare key and its tenant', () => q.query({ keyId: rare, tenant: TENANTS[2]!, limit }), undefined],
      ['a busy key, page 50 (keyset)', async () => q.query({ keyId: keys[3]!, limit, beforeSeq: entries - 8 * limit * 50 }), undefined],
      ['free text (reads the log, for scale)', () => q.query({ q: 'run_script', limit }), undefined],
    ];
    say(`## The console's audit filters at ${entries.toLocaleString('en')} entries`);
    say();
    say(`The console's audit page (${limit} entries and the total) in-process on SQLite, p50 / p95 ms over ${rounds} rounds after one. Filters by key, tenant, tool and time read the block summaries (per ${BLOCK.toLocaleString('en')} entries, a row per value with its count and one with the block's count and earliest and latest time, written by the append that closes the block) and then only the blocks that can hold a match; a block the summaries answer exactly (one value, a window it lies inside, nothing else asked) is counted without being read; "reading the log" is the SQL the page ran before them, on the same file in the same run. The log: ${entries.toLocaleString('en')} tool-call entries from 8 keys in turn and one key with 10, 5 tenants, ${TOOLS.length} tools (filled in ${fillS.toFixed(0)} s). \`BENCH_ONLY=filters npm run bench\`.`);
    say();
    say('| filter | through the summaries, ms | reading the log, ms |');
    say('|---|--:|--:|');
    for (const [label, fast, scan] of rows) say(`| ${label} | ${await time(fast)} | ${scan ? await time(scan) : '—'} |`);
    // What closing a block costs the append that does it: its summary, made again (the upsert changes nothing).
    const last = (Math.floor((entries + 1) / BLOCK) - 1) * BLOCK + BLOCK - 1;
    const closeMs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await app.store.write((tx) => summarizeBlock(tx.sql, last));
      closeMs.push(performance.now() - t0);
    }
    say();
    say(`The append that closes a block writes its summary in its own transaction: ${percentile(closeMs, 0.5).toFixed(2)} ms (p50 of ${rounds}, its commit included), once per ${BLOCK.toLocaleString('en')} entries. ${(await app.store.sql.get<{ n: number }>('SELECT count(*) AS n FROM audit_facets'))!.n.toLocaleString('en')} summary rows for the whole log.`);
    // The background integrity check compares every summary with the log after SQLite's quick_check.
    const check = await startIntegrityCheck(join(dir, DB_FILE)).done;
    if (check.state !== 'ok') throw new Error(`integrity check: ${check.state} ${check.detail}`);
    const quick = performance.now();
    app.db.pragma('quick_check');
    const quickMs = performance.now() - quick;
    say();
    say(`The background integrity check (a worker thread, after start) compares every summary with the log after SQLite's quick_check: ${check.ms!.toLocaleString('en')} ms in all at this size, of which quick_check alone takes ${quickMs.toFixed(0)} ms.`);
    say();
  } finally {
    await app.close();
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
}

if (import.meta.main) await auditFilters((l = '') => console.log(l), Number(process.argv[2] ?? 1_000_000));
