import { useEffect, useState, type ReactNode } from 'react';
import { mode } from './api/index.ts';
import { useSession } from './store/session.ts';
import { useApprovals } from './store/approvals.ts';
import { useTheme } from './store/theme.ts';
import { useToasts } from './store/toasts.ts';
import { navigate, ROUTE_LABELS, ROUTES, showsRoute, type Route } from './lib/router.ts';
import { keyHint, useHotkeys, useShortcutMode } from './lib/shortcuts.ts';
import { focusHeading, useFocusRescue } from './lib/focus.ts';
import { ShortcutsDialog } from './components/ShortcutsDialog.tsx';
import { UpdateNotice } from './components/UpdateNotice.tsx';
import { IntegrityNotice } from './components/IntegrityNotice.tsx';
import { YourPasskeysButton } from './components/YourPasskeys.tsx';

const THEME_LABEL = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' } as const;

function Nav({ route }: { route: Route }) {
  const pending = useApprovals((s) => s.pending.length);
  const keys = useShortcutMode((s) => s.mode);
  const technician = useSession((s) => s.session?.technician);
  return (
    <nav className="nav" aria-label="Pages">
      {ROUTES.map((r, i) => !showsRoute(r, technician) ? null : (
        <a key={r} href={`#/${r}`} className={`nav-item${r === route ? ' active' : ''}`} aria-current={r === route ? 'page' : undefined}
          aria-keyshortcuts={keyHint(String(i + 1) as '1', keys)}>
          <span>{ROUTE_LABELS[r]}</span>
          {r === 'approvals' && pending > 0 ? <span className="nav-count" role="img" aria-label={`${pending} pending`}>{pending}</span> : null}
          {keys === 'off' ? null : <kbd className="nav-key" aria-hidden="true">{keys === 'alt' ? `Alt+${i + 1}` : i + 1}</kbd>}
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
  const [menu, setMenu] = useState(false);
  const [help, setHelp] = useState(false);
  const keys = useShortcutMode((s) => s.mode);
  useHotkeys({ ...Object.fromEntries(ROUTES.filter((r) => showsRoute(r, session?.technician)).map((r) => [String(ROUTES.indexOf(r) + 1), () => navigate(r)])), '?': () => setHelp(true) });
  useFocusRescue();
  // A page change focuses the new page's heading (and closes the narrow-screen menu).
  useEffect(() => {
    setMenu(false);
    focusHeading();
  }, [route]);
  return (
    <div className="shell">
      <aside className={`sidebar${menu ? ' open' : ''}`}>
        <div className="brand">
          <svg viewBox="0 0 32 32" width="20" height="20" aria-hidden="true"><rect width="32" height="32" rx="7" className="brand-mark" /><path d="M9 16.5l4.5 4.5L23 11" fill="none" stroke="#fff" strokeWidth="3.2" strokeLinecap="round" strokeLinejoin="round" /></svg>
          <span>Countersign</span>
          <button type="button" className="btn btn-small menu-btn" aria-expanded={menu} aria-controls="sidebar-menu" onClick={() => setMenu(!menu)}>
            {menu ? 'Close menu' : 'Menu'}
          </button>
        </div>
        <div className="sidebar-menu" id="sidebar-menu">
          <Nav route={route} />
          <div className="sidebar-foot">
            <Connection />
            <button type="button" className="btn btn-ghost btn-small side-btn" onClick={() => setHelp(true)} aria-keyshortcuts={keyHint('?', keys)}>Keyboard shortcuts</button>
            <button type="button" className="btn btn-ghost btn-small side-btn" onClick={cycle} title="Switch between system, light and dark">{THEME_LABEL[pref]}</button>
            {mode === 'web' ? <button type="button" className="btn btn-ghost btn-small side-btn" onClick={() => void signOut('Signed out.')}>Sign out</button> : null}
            <UpdateNotice />
            {mode === 'web' && session?.technician ? <YourPasskeysButton /> : null}
            {session?.technician ? <div className="muted tiny" data-testid="signed-in-as">Signed in as {session.technician.name} ({session.technician.role})</div> : null}
            <div className="muted tiny">v{session?.version ?? ''} · {mode === 'web' ? 'web console' : 'desktop'}</div>
          </div>
        </div>
      </aside>
      <main className="main" id="main">
        <IntegrityNotice />
        {children}
      </main>
      <Toasts />
      {help ? <ShortcutsDialog onClose={() => setHelp(false)} /> : null}
    </div>
  );
}
