// The technician's side over the real web console API: login cookie, then approve/deny.
import { PASSPHRASE } from './server.ts';

export interface ConsoleClient {
  /** The session cookie (`name=value`), for requests the helper does not make (the event stream). */
  cookie: string;
  get(path: string): Promise<{ status: number; body: any }>;
  post(path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/** `name`: a technician account (team mode); without it, the install's single console passphrase. */
export async function consoleLogin(baseUrl: string, passphrase = PASSPHRASE, name?: string): Promise<ConsoleClient> {
  const res = await fetch(`${baseUrl}/console/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(name ? { name, passphrase } : { passphrase }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${baseUrl}/console/api${path}`, {
      method, headers: { Cookie: cookie, ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}) },
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
    return { status: r.status, body: await r.json() };
  };
  return { cookie, get: (p) => call('GET', p), post: (p, b) => call('POST', p, b) };
}

/** Parses the JSON error a denial result carries in its text. */
export function denial(r: unknown): { code: string; message: string; [k: string]: unknown } {
  const result = r as { isError?: boolean; content?: unknown };
  if (!result.isError) throw new Error(`expected a denial, got ${JSON.stringify(result).slice(0, 300)}`);
  const text = (result.content as { type: string; text: string }[])[0]!.text;
  return (JSON.parse(text) as { error: { code: string; message: string } }).error;
}

/** The structuredContent of a tool result (callTool's return type is a union with the legacy toolResult shape). */
export function structured<T = Record<string, unknown>>(r: unknown): T {
  return (r as { structuredContent: T }).structuredContent;
}

/** A console client that keeps the session cookie it is given (null: signed out) and reports the one it is set. */
export interface CookieClient {
  cookie: string | null;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; cookie: string | null }>;
}

export function cookieClient(base: string, cookie: string | null = null): CookieClient {
  const c: CookieClient = {
    cookie,
    async call(method, path, body) {
      const r = await fetch(`${base}/console/api${path}`, {
        method, headers: { ...(c.cookie ? { Cookie: c.cookie } : {}), ...(method === 'GET' ? {} : { 'Content-Type': 'application/json' }) },
        body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body ?? {}),
      });
      const set = r.headers.getSetCookie().find((x) => x.startsWith('cs_console='));
      return { status: r.status, body: await r.json(), cookie: set ? set.split(';')[0]! : null };
    },
  };
  return c;
}
