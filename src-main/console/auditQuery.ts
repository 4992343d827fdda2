// Audit log reads for the console: filtered keyset pages, one entry, the live-call feed. The WHERE clause names only the
// filters given, every value bound as a parameter; the same text runs on SQLite and PostgreSQL.
import { placeholders, type Sql } from '../store/sql.ts';
import type { AuditRow } from '../audit/log.ts';
import { jsonColumn } from '../audit/siem.ts';
import { LIVE_ARGS_PREVIEW_BYTES, type AuditEntryDetailT, type AuditEntryT, type ConsoleInput, type LiveCallT } from './contract.ts';
import { sliceToBytes } from '../audit/bounds.ts';
import { planBlocks, type Facet } from '../audit/facets.ts';

/** `tenants`: entries of these tenants only (a technician limited to some), beside the page's own filters. */
type AuditQuery = Required<Pick<ConsoleInput<'queryAudit'>, 'limit'>> & Omit<ConsoleInput<'queryAudit'>, 'limit'> & { tenants?: readonly string[] };
type LiveQuery = Required<Pick<ConsoleInput<'liveCalls'>, 'limit'>> & Omit<ConsoleInput<'liveCalls'>, 'limit'> & { tenants?: readonly string[] };

const pattern = (s: string) => `%${s.replace(/[\\%_]/g, '\\$&')}%`;
const json = jsonColumn;

/** Columns the free-text search looks in. */
const SEARCHED = ['tool', 'action', 'key_name', 'tenant', 'client', 'code', 'outcome', 'args_json', 'detail_json', 'approval_id', 'key_id', 'session_id', 'remote', 'rule', 'event'];

/** A WHERE clause of the filters given (absent ones add nothing), with its positional parameters. */
function where(sql: Sql, q: Omit<AuditQuery, 'limit' | 'beforeSeq'>): { text: string; params: unknown[]; terms: number } {
  // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE is the same search.
  const like = sql.dialect === 'postgres' ? 'ILIKE' : 'LIKE';
  const parts: string[] = [];
  const params: unknown[] = [];
  const eq = (column: string, v: unknown, op = '=') => {
    if (v === undefined || v === null) return;
    parts.push(`${column} ${op} ?`);
    params.push(v);
  };
  const within = (column: string, v: readonly string[] | undefined) => {
    if (v === undefined) return;
    if (v.length === 0) return void parts.push('1 = 0');
    parts.push(`${column} IN (${placeholders(v.length)})`);
    params.push(...v);
  };
  eq('at', q.from, '>=');
  eq('at', q.to, '<=');
  eq('key_id', q.keyId);
  eq('tenant', q.tenant);
  within('tenant', q.tenants);
  eq('tool', q.tool);
  within('event', q.event);
  within('decision', q.decision);
  eq('code', q.code);
  if (q.outcome !== undefined) {
    parts.push(`outcome ${like} ? ESCAPE '\\'`);
    params.push(pattern(q.outcome));
  }
  if (q.q !== undefined) {
    parts.push(`(${SEARCHED.map((c) => `${c} ${like} ? ESCAPE '\\'`).join(' OR ')})`);
    for (let i = 0; i < SEARCHED.length; i++) params.push(pattern(q.q));
  }
  return { text: parts.length ? parts.join(' AND ') : '1 = 1', params, terms: parts.length };
}

export const LIST_COLUMNS = 'seq, at, event, decision, code, rule, key_id, key_name, tenant, client, session_id, tool, action, tier, outcome, duration_ms, approval_id, remote';

type Where = ReturnType<typeof where>;

/** The key, tenant and tool asked for: filters the block summaries answer (audit/facets.ts). */
function facetValues(q: Omit<AuditQuery, 'limit' | 'beforeSeq'>): [Facet, string][] {
  const v: [Facet, string | undefined][] = [['key', q.keyId], ['tenant', q.tenant], ['tool', q.tool]];
  return v.filter((f): f is [Facet, string] => f[1] !== undefined);
}

const countWhere = async (sql: Sql, w: Where, lo: number, hi: number) => (await sql.get<{ n: number }>(
  `SELECT count(*) AS n FROM audit_log WHERE seq >= ? AND seq <= ? AND ${w.text}`, [lo, hi, ...w.params]))!.n;

/**
 * A filtered page and its total through the block summaries: only the blocks that can hold a match (by key, tenant,
 * tool and time window) are read, newest first, until the page is full; the total adds what the summaries know exactly
 * and counts the rest by reading those blocks.
 */
async function blockPage(sql: Sql, q: AuditQuery, w: Where): Promise<{ rows: AuditRow[]; total: number }> {
  const values = facetValues(q);
  const window = (q.from === undefined ? 0 : 1) + (q.to === undefined ? 0 : 1);
  const plan = await planBlocks(sql, { values, from: q.from, to: q.to, others: w.terms > values.length + window });
  const rows: AuditRow[] = [];
  const below = q.beforeSeq ?? Infinity;
  for (let i = plan.ranges.length - 1; i >= 0 && rows.length <= q.limit; i--) {
    const { lo, hi } = plan.ranges[i]!;
    if (lo >= below) continue;
    rows.push(...await sql.all<AuditRow>(`SELECT ${LIST_COLUMNS} FROM audit_log WHERE seq >= ? AND seq <= ? AND ${w.text} ORDER BY seq DESC LIMIT ?`,
      [lo, Math.min(hi, below - 1), ...w.params, q.limit + 1 - rows.length]));
  }
  let total = 0;
  for (const r of plan.ranges) total += r.matches ?? await countWhere(sql, w, r.lo, r.hi);
  return { rows, total };
}

export function toEntry(r: Omit<AuditRow, 'args_json' | 'detail_json' | 'prev_hash' | 'hash'>): AuditEntryT {
  return {
    seq: r.seq, at: r.at, event: r.event, decision: r.decision, code: r.code, rule: r.rule, keyId: r.key_id, keyName: r.key_name, tenant: r.tenant,
    client: r.client, sessionId: r.session_id, tool: r.tool, action: r.action, tier: r.tier, outcome: r.outcome, durationMs: r.duration_ms,
    approvalId: r.approval_id, remote: r.remote,
  };
}

export function toDetail(r: AuditRow): AuditEntryDetailT {
  return { ...toEntry(r), args: json(r.args_json), detail: json(r.detail_json), prevHash: r.prev_hash, hash: r.hash };
}

/** The grant or plan step a call ran under (recorded in its detail by the gate). */
function standingOf(detailJson: string | null): Pick<LiveCallT, 'grantId' | 'planId' | 'planStep'> {
  if (detailJson === null || !detailJson.includes('"grantId"') && !detailJson.includes('"planId"')) return { grantId: null, planId: null, planStep: null };
  const d = json(detailJson) as { grantId?: unknown; planId?: unknown; planStep?: unknown } | null;
  return {
    grantId: typeof d?.grantId === 'string' ? d.grantId : null, planId: typeof d?.planId === 'string' ? d.planId : null,
    planStep: typeof d?.planStep === 'number' ? d.planStep : null,
  };
}

/** An audit row as the live feed reads it: the arguments only as a prefix, their size and the devices they name. */
type LiveRow = Omit<AuditRow, 'args_json' | 'prev_hash'> & { args_head: string | null; args_bytes: number | null; device_count: number | null };

/** Characters of args_json a live row reads: enough for the byte-bounded preview (a character is at least a byte). */
const HEAD_CHARS = LIVE_ARGS_PREVIEW_BYTES;

/** The summary's columns computed by the database, so a live page never reads arguments whole. */
function liveColumns(sql: Sql): string {
  const devices = sql.dialect === 'postgres'
    ? `CASE WHEN json_typeof(args_json::json -> 'deviceIds') = 'array' THEN json_array_length(args_json::json -> 'deviceIds')
        WHEN json_typeof(args_json::json -> 'deviceId') = 'string' THEN 1 END`
    : `CASE WHEN json_valid(args_json) THEN CASE WHEN json_type(args_json, '$.deviceIds') = 'array' THEN json_array_length(args_json, '$.deviceIds')
        WHEN json_type(args_json, '$.deviceId') = 'text' THEN 1 END END`;
  return `${LIST_COLUMNS}, detail_json, hash, substr(args_json, 1, ${HEAD_CHARS}) AS args_head, octet_length(args_json) AS args_bytes, ${devices} AS device_count`;
}

/** The devices a call's arguments name, from the arguments themselves (an event's row is already in memory). */
function devicesNamed(argsJson: string | null): number | null {
  const a = json(argsJson) as { deviceIds?: unknown; deviceId?: unknown } | null;
  if (a === null || typeof a !== 'object') return null;
  return Array.isArray(a.deviceIds) ? a.deviceIds.length : typeof a.deviceId === 'string' ? 1 : null;
}

export function liveRowOf(r: AuditRow): LiveRow {
  const { args_json: args, prev_hash: _prev, ...rest } = r;
  return { ...rest, args_head: args?.slice(0, HEAD_CHARS) ?? null, args_bytes: args === null ? null : Buffer.byteLength(args), device_count: devicesNamed(args) };
}

export function toLiveCall(r: LiveRow): LiveCallT {
  return {
    ...standingOf(r.detail_json),
    seq: r.seq, at: r.at, keyId: r.key_id, keyName: r.key_name, client: r.client, tenant: r.tenant, tool: r.tool, action: r.action, tier: r.tier,
    decision: r.decision, code: r.code, durationMs: r.duration_ms, deviceCount: r.device_count,
    argsPreview: r.args_head === null ? null : sliceToBytes(r.args_head, LIVE_ARGS_PREVIEW_BYTES), argsBytes: r.args_bytes, hash: r.hash,
    outcome: r.outcome, approvalId: r.approval_id, remote: r.remote, sessionId: r.session_id,
  };
}

export function createAuditQueries(sql: Sql) {
  return {
    async query(q: AuditQuery): Promise<{ entries: AuditEntryT[]; total: number; nextBeforeSeq: number | null }> {
      const { rows, total } = await blockPage(sql, q, where(sql, q));
      const more = rows.length > q.limit;
      const entries = rows.slice(0, q.limit).map(toEntry);
      return { entries, total, nextBeforeSeq: more ? entries[entries.length - 1]!.seq : null };
    },
    async entry(seq: number): Promise<AuditEntryDetailT | undefined> {
      const r = await sql.get<AuditRow>('SELECT * FROM audit_log WHERE seq = ?', [seq]);
      return r && toDetail(r);
    },
    async liveCalls(q: LiveQuery): Promise<{ calls: LiveCallT[]; headSeq: number }> {
      const w = where(sql, { keyId: q.keyId, tenant: q.tenant, tenants: q.tenants, decision: q.decision });
      const rows = await sql.all<LiveRow>(`SELECT ${liveColumns(sql)} FROM audit_log WHERE event = 'tool_call' AND seq > ? AND ${w.text} ORDER BY seq DESC LIMIT ?`,
        [q.afterSeq ?? 0, ...w.params, q.limit]);
      return { calls: rows.map(toLiveCall), headSeq: await this.headSeq() };
    },
    async headSeq(): Promise<number> {
      return (await sql.get<{ seq: number }>('SELECT coalesce(max(seq), 0) AS seq FROM audit_log'))!.seq;
    },
  };
}
