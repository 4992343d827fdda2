// SQLite re-plans a statement at every run when a parameter's value could change its plan. better-sqlite3 builds
// SQLite with STAT4, and with it the planner marks a parameter as "could change the plan" far more often than it
// ever does: a join (`… JOIN tenants t ON … WHERE a.id = ?`), `ORDER BY … LIMIT ?`. Binding a new value to a marked
// parameter expires the statement, so the next step parses and plans it again. Measured on the gate's own reads: a
// one-row lookup joined to its tenant took 60–90 µs instead of 5–10, and those reads were a third of the policy
// simulation's replay.
//
// SQLite's own switch for this is SQLITE_DBCONFIG_ENABLE_QPSG (the query planner stability guarantee), which
// better-sqlite3 does not expose. A parameter written `+?` is the same value (unary plus is a no-op with no affinity,
// as a bare parameter has none), and an index uses it as it uses `?`, but the planner cannot see through it, so it
// never marks it. Our databases hold no ANALYZE statistics, so no plan ever depended on a parameter's value in the
// first place: the plans are the ones SQLite chose before (test/store/stablePlans.test.ts compares them for every
// statement a broad workload prepares).
//
// Two kinds of parameter are left as they are. LIMIT and OFFSET: the planner reads their value for a LIMIT 0 or 1, and
// the statement is re-planned only when the value crosses 1, never for a fixed page size. LIKE and GLOB: a pattern's
// literal prefix can make an index usable, which is a real dependency on the value.

/** Keywords after which a parameter keeps its value visible to the planner. */
const KEEP_AFTER = new Set(['LIMIT', 'OFFSET', 'LIKE', 'GLOB', 'ESCAPE']);

/** `sql` with each positional parameter (`?`, `?NNN`) written `+?`, outside literals, quoted names and comments. */
export function stablePlanSql(sql: string): string {
  let out = '';
  let i = 0;
  let lastWord = '';
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    // Quoted text and names: copied whole, their closing quote doubled to escape it.
    const close = c === "'" ? "'" : c === '"' ? '"' : c === '`' ? '`' : c === '[' ? ']' : '';
    if (close) {
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(close, j);
        if (k < 0) { j = n; break; }
        if (close !== ']' && sql[k + 1] === close) { j = k + 2; continue; }
        j = k + 1;
        break;
      }
      out += sql.slice(i, j);
      lastWord = '';
      i = j;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const k = sql.indexOf('\n', i);
      const j = k < 0 ? n : k;
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const k = sql.indexOf('*/', i + 2);
      const j = k < 0 ? n : k + 2;
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    if (c === '?') {
      if (!KEEP_AFTER.has(lastWord)) out += '+';
      out += c;
      lastWord = '';
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      lastWord = sql.slice(i, j).toUpperCase();
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    if (!/\s/.test(c)) lastWord = '';
    out += c;
    i++;
  }
  return out;
}
