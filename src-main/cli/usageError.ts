/** A mistake in the command line: printed with a hint to `countersign help`, exit code 2. */
export class UsageError extends Error {}
