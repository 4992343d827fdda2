// The device list at fleet scale: an exact total and one page in hostname order, without reading every device of the
// key's tenants. The total of a filter without a search is a sum over device_counts (kept by triggers, one row per
// tenant, status, OS, compliance and group); the page walks the hostname-order index and stops at the page's end when
// the filter matches many devices, or sorts the few it matches. A search through the trigram index reads its
// candidates once, for the total and the page together; one over few filtered devices counts and sorts their covering
// index entries. Either way the page's rows are read last, by id.
import type { Sql } from '../sql.ts';
import { placeholders } from '../sql.ts';
import type { Scope } from './scope.ts';
import { likeContains, likePattern } from './predicates.ts';
import type { DeviceFilter, DeviceRow } from './devices.ts';

export interface ListPosition {
  offset: number;
  /** Id of the last device of the page before: the page starts after it (in hostname, id order) instead of counting. */
  after?: string;
}

const ROWS = 'SELECT d.*, g.name AS group_name';
const GROUPS = 'LEFT JOIN device_groups g ON g.id = d.group_id';
/** What the trigram index answers: three characters or more, none a LIKE wildcard or escape. */
const trigramSearchable = (s: string) => s.length >= 3 && !/[%_\\]/.test(s);
/** An FTS5 phrase of the text itself: its trigrams in a row, so every device whose hostname holds the text is a candidate. */
const ftsPhrase = (s: string) => `"${s.replaceAll('"', '""')}"`;
/** Below this many devices passing the other filters, their covering index entries are fewer to read than the trigram index's candidates. */
const TRIGRAM_FROM = 5_000;

interface Clause { sql: string; params: unknown[] }
const and = (cs: Clause[]): Clause => ({ sql: cs.map((c) => c.sql).join(' AND ') || '1 = 1', params: cs.flatMap((c) => c.params) });

/** The equality filters, over columns named the same in devices and device_counts (`p` is the alias). */
function equalities(f: DeviceFilter, p: string): Clause[] {
  const out: Clause[] = [];
  if (f.status) out.push({ sql: `${p}.status = ?`, params: [f.status] });
  if (f.os) out.push({ sql: `${p}.os = ?`, params: [f.os] });
  if (f.compliance) out.push({ sql: `${p}.compliance = ?`, params: [f.compliance] });
  // device_counts keeps a device without a group under '', which no group id equals: as the join, it matches no name.
  if (f.group) out.push({ sql: `${p}.group_id IN (SELECT id FROM device_groups WHERE lower(name) = lower(?))`, params: [f.group] });
  return out;
}

export async function listDevices(sql: Sql, scope: Scope, f: DeviceFilter, pos: ListPosition, limit: number): Promise<{ total: number; rows: DeviceRow[] }> {
  const sqlite = sql.dialect === 'sqlite';
  const tenants = scope.filter('d.tenant_id', f.tenant);
  const eq = equalities(f, 'd');
  const counted = and(equalities(f, 'c'));
  const ct = scope.filter('c.tenant_id', f.tenant);
  const counts = (await sql.get<{ scope: number; n: number }>(
    `SELECT CAST(coalesce(sum(c.n), 0) AS INTEGER) AS scope, CAST(coalesce(sum(CASE WHEN ${counted.sql} THEN c.n ELSE 0 END), 0) AS INTEGER) AS n
     FROM device_counts c WHERE ${ct.sql}`, [...counted.params, ...ct.params]))!;

  let key: Clause | undefined;
  let last: Ordered | undefined;
  if (pos.after !== undefined) {
    const row = await sql.get<{ hostname: string }>(`SELECT d.hostname FROM devices d WHERE d.id = ? AND ${tenants.sql}`, [pos.after, ...tenants.params]);
    // A device gone since the page before: count the offset instead.
    if (row) {
      last = { id: pos.after, hostname: row.hostname };
      key = { sql: '(d.hostname, d.id) > (?, ?)', params: [row.hostname, pos.after] };
    }
  }
  const window: Clause = key ? { sql: 'LIMIT ?', params: [limit] } : { sql: 'LIMIT ? OFFSET ?', params: [limit, pos.offset] };

  // Walking in hostname order reads about (rows skipped + page) × scope / matches entries; sorting reads the matches.
  const walks = (total: number) => ((key ? 0 : pos.offset) + limit) * counts.scope / total <= total;
  const filters = and([{ sql: tenants.sql, params: tenants.params }, ...eq]);

  if (!f.search) {
    const total = counts.n;
    if (total === 0 || (!key && pos.offset >= total)) return { total, rows: [] };
    const walk = walks(total);
    const where = key ? and([filters, key]) : filters;
    if (!sqlite && !walk) {
      // PostgreSQL would rather walk the hostname index than sort the few matches its statistics cannot see: the
      // matches first, then their order.
      const ids = await sql.all<{ id: string }>(`WITH m AS MATERIALIZED (SELECT d.id, d.hostname FROM devices d WHERE ${where.sql})
        SELECT id FROM m ORDER BY hostname, id ${window.sql}`, [...where.params, ...window.params]);
      return { total, rows: await rowsById(sql, tenants.params, ids.map((r) => r.id)) };
    }
    const index = sqlite ? ` INDEXED BY ${walk ? 'devices_by_hostname' : 'devices_by_filters'}` : '';
    const rows = await sql.all<DeviceRow>(`${ROWS} FROM devices d${index} ${GROUPS} WHERE ${where.sql} ORDER BY d.hostname, d.id ${window.sql}`,
      [...where.params, ...window.params]);
    return { total, rows };
  }

  // The text test keeps the exact meaning (case-insensitive for ASCII letters, other characters as they are) whatever
  // candidates the trigram index gives (it folds more than ASCII). SQLite: instr over lower() is the LIKE's test
  // without a pattern to match, about twice as fast per device; PostgreSQL keeps the LIKE its trigram index answers.
  const text: Clause = sqlite ? { sql: 'instr(lower(d.hostname), lower(?)) > 0', params: [f.search] } : { sql: likeContains('d.hostname', sql.dialect), params: [likePattern(f.search)] };
  const matches = and([filters, text]);
  const fts = sqlite && trigramSearchable(f.search) && counts.n > TRIGRAM_FROM;
  const candidates: Clause = fts
    ? { sql: 'FROM device_search s CROSS JOIN devices d ON d.rowid = s.rowid WHERE s.hostname MATCH ? AND', params: [ftsPhrase(f.search)] }
    : { sql: `FROM devices d${sqlite ? ` INDEXED BY ${eq.length ? 'devices_by_filters' : 'devices_by_tenant'}` : ''} WHERE`, params: [] };
  if (fts) {
    // One pass over the candidates gives both the total and the page: reading each candidate's row is the cost, and
    // a count then a sort would read them twice.
    const all = await sql.all<Ordered>(`SELECT d.id, d.hostname ${candidates.sql} ${matches.sql}`, [...candidates.params, ...matches.params]);
    return { total: all.length, rows: await rowsById(sql, tenants.params, firstInOrder(all, last, last ? 0 : pos.offset, limit).map((r) => r.id)) };
  }
  const total = (await sql.get<{ n: number }>(`SELECT count(*) AS n ${candidates.sql} ${matches.sql}`, [...candidates.params, ...matches.params]))!.n;
  if (total === 0 || (!key && pos.offset >= total)) return { total, rows: [] };
  // Matches of a text are clustered in hostname order (a prefix is a run of neighbours), so a walk could pass most of
  // the fleet before the first: the page is sorted from the candidates, except for a text too short for the trigram
  // index, which matches densely or not at all.
  const walk = sqlite && !trigramSearchable(f.search) && walks(total);
  const from: Clause = walk ? { sql: 'FROM devices d INDEXED BY devices_by_hostname WHERE', params: [] } : candidates;
  const where = key ? and([matches, key]) : matches;
  const ids = await sql.all<{ id: string }>(`SELECT d.id ${from.sql} ${where.sql} ORDER BY d.hostname, d.id ${window.sql}`,
    [...from.params, ...where.params, ...window.params]);
  return { total, rows: await rowsById(sql, tenants.params, ids.map((r) => r.id)) };
}

/**
 * The page's rows, by primary key, in the order of `ids` (an ORDER BY here would tempt the planner, without
 * statistics, into walking an index of the tenants). The ids came from a tenant-filtered query; the rows are checked
 * against the scope again.
 */
async function rowsById(sql: Sql, tenantIds: readonly string[], ids: string[]): Promise<DeviceRow[]> {
  if (!ids.length) return [];
  const byId = new Map((await sql.all<DeviceRow>(`${ROWS} FROM devices d ${GROUPS} WHERE d.id IN (${placeholders(ids.length)})`, ids))
    .filter((r) => tenantIds.includes(r.tenant_id)).map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

interface Ordered { id: string; hostname: string }

/**
 * SQLite's order of text (BINARY: the UTF-8 bytes, that is code points). JavaScript compares UTF-16 units, which
 * agrees except between a character beyond the BMP (a surrogate pair) and one above U+D7FF: the former is greater.
 */
export function binaryOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    return sx === sy ? x - y : sx ? 1 : -1;
  }
  return a.length - b.length;
}

const byHostnameId = (a: Ordered, b: Ordered) => binaryOrder(a.hostname, b.hostname) || binaryOrder(a.id, b.id);

/** ORDER BY hostname, id, then the rows after `after` (or `offset` rows on), `limit` of them, without sorting them all. */
export function firstInOrder(rows: readonly Ordered[], after: Ordered | undefined, offset: number, limit: number): Ordered[] {
  const want = offset + limit;
  // A deep offset (a cursor without the last id) keeps too many to insert into: sort them all instead.
  if (want > 1_000) return rows.filter((r) => !after || byHostnameId(r, after) > 0).sort(byHostnameId).slice(offset, want);
  const kept: Ordered[] = [];
  for (const r of rows) {
    if (after && byHostnameId(r, after) <= 0) continue;
    if (kept.length === want && byHostnameId(r, kept[want - 1]!) >= 0) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byHostnameId(kept[mid]!, r) < 0) lo = mid + 1;
      else hi = mid;
    }
    kept.splice(lo, 0, r);
    if (kept.length > want) kept.pop();
  }
  return kept.slice(offset);
}
