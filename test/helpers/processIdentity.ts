import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** The file in a folder a test run made (its PostgreSQL cluster, its temporary folder) that names the run's process. */
export const OWNER_FILE = 'owner';

/** Records this process as the owner of `dir`. */
export function recordOwner(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), processIdentity(process.pid) ?? '');
}

/** Whether the process that made `dir` still runs; 'unknown' when its owner file is missing or empty. */
export function ownerState(dir: string): 'alive' | 'gone' | 'unknown' {
  let owner: string;
  try {
    owner = readFileSync(join(dir, OWNER_FILE), 'utf8').trim();
  } catch {
    return 'unknown';
  }
  if (!owner) return 'unknown';
  return processIdentity(Number(owner.split(' ')[0])) === owner ? 'alive' : 'gone';
}
