// The process log. Plain lines by default (a desktop app's console); with COUNTERSIGN_LOG_FORMAT=json one JSON object a
// line (time, level, node, msg, error), for the log collectors a team-mode deployment of several nodes feeds. Each line
// names its node (COUNTERSIGN_NODE_NAME, or host:pid), so the lines of several nodes can be told apart once merged.
import { hostname } from 'node:os';

export type Log = (msg: string, err?: unknown) => void;

function errorFields(err: unknown): Record<string, unknown> | undefined {
  if (err === undefined || err === null || err === '') return undefined;
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(code !== undefined ? { code } : {}), stack: err.stack };
}

export function createLog(env: NodeJS.ProcessEnv = process.env, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Log {
  const node = env.COUNTERSIGN_NODE_NAME || `${hostname()}:${process.pid}`;
  if (env.COUNTERSIGN_LOG_FORMAT !== 'json') return (msg, err) => console.error(`[countersign] ${msg}`, err ?? '');
  return (msg, err) => {
    const error = errorFields(err);
    write(JSON.stringify({ time: new Date().toISOString(), level: error ? 'error' : 'info', node, msg, ...(error ? { error } : {}) }));
  };
}
