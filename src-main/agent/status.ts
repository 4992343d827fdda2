// The running agent's connection state, for `countersign-agent status`: written on connect and disconnect (0600).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeSecretFile } from './state.ts';

const Status = z.object({ connected: z.boolean(), since: z.string().max(40), version: z.string().max(50), pid: z.number().int() });
const file = (dir: string) => join(dir, 'status.json');

export function writeStatus(dir: string, connected: boolean, version: string): void {
  try {
    writeSecretFile(file(dir), JSON.stringify({ connected, since: new Date().toISOString(), version, pid: process.pid }));
  } catch {
    // status is informational; never let it stop the agent
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export function readStatus(dir: string): (z.infer<typeof Status> & { running: boolean }) | null {
  try {
    const r = Status.safeParse(JSON.parse(readFileSync(file(dir), 'utf8')));
    return r.success ? { ...r.data, running: alive(r.data.pid) } : null;
  } catch {
    return null;
  }
}
