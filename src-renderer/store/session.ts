// Who is signed in and whether pushed events flow. Web mode starts signed out until the session call succeeds.
import { create } from 'zustand';
import type { ConsoleOutput } from '../../src-main/console/contract.ts';
import { api, AppError, mode, web, type Connection } from '../api/index.ts';

export type SessionInfo = ConsoleOutput<'session'>;

interface SessionState {
  status: 'loading' | 'signedOut' | 'ready' | 'unreachable';
  session: SessionInfo | null;
  message: string | null;
  connection: Connection;
  boot(): Promise<void>;
  /** Team mode: sign-in names a technician account. */
  accounts: boolean;
  signIn(passphrase: string, name?: string): Promise<void>;
  signOut(message?: string | null): Promise<void>;
  lost(message: string): void;
  setConnection(c: Connection): void;
}

export const useSession = create<SessionState>((set, get) => ({
  status: 'loading',
  session: null,
  message: null,
  accounts: false,
  connection: mode === 'desktop' ? 'open' : 'closed',
  async boot() {
    try {
      const session = await api.session();
      set({ status: 'ready', session, message: null });
      web?.connect();
    } catch (e) {
      if (e instanceof AppError && e.code === 'UNAUTHORIZED') {
        const { accounts } = web ? await web.loginMode() : { accounts: false };
        set({ status: 'signedOut', session: null, accounts });
      }
      else set({ status: 'unreachable', message: e instanceof Error ? e.message : String(e) });
    }
  },
  async signIn(passphrase, name) {
    if (!web) return;
    await web.login(passphrase, name);
    await get().boot();
  },
  async signOut(message = null) {
    await web?.logout();
    set({ status: 'signedOut', session: null, message });
  },
  lost(message) {
    if (get().status === 'ready') set({ status: 'signedOut', session: null, message });
  },
  setConnection(connection) {
    set({ connection });
  },
}));

/** Whether the signed-in account acts on some tenants only: whole-install work and install-wide settings are not its. */
export const useSomeTenants = (): boolean => useSession((st) => st.session?.technician?.everyTenant === false);
