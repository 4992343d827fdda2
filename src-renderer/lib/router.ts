// Hash routes (#/approvals …): they work from `countersign serve` and from the Electron custom protocol alike.
import { useSyncExternalStore } from 'react';

export const ROUTES = ['live', 'approvals', 'keys', 'audit', 'policy', 'fleet', 'agents', 'technicians', 'four-eyes'] as const;
export type Route = (typeof ROUTES)[number];
export const ROUTE_LABELS: Record<Route, string> = {
  live: 'Live', approvals: 'Approvals', keys: 'API keys', audit: 'Audit', policy: 'Policy', fleet: 'Fleet', agents: 'Agents',
  technicians: 'Technicians', 'four-eyes': 'Four-eyes',
};
/** Team mode's pages: in the nav only for a signed-in owner or admin (the server refuses anyone else). */
export const TEAM_ROUTES: ReadonlySet<Route> = new Set(['technicians', 'four-eyes']);
export const showsRoute = (r: Route, technician: { role: string } | null | undefined): boolean =>
  !TEAM_ROUTES.has(r) || technician?.role === 'owner' || technician?.role === 'admin';

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
