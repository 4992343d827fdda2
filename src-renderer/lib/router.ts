// Hash routes (#/approvals …): they work from `countersign serve` and from the Electron custom protocol alike.
import { useSyncExternalStore } from 'react';

export const ROUTES = ['live', 'approvals', 'keys', 'audit', 'policy', 'fleet', 'agents'] as const;
export type Route = (typeof ROUTES)[number];
export const ROUTE_LABELS: Record<Route, string> = { live: 'Live', approvals: 'Approvals', keys: 'API keys', audit: 'Audit', policy: 'Policy', fleet: 'Fleet', agents: 'Agents' };

function current(): Route {
  const r = window.location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return (ROUTES as readonly string[]).includes(r ?? '') ? (r as Route) : 'approvals';
}

const subscribe = (cb: () => void) => {
  window.addEventListener('hashchange', cb);
  return () => window.removeEventListener('hashchange', cb);
};

export const useRoute = (): Route => useSyncExternalStore(subscribe, current);

/** The id after the route (#/approvals/<id>: an approval card opened from a link, such as an MCP URL elicitation). */
const currentId = (): string | null => {
  const id = window.location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/')[1];
  return id ? decodeURIComponent(id) : null;
};
export const useRouteId = (): string | null => useSyncExternalStore(subscribe, currentId);
export const navigate = (r: Route) => {
  window.location.hash = `#/${r}`;
};
