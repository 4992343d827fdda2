// The fleet's domain predicates, named once: tools, resources, reports and the console read "open", "missing" and
// "pending" the same way.

/** An alert still needing attention: active or acknowledged. */
export const OPEN_ALERT = "status != 'resolved'";
/** A device patch not installed and not on its way: missing, or a failed install. */
export const PENDING_PATCH = "state IN ('missing','failed')";
/** A device command not yet finished. */
export const PENDING_COMMAND = "status IN ('queued','running')";

/**
 * Case-insensitive substring match of column against one parameter made by likePattern, with the same results on both
 * dialects: SQLite's lower() folds ASCII letters only, and so does PostgreSQL's under the "C" collation (the expression
 * its trigram index on device hostnames is built on).
 */
export const likeContains = (column: string, dialect: 'sqlite' | 'postgres' = 'sqlite') => (dialect === 'postgres'
  ? `lower(${column} COLLATE "C") LIKE lower(CAST(? AS text) COLLATE "C") ESCAPE '\\'`
  : `lower(${column}) LIKE lower(?) ESCAPE '\\'`);
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;
