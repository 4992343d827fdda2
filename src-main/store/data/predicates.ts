// The fleet's domain predicates, named once: tools, resources, reports and the console read "open", "missing" and
// "pending" the same way.

/** An alert still needing attention: active or acknowledged. */
export const OPEN_ALERT = "status != 'resolved'";
/** A device patch not installed and not on its way: missing, or a failed install. */
export const PENDING_PATCH = "state IN ('missing','failed')";
/** A device command not yet finished. */
export const PENDING_COMMAND = "status IN ('queued','running')";

/** Case-insensitive substring match of column against one parameter made by likePattern (the same on SQLite and PostgreSQL). */
export const likeContains = (column: string) => `lower(${column}) LIKE lower(?) ESCAPE '\\'`;
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;
