// Passkeys over the web console API (web mode only): the browser's WebAuthn ceremony through @simplewebauthn/browser,
// the options and the verdict from the server. The server derives origin and RP ID; the page only reports where
// passkeys work when it is opened elsewhere.
import { browserSupportsWebAuthn, startAuthentication, startRegistration, WebAuthnError } from '@simplewebauthn/browser';
import { AppError } from '../../src-main/console/contract.ts';
import { errorFrom } from './web.ts';

const PREFIX = '/console/api';

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

async function request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${PREFIX}${path}`, {
      method, credentials: 'same-origin',
      ...(method === 'GET' ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body ?? {}) }),
    });
  } catch {
    throw new AppError('UNAVAILABLE', 'The Countersign server cannot be reached.');
  }
  const json: unknown = await res.json().catch(() => null);
  if (!res.ok) throw errorFrom(res.status, json);
  return json;
}

/** The browser said no (cancelled, timed out, no authenticator): one plain sentence instead of a DOMException. */
function ceremonyError(e: unknown): Error {
  if (e instanceof WebAuthnError || (e instanceof Error && e.name === 'NotAllowedError')) {
    return new AppError('BAD_INPUT', 'The passkey prompt was cancelled or timed out.');
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Whether this page can offer passkey sign-in, and if not here, where it can. */
export async function passkeySignInAvailability(): Promise<{ available: boolean; elsewhere: string | null }> {
  if (!browserSupportsWebAuthn()) return { available: false, elsewhere: null };
  const info = (await request('GET', '/login/passkey').catch(() => null)) as { available?: boolean; origin?: string | null } | null;
  if (!info?.available || !info.origin) return { available: false, elsewhere: null };
  return info.origin === window.location.origin ? { available: true, elsewhere: null } : { available: false, elsewhere: info.origin };
}

/** Sign-in with a passkey; `name` limits it to that technician's passkeys. Sets the session cookie. */
export async function signInWithPasskey(name?: string): Promise<void> {
  const optionsJSON = (await request('POST', '/login/passkey/options', name ? { name } : {})) as Parameters<typeof startAuthentication>[0]['optionsJSON'];
  const response = await startAuthentication({ optionsJSON }).catch((e: unknown) => {
    throw ceremonyError(e);
  });
  await request('POST', '/login/passkey', name ? { response, name } : { response });
}

export async function listPasskeys(): Promise<Passkey[]> {
  return ((await request('GET', '/passkeys')) as { passkeys: Passkey[] }).passkeys;
}

export async function registerPasskey(name: string): Promise<Passkey> {
  const optionsJSON = (await request('POST', '/passkeys/options', {})) as Parameters<typeof startRegistration>[0]['optionsJSON'];
  const response = await startRegistration({ optionsJSON }).catch((e: unknown) => {
    throw ceremonyError(e);
  });
  return ((await request('POST', '/passkeys', { name, response })) as { passkey: Passkey }).passkey;
}

export async function removePasskey(id: string): Promise<void> {
  await request('DELETE', `/passkeys/${encodeURIComponent(id)}`);
}
