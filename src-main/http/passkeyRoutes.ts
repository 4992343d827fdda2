// The web console's passkey routes. Signed out: GET /login/passkey (is passkey sign-in offered here, for which origin),
// POST /login/passkey/options and POST /login/passkey (the sign-in itself, throttled and audited by ConsoleApi like a
// passphrase). Signed in as a technician: GET /passkeys, POST /passkeys/options, POST /passkeys, DELETE /passkeys/<id>.
// The relying party is the node's configured public origin, or http://localhost:<port>; a page on another origin is
// told where passkeys work instead of failing in the browser.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Technician } from '../auth/technicians.ts';
import type { PasskeyService, RelyingParty } from '../auth/passkeys.ts';
import { HttpError, parseWith as parse, readJsonBody, sendJson } from './util.ts';

const MAX_BODY = 64 * 1024;
const OptionsBody = z.object({ name: z.string().trim().min(1).max(100).optional() }).strict();
const Empty = z.object({}).strict();
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1400}$/;

export type PasskeyAttempt = { ok: true; technician: Technician; detail: Record<string, unknown> }
  | { ok: false; code: string; message: string; detail: Record<string, unknown> };

export class PasskeyRoutes {
  private readonly passkeys: PasskeyService;
  private readonly relyingParty: () => RelyingParty | null;
  constructor(passkeys: PasskeyService, relyingParty: () => RelyingParty | null) {
    this.passkeys = passkeys;
    this.relyingParty = relyingParty;
  }

  private rp(): RelyingParty {
    const rp = this.relyingParty();
    if (!rp) throw new HttpError(503, 'Passkeys are not available until the server listens');
    return rp;
  }

  /** Signed-out routes under /login/passkey; `signIn` runs an attempt under the console's throttling and audit. */
  async signedOut(req: IncomingMessage, res: ServerResponse, path: string, accounts: () => Promise<boolean>,
    signIn: (attempt: () => Promise<PasskeyAttempt>) => Promise<void>): Promise<void> {
    if (path === '/login/passkey' && req.method === 'GET') {
      const rp = this.relyingParty();
      return sendJson(res, 200, { available: !!rp && (await accounts()), origin: rp?.origin ?? null, rpId: rp?.id ?? null });
    }
    if (path === '/login/passkey/options' && req.method === 'POST') {
      const { name } = parse(OptionsBody, await body(req));
      if (!(await accounts())) throw new HttpError(409, 'Passkeys sign in to technician accounts; this console has none');
      return sendJson(res, 200, await this.passkeys.authenticationOptions(this.rp(), name));
    }
    if (path === '/login/passkey' && req.method === 'POST') {
      const rp = this.rp();
      return signIn(async () => {
        const r = await this.passkeys.authenticate(rp, await body(req));
        if (r.ok) return { ok: true, technician: r.technician, detail: { method: 'passkey', authenticator: r.passkey.name } };
        return { ok: false, code: r.code, message: `Passkey not accepted: ${r.reason}`, detail: { method: 'passkey', reason: r.reason, name: r.technician } };
      });
    }
    throw new HttpError(404, 'Not found');
  }

  /** The signed-in technician's own passkeys. `sessionHash` binds a registration to the session that asked for it. */
  async signedIn(req: IncomingMessage, res: ServerResponse, path: string, technician: Technician | null, sessionHash: string): Promise<void> {
    if (!technician) throw new HttpError(403, 'Passkeys belong to technician accounts; this console signs in with its single passphrase');
    const binding = createHash('sha256').update(`register:${sessionHash}`).digest('hex');
    try {
      if (path === '/passkeys' && req.method === 'GET') return sendJson(res, 200, { passkeys: await this.passkeys.list(technician.id) });
      if (path === '/passkeys/options' && req.method === 'POST') {
        parse(Empty, await body(req));
        return sendJson(res, 200, await this.passkeys.registrationOptions(this.rp(), technician, binding));
      }
      if (path === '/passkeys' && req.method === 'POST') {
        return sendJson(res, 200, { passkey: await this.passkeys.register(this.rp(), technician, binding, await body(req)) });
      }
      const m = /^\/passkeys\/([^/]+)$/.exec(path);
      if (m && req.method === 'DELETE') {
        // A credential id is base64url: nothing to decode, and anything else names no passkey.
        const id = m[1]!;
        if (!CREDENTIAL_ID.test(id)) throw new HttpError(404, 'No such passkey');
        parse(Empty, await body(req));
        await this.passkeys.remove(technician, id);
        return sendJson(res, 200, { ok: true });
      }
    } catch (e) {
      if (e instanceof AppError) throw new HttpError(e.status, e.message);
      throw e;
    }
    throw new HttpError(404, 'Not found');
  }
}

async function body(req: IncomingMessage): Promise<unknown> {
  return readJsonBody(req, MAX_BODY).catch((e: unknown) => {
    if (e instanceof HttpError && e.message.includes('empty body')) return {};
    throw e;
  });
}
