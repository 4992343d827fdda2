// The device list at fleet scale: an exact total and one page in hostname order, without reading every device of the
// key's tenants. The total of a filter without a search is a sum over device_counts (kept by triggers, one row per
// tenant, status, OS, compliance and group); the page walks the hostname-order index and stops at the page's end when
// the filter matches many devices, or sorts the few it matches. A search counts and orders its matches in one pass
// (the trigram index's candidates when it has many, the filter index's covering entries otherwise) and then reads the
// page's rows alone.
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
  if (pos.after !== undefined) {
    const last = await sql.get<{ hostname: string }>(`SELECT d.hostname FROM devices d WHERE d.id = ? AND ${tenants.sql}`, [pos.after, ...tenants.params]);
    // A device gone since the page before: count the offset instead.
    if (last) key = { sql: '(d.hostname, d.id) > (?, ?)', params: [last.hostname, pos.after] };
  }
  const window: Clause = key ? { sql: 'LIMIT ?', params: [limit] } : { sql: 'LIMIT ? OFFSET ?', params: [limit, pos.offset] };

  // Walking in hostname order reads about (rows skipped + page) × scope / matches entries; sorting reads the matches.
  const walks = (total: number) => ((key ? 0 : pos.offset) + limit) * counts.scope / total <= total;
  const filters = and([{ sql: tenants.sql, params: tenants.params }, ...eq]);

  if (!f.search) {
    const total = counts.n;
    if (total === 0 || (!key && pos.offset >= total)) return { total, rows: [] };
    const index = sqlite ? ` INDEXED BY ${walks(total) ? 'devices_by_hostname' : 'devices_by_filters'}` : '';
    const where = key ? and([filters, key]) : filters;
    const rows = await sql.all<DeviceRow>(`${ROWS} FROM devices d${index} ${GROUPS} WHERE ${where.sql} ORDER BY d.hostname, d.id ${window.sql}`,
      [...where.params, ...window.params]);
    return { total, rows };
  }

  // The LIKE keeps the exact meaning (case-insensitive for ASCII letters, other characters as they are) whatever
  // candidates the trigram index gives (it folds more than ASCII).
  const matches = and([filters, { sql: likeContains('d.hostname', sql.dialect), params: [likePattern(f.search)] }]);
  const fts = sqlite && trigramSearchable(f.search) && counts.n > TRIGRAM_FROM;
  const candidates: Clause = fts
    ? { sql: 'FROM device_search s CROSS JOIN devices d ON d.rowid = s.rowid WHERE s.hostname MATCH ? AND', params: [ftsPhrase(f.search)] }
    : { sql: `FROM devices d${sqlite ? ' INDEXED BY devices_by_filters' : ''} WHERE`, params: [] };
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
  if (!ids.length) return { total, rows: [] };
  // By primary key, put in the page's order here (the planner, without statistics, would rather walk an index of
  // the tenants); the ids came from the tenant-filtered query, and the rows are checked against the scope again.
  const byId = new Map((await sql.all<DeviceRow>(`${ROWS} FROM devices d ${GROUPS} WHERE d.id IN (${placeholders(ids.length)})`, ids.map((r) => r.id)))
    .filter((r) => tenants.params.includes(r.tenant_id)).map((r) => [r.id, r]));
  return { total, rows: ids.flatMap((r) => byId.get(r.id) ?? []) };
}
