// The fleet's domain predicates, named once: tools, resources, reports and the console read "open", "missing" and
// "pending" the same way.

/** An alert still needing attention: active or acknowledged. */
export const OPEN_ALERT = "status != 'resolved'";
/** A device patch not installed and not on its way: missing, or a failed install. */
export const PENDING_PATCH = "state IN ('missing','failed')";
/** A device command not yet finished. */
export const PENDING_COMMAND = "status IN ('queued','running')";

/** Case-insensitive substring match of column against one parameter made by likePattern. */
export const likeContains = (column: string) => `${column} LIKE ? ESCAPE '\\' COLLATE NOCASE`;
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;
