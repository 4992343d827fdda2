// Starting the MCP server and the agent listener of one data directory: shared by `countersign serve` and the desktop
// app. A taken port becomes a PortInUseError that says whether Countersign itself serves this data directory there
// (from the serving record), so each door can tell the person what to do instead of printing EADDRINUSE.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { App } from './app.ts';
import { startServer, type ServeOptions, type RunningServer } from './http/server.ts';
import { startAgentListener, type ListenerLimits, type RunningAgentListener } from './agentServer/listener.ts';
import type { HubOptions } from './agentServer/hub.ts';

export const SERVING_FILE = 'serving.json';

const ServingRecord = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  by: z.enum(['cli', 'desktop']),
  startedAt: z.string(),
});
export type ServingRecord = z.infer<typeof ServingRecord>;

export class PortInUseError extends Error {
  readonly port: number;
  readonly host: string;
  /** Set when a live Countersign process (serve or the desktop) serves this same data directory on that port. */
  readonly holder: ServingRecord | null;
  constructor(host: string, port: number, holder: ServingRecord | null) {
    super(holder
      ? `port ${port} is in use by Countersign (${holder.by === 'cli' ? 'countersign serve' : 'the desktop app'}, pid ${holder.pid}) serving this same data directory; its console is http://127.0.0.1:${port}/. Stop it, or choose another port (--port 0 picks a free one)`
      : `port ${port} on ${host} is in use by another program; choose another port (--port 0 picks a free one)`);
    this.port = port;
    this.host = host;
    this.holder = holder;
  }
}

export interface ServingOptions {
  host?: string;
  port: number;
  allowedHosts?: string[];
  publicUrl?: string;
  console: ServeOptions['console'];
  agentHost?: string;
  agentPort?: number;
  hub?: Partial<HubOptions>;
  /** The agent listener's limits on unauthenticated connections. */
  limits?: Partial<ListenerLimits>;
  /** Which door is serving, for the record another process reads on a port conflict. */
  by: ServingRecord['by'];
}

export interface Serving {
  server: RunningServer;
  agents: RunningAgentListener;
  close(): Promise<void>;
}

const recordPath = (dataDir: string) => join(dataDir, SERVING_FILE);

/** The record of a live Countersign process serving this data directory on `port`, if there is one. */
export function servingHolder(dataDir: string, port: number): ServingRecord | null {
  let rec: ServingRecord;
  try {
    // The file is written by Countersign but sits in a directory others may write: parse it, trust nothing but pid and port.
    rec = ServingRecord.parse(JSON.parse(readFileSync(recordPath(dataDir), 'utf8')));
  } catch {
    return null;
  }
  if (rec.port !== port || rec.pid === process.pid) return null;
  try {
    process.kill(rec.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return rec;
}

export async function startServing(app: App, opts: ServingOptions): Promise<Serving> {
  const host = opts.host ?? '127.0.0.1';
  let server: RunningServer;
  try {
    server = await startServer(app, { host, port: opts.port, allowedHosts: opts.allowedHosts, publicUrl: opts.publicUrl, console: opts.console });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(host, opts.port, servingHolder(app.dataDir, opts.port));
    throw e;
  }
  let agents: RunningAgentListener;
  try {
    agents = await startAgentListener(app, { host: opts.agentHost ?? '127.0.0.1', port: opts.agentPort ?? 0, hub: opts.hub, limits: opts.limits });
  } catch (e) {
    await server.close();
    throw e;
  }
  const record: ServingRecord = { pid: process.pid, port: server.port, by: opts.by, startedAt: new Date().toISOString() };
  const tmp = `${recordPath(app.dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  renameSync(tmp, recordPath(app.dataDir));
  const [s, a] = [server, agents];
  return {
    server: s,
    agents: a,
    async close() {
      try {
        if (ServingRecord.parse(JSON.parse(readFileSync(recordPath(app.dataDir), 'utf8'))).pid === process.pid) rmSync(recordPath(app.dataDir), { force: true });
      } catch { /* another process's record, or none */ }
      await Promise.allSettled([a.close(), s.close()]);
    },
  };
}
