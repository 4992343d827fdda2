import { lazy, Suspense, useEffect } from 'react';
import { mode, onConnection, onEvent, web } from './api/index.ts';
import { useSession } from './store/session.ts';
import { useApprovals } from './store/approvals.ts';
import { useLive } from './store/live.ts';
import { useVersions } from './store/versions.ts';
import { ROUTE_LABELS, useRoute, type Route } from './lib/router.ts';
import { announce } from './lib/focus.ts';
import { toolLabel } from './lib/format.ts';
import { notify } from './lib/browser.ts';
import { Shell } from './Shell.tsx';
import { Login } from './pages/Login.tsx';
import { Loading } from './components/States.tsx';
import { LivePage } from './pages/live/LivePage.tsx';
import { ApprovalsPage } from './pages/approvals/ApprovalsPage.tsx';
import { KeysPage } from './pages/keys/KeysPage.tsx';
import { AuditPage } from './pages/audit/AuditPage.tsx';
import { PolicyPage } from './pages/policy/PolicyPage.tsx';
import { AgentsPage } from './pages/agents/AgentsPage.tsx';
import { TechniciansPage } from './pages/team/TechniciansPage.tsx';
import { FourEyesPage } from './pages/team/FourEyesPage.tsx';
// The fleet page carries the charting library: loaded on first visit.
const FleetPage = lazy(() => import('./pages/fleet/FleetPage.tsx').then((m) => ({ default: m.FleetPage })));

const PAGES: Record<Route, React.ComponentType> = {
  live: LivePage, approvals: ApprovalsPage, keys: KeysPage, audit: AuditPage, policy: PolicyPage, fleet: FleetPage, agents: AgentsPage,
  technicians: TechniciansPage, 'four-eyes': FourEyesPage,
};

/** Wires pushed events into the stores while signed in, and reloads what may have been missed after a reconnect. */
function useEventWiring(ready: boolean) {
  useEffect(() => {
    if (!ready) return;
    void useApprovals.getState().load();
    void useLive.getState().load();
    const offEvent = onEvent((e) => {
      switch (e.type) {
        case 'call':
          return useLive.getState().add(e.call);
        case 'approval.created': {
          const before = useApprovals.getState().pending.length;
          useApprovals.getState().created(e.approval);
          const n = useApprovals.getState().pending.length;
          if (n > before) announce(`New approval request: ${toolLabel(e.approval.tool, e.approval.action)} on ${e.approval.tenant}. ${n} waiting.`);
          // The desktop shell raises its own native notification.
          if (mode === 'web') notify(`Approval requested: ${e.approval.tool}${e.approval.action ? ` (${e.approval.action})` : ''}`, e.approval.summary, e.approval.id, () => { window.location.hash = '#/approvals'; });
          return;
        }
        case 'approval.decided': {
          // A decision made here is announced by its own notice; one made elsewhere (another console, expiry) is announced now.
          const waiting = useApprovals.getState().pending.some((p) => p.id === e.approval.id);
          useApprovals.getState().decided(e.approval);
          if (waiting) announce(`Request ${e.approval.status}: ${toolLabel(e.approval.tool, e.approval.action)} on ${e.approval.tenant}.`);
          return;
        }
        case 'key.changed':
          return useVersions.getState().bump('keys');
        case 'policy.changed':
          return useVersions.getState().bump('policy');
      }
    });
    // Each time the stream (re)opens, re-read: events sent before it opened are otherwise missed.
    const offConn = onConnection((c) => {
      useSession.getState().setConnection(c);
      if (c === 'open') {
        void useApprovals.getState().load();
        void useLive.getState().load();
      }
    });
    return () => {
      offEvent();
      offConn();
    };
  }, [ready]);
}

/** The title names the page and, first, the number of pending requests: "(2) Countersign · Live · 2 pending approvals". */
function useTitle(page: string | null) {
  const n = useApprovals((s) => s.pending.length);
  useEffect(() => {
    const name = page ? `Countersign · ${page}` : 'Countersign';
    document.title = n > 0 ? `(${n}) ${name} · ${n} pending approval${n === 1 ? '' : 's'}` : name;
  }, [n, page]);
}

export function App() {
  const status = useSession((s) => s.status);
  const route = useRoute();
  useEffect(() => {
    void useSession.getState().boot();
    return web?.onAuthLost((why) => useSession.getState().lost(why));
  }, []);
  useEventWiring(status === 'ready');
  useTitle(status === 'ready' ? ROUTE_LABELS[route] : status === 'loading' ? null : 'Sign in');

  if (status === 'loading') return <div className="center-screen"><Loading what="the console" /></div>;
  if (status === 'signedOut' || status === 'unreachable') return <Login />;
  const Page = PAGES[route];
  return (
    <Shell route={route}>
      <Suspense fallback={<div className="page"><Loading what="the page" /></div>}>
        <Page />
      </Suspense>
    </Shell>
  );
}
