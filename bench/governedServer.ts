// Countersign as `serve` runs it (same app, same HTTP server, same pipeline) plus one tool, `echo`, identical in work
// to the bare server's: tier 1, read budget, zod-validated input and output, an audit entry per call. The difference
// between this and bench/bareServer.ts is the governance overhead and nothing else.
import { z } from 'zod';
import { composeApp } from '../src-main/app.ts';
import { startServer } from '../src-main/http/server.ts';
import { readTool } from '../src-main/tools/types.ts';
import { fleetTools } from '../src-main/tools/registry.ts';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: governedServer.ts <data-dir>');

export const benchEcho = readTool({
  name: 'echo',
  title: 'Echo',
  description: 'Benchmark only: returns its text.',
  input: z.object({ text: z.string() }),
  output: z.object({ echoed: z.string() }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: async () => ({ tenant: null, summary: 'echo', detail: {} }),
  execute: async ({ text }) => ({ echoed: text }),
});

// The benchmark composes its own catalogue: the product's tools plus echo, all behind the same gate.
// COUNTERSIGN_DATABASE_URL: the same server on PostgreSQL (team mode), several of them on one database for the team row.
const app = await composeApp(dataDir, [...fleetTools(), benchEcho], { log: () => {}, longRunning: true, storeUrl: process.env.COUNTERSIGN_DATABASE_URL || undefined });
const server = await startServer(app, {});
process.stdout.write(`listening ${server.url}\n`);
process.on('SIGTERM', () => void server.close().finally(() => { app.close(); process.exit(0); }));
