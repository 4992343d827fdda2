import type { ReactNode } from 'react';
import { mode } from './api/index.ts';
import { useSession } from './store/session.ts';
import { useApprovals } from './store/approvals.ts';
import { useTheme } from './store/theme.ts';
import { useToasts } from './store/toasts.ts';
import { navigate, ROUTES, type Route } from './lib/router.ts';
import { useHotkeys } from './lib/hooks.ts';
import { UpdateNotice } from './components/UpdateNotice.tsx';

const LABELS: Record<Route, string> = { live: 'Live', approvals: 'Approvals', keys: 'API keys', audit: 'Audit', policy: 'Policy', fleet: 'Fleet', agents: 'Agents' };
const THEME_LABEL = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' } as const;

function Nav({ route }: { route: Route }) {
  const pending = useApprovals((s) => s.pending.length);
  return (
    <nav className="nav" aria-label="Pages">
      {ROUTES.map((r, i) => (
        <a key={r} href={`#/${r}`} className={`nav-item${r === route ? ' active' : ''}`} aria-current={r === route ? 'page' : undefined}>
          <span>{LABELS[r]}</span>
          {r === 'approvals' && pending > 0 ? <span className="nav-count" aria-label={`${pending} pending`}>{pending}</span> : null}
          <kbd className="nav-key" aria-hidden="true">{i + 1}</kbd>
        </a>
      ))}
    </nav>
  );
}

function Connection() {
  const c = useSession((s) => s.connection);
  const text = c === 'open' ? 'Live' : c === 'connecting' ? 'Reconnecting…' : 'Offline';
  return (
    <div className={`conn conn-${c}`} role="status" aria-live="polite" data-testid="connection">
      <span className="dot" aria-hidden="true" /> {text}
    </div>
  );
}

function Toasts() {
  const { toasts, dismiss } = useToasts();
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.tone}`} role={t.tone === 'danger' ? 'alert' : 'status'}>
          <span>{t.text}</span>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => dismiss(t.id)} aria-label="Dismiss">×</button>
        </div>
      ))}
    </div>
  );
}

export function Shell({ route, children }: { route: Route; children: ReactNode }) {
  const { pref, cycle } = useTheme();
  const session = useSession((s) => s.session);
  const signOut = useSession((s) => s.signOut);
  useHotkeys(Object.fromEntries(ROUTES.map((r, i) => [String(i + 1), () => navigate(r)])));
  return (
    <div className="shell">
      <aside className="sidebar">
        <div className="brand">
          <svg viewBox="0 0 32 32" width="20" height="20" aria-hidden="true"><rect width="32" height="32" rx="7" className="brand-mark" /><path d="M9 16.5l4.5 4.5L23 11" fill="none" stroke="#fff" strokeWidth="3.2" strokeLinecap="round" strokeLinejoin="round" /></svg>
          <span>Countersign</span>
        </div>
        <Nav route={route} />
        <div className="sidebar-foot">
          <Connection />
          <button type="button" className="btn btn-ghost btn-small side-btn" onClick={cycle} title="Switch between system, light and dark">{THEME_LABEL[pref]}</button>
          {mode === 'web' ? <button type="button" className="btn btn-ghost btn-small side-btn" onClick={() => void signOut('Signed out.')}>Sign out</button> : null}
          <UpdateNotice />
          <div className="muted tiny">v{session?.version ?? ''} · {mode === 'web' ? 'web console' : 'desktop'}</div>
        </div>
      </aside>
      <main className="main" id="main">{children}</main>
      <Toasts />
    </div>
  );
}
