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

/**
 * Group 1 is what stays as written: quoted text and names (an unterminated one runs to the end, as SQLite then refuses
 * it), comments, and a parameter right after LIKE, GLOB or ESCAPE. Any other `?` (or `?NNN`) is a parameter to hide.
 */
const TOKEN = /('(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|(?<![\w$])(?:LIKE|GLOB|ESCAPE)\s*\?)|\?/gi;

/** `sql` with each positional parameter (`?`, `?NNN`) written `+?`, outside literals, quoted names and comments. */
export const stablePlanSql = (sql: string): string => sql.replace(TOKEN, (_: string, asWritten?: string) => asWritten ?? '+?');
