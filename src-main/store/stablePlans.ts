// SQLite plans a prepared statement again at its next run when a parameter the planner looked at gets a new binding,
// and better-sqlite3 clears every binding after each run, so such a statement is parsed and planned at every run. The
// planner looks at a parameter far more often than its value can matter: an equality in any join (`… JOIN tenants t
// ON … WHERE a.id = ?`, its row-estimate heuristic asks whether the value is 0 or 1), `LIMIT ?`, a LIKE pattern, a
// comparison a partial index's WHERE could match. Measured on the gate's own reads: a one-row lookup joined to its
// tenant took 26 µs instead of 3, and such reads were a third of the policy simulation's replay.
//
// SQLite's own switch against this is SQLITE_DBCONFIG_ENABLE_QPSG (the query planner stability guarantee), which
// better-sqlite3 does not expose. A parameter written `+?` is the same value (unary plus is a no-op with no affinity and
// no collation, as a bare parameter has none), and an index uses it as it uses `?`, but the planner does not look at
// it. What the planner gave up:
// - An integer's value for a LIMIT or an equality heuristic: it never had it. JavaScript numbers are bound as REAL, and
//   the planner reads only an INTEGER binding (a BigInt); nothing binds BigInts to these.
// - A partial index that a bound value would match (`status = ?` bound to the index's 'pending'): the product compares
//   such columns with literals, as the index's own WHERE does.
// test/store/stablePlans.test.ts compares the plans, with the arguments they ran with, of every statement a broad
// workload prepares. LIKE, GLOB and ESCAPE parameters are left as written: a pattern's literal prefix can make an
// index usable, a real dependency on the value (the console's searches, not the gate's path).

/** Keywords after which a parameter keeps its value visible to the planner. */
const KEEP_AFTER = new Set(['LIKE', 'GLOB', 'ESCAPE']);

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
