// ConsoleApi over the web console API of `countersign serve`: fetch for methods (session cookie, JSON bodies),
// EventSource for pushed events. Login and logout exist only here: the desktop shell needs neither.
import {
  AppError, AUDIT_EXPORT_PATH, CONSOLE_METHOD_NAMES, ConsoleEvent, consoleMethods, EXPORT_RUNNING,
  type ConsoleApi, type ErrorCode, type ConsoleMethodName,
} from '../../src-main/console/contract.ts';

export type Connection = 'connecting' | 'open' | 'closed';

export interface WebConsole {
  api: ConsoleApi;
  onEvent(listener: (e: ConsoleEvent) => void): () => void;
  onConnection(listener: (c: Connection) => void): () => void;
  /** Fires when the session is gone (401, logout elsewhere, expiry). */
  onAuthLost(listener: (why: string) => void): () => void;
  /** name: the technician signing in, when the server has technician accounts (see loginMode). */
  login(passphrase: string, name?: string): Promise<void>;
  /** Whether sign-in takes a technician name (team mode) or the install's single passphrase. */
  loginMode(): Promise<{ accounts: boolean }>;
  logout(): Promise<void>;
  /** Opens the event stream (after login). */
  connect(): void;
  disconnect(): void;
}

const PREFIX = '/console/api';

/** Where the web console downloads the audit export, streamed (src-main/http/exportDownload.ts). */
export const exportDownloadUrl = (format: string, base = '') => `${base}${PREFIX}${AUDIT_EXPORT_PATH}?format=${encodeURIComponent(format)}`;

/** What a HEAD of the export says before the download starts (a HEAD carries no body, so the status is all there is). */
const EXPORT_REFUSALS: Record<number, string> = {
  401: 'you are signed out; sign in again',
  403: 'your account acts on some tenants only, and the export covers every tenant',
  409: EXPORT_RUNNING,
};

/** Asks the server whether an export would start now; throws the reason if not. */
export async function checkExportDownload(format: string, base = ''): Promise<void> {
  const res = await fetch(exportDownloadUrl(format, base), { method: 'HEAD', credentials: 'same-origin' });
  if (res.ok) return;
  throw new AppError(STATUS_CODES[res.status] ?? 'INTERNAL', EXPORT_REFUSALS[res.status] ?? `the server answered ${res.status}`);
}

/** The code of an HTTP refusal that carries none in its body (the transport's own: not logged in, throttled, too large). */
const STATUS_CODES: Record<number, ErrorCode> = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 410: 'GONE', 429: 'RATE_LIMITED', 503: 'UNAVAILABLE' };

/** The web console API's errors: the AppError shape in a JSON-RPC error's data, or an HTTP status. Mapped here only. */
export function errorFrom(status: number, body: unknown): AppError {
  const e = (body as { error?: { message?: unknown; data?: unknown } } | null)?.error;
  if (e?.data && typeof e.data === 'object' && 'code' in e.data) return AppError.fromShape(e.data);
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
  return new AppError(STATUS_CODES[status] ?? (status < 500 ? 'BAD_INPUT' : 'INTERNAL'), message);
}

export function createWebConsole(base = ''): WebConsole {
  const eventListeners = new Set<(e: ConsoleEvent) => void>();
  const connectionListeners = new Set<(c: Connection) => void>();
  const authListeners = new Set<(why: string) => void>();
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let wanted = false;
  let connection: Connection = 'closed';

  const setConnection = (c: Connection) => {
    if (c === connection) return;
    connection = c;
    for (const l of connectionListeners) l(c);
  };
  const authLost = (why: string) => {
    disconnect();
    for (const l of authListeners) l(why);
  };

  async function post(path: string, body: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${base}${PREFIX}${path}`, {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}),
      });
    } catch {
      throw new AppError('UNAVAILABLE', 'The Countersign server cannot be reached. Is `countersign serve` still running?');
    }
    const json: unknown = await res.json().catch(() => null);
    if (!res.ok) throw errorFrom(res.status, json);
    return json;
  }

  async function call(method: ConsoleMethodName, input: unknown): Promise<unknown> {
    try {
      const { result } = (await post(`/rpc/${method}`, input)) as { result: unknown };
      const parsed = consoleMethods[method].output.safeParse(result);
      if (!parsed.success) throw new AppError('INTERNAL', `${method}: the server's answer does not match the console contract`);
      return parsed.data;
    } catch (e) {
      if (e instanceof AppError && e.code === 'UNAUTHORIZED') authLost('Your console session has ended. Sign in again.');
      throw e;
    }
  }

  const api = Object.fromEntries(CONSOLE_METHOD_NAMES.map((m) => [m, (input?: unknown) => call(m, input)])) as unknown as ConsoleApi;

  function open(): void {
    if (!wanted || source) return;
    setConnection('connecting');
    const es = new EventSource(`${base}${PREFIX}/events`);
    source = es;
    es.onopen = () => setConnection('open');
    es.onmessage = (m) => {
      let data: unknown;
      try {
        data = JSON.parse(m.data as string);
      } catch {
        return;
      }
      const e = ConsoleEvent.safeParse(data);
      if (!e.success) return;
      for (const l of eventListeners) l(e.data);
    };
    es.addEventListener('session-ended', (m) => {
      let reason = 'session ended';
      try {
        reason = (JSON.parse((m as MessageEvent).data as string) as { reason: string }).reason;
      } catch { /* keep the default */ }
      if (reason === 'server closing') return reconnectLater();
      authLost(reason === 'session expired' ? 'Your console session expired. Sign in again.' : 'You were signed out.');
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) reconnectLater();
      else setConnection('connecting');
    };
  }

  function reconnectLater(): void {
    source?.close();
    source = null;
    if (!wanted) return;
    setConnection('connecting');
    if (retry) return;
    retry = setTimeout(() => {
      retry = null;
      // A closed stream is either a network problem or a dead session: the session call tells which (401 → authLost).
      api.session().then(open, () => { if (wanted) reconnectLater(); });
    }, 2000);
  }

  function disconnect(): void {
    wanted = false;
    if (retry) clearTimeout(retry);
    retry = null;
    source?.close();
    source = null;
    setConnection('closed');
  }

  return {
    api,
    onEvent(l) {
      eventListeners.add(l);
      return () => eventListeners.delete(l);
    },
    onConnection(l) {
      connectionListeners.add(l);
      l(connection);
      return () => connectionListeners.delete(l);
    },
    onAuthLost(l) {
      authListeners.add(l);
      return () => authListeners.delete(l);
    },
    async login(passphrase, name) {
      await post('/login', name ? { name, passphrase } : { passphrase });
    },
    async loginMode() {
      const res = await fetch(`${base}${PREFIX}/login`, { credentials: 'same-origin' }).catch(() => undefined);
      const body = res?.ok ? await res.json().catch(() => null) as { accounts?: unknown } | null : null;
      return { accounts: body?.accounts === true };
    },
    async logout() {
      disconnect();
      await post('/logout', {}).catch(() => undefined);
    },
    connect() {
      wanted = true;
      open();
    },
    disconnect,
  };
}
