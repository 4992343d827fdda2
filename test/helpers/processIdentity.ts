import { readFileSync } from 'node:fs';

/**
 * A process as "pid start-time" (Linux /proc): a pid reused by a later process reads differently, so a record of it
 * tells whether the process that wrote it still runs. Undefined when there is no such process (or no /proc).
 */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}
