// Long jobs the console starts in the server's own process (an audit export, a policy simulation) share its event
// loop with every MCP call. Their reads resolve at once on SQLite, so without a pause such a job ran as one task, and
// every call in flight waited for all of it: a simulation of 50,000 calls about 400 ms, an export of a million entries
// seconds. A job pauses every few hundred rows instead, and the loop runs what is waiting (requests, commits).

/** A function called once per row: every `every`-th call returns a promise to await (the pause), else undefined. */
export function pauses(every = 256): () => Promise<void> | undefined {
  let n = 0;
  return () => (++n % every === 0 ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined);
}
