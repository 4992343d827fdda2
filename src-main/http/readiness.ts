// Readiness of one node (GET /readyz), apart from liveness (/healthz): a node is ready to take traffic when its store
// answers a query now and, on PostgreSQL, its notification connection is up (without it, its consoles would miss what
// other nodes commit). A reverse proxy or orchestrator routes around a node that answers 503.
import type { App } from '../app.ts';

export interface Readiness { ready: boolean; store: 'sqlite' | 'postgres'; node: string | null; checks: Record<string, boolean> }

/** How long the store may take to answer before the node counts as not ready. */
const PING_MS = 2_000;

export async function readiness(app: App): Promise<Readiness> {
  const store = app.store;
  const answered = Promise.race([
    store.dialect === 'postgres' && 'ping' in store ? (store as { ping(): Promise<boolean> }).ping() : store.sql.get('SELECT 1 AS one').then(() => true, () => false),
    new Promise<boolean>((r) => setTimeout(() => r(false), PING_MS).unref()),
  ]);
  const checks: Record<string, boolean> = { database: await answered };
  if ('listening' in store) checks.notifications = (store as { listening(): boolean }).listening();
  return {
    ready: Object.values(checks).every(Boolean),
    store: store.dialect,
    node: 'nodeId' in store ? String((store as { nodeId: string }).nodeId) : null,
    checks,
  };
}
