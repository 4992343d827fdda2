import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { App } from '../app.ts';
import { APPROVAL_STATUSES, ApprovalError } from '../governance/approvals.ts';
import { auditLogFor } from '../audit/log.ts';
import { ConsoleAuth } from './consoleAuth.ts';
import { HttpError, readJsonBody, remoteOf, sendJson } from './util.ts';
import { RateLimiter } from '../governance/rateLimiter.ts';

export const CONSOLE_PREFIX = '/console/api';
const MAX_BODY = 64 * 1024;

const LoginBody = z.object({ passphrase: z.string().min(1).max(1024) }).strict();
const DenyBody = z.object({ reason: z.string().trim().min(1, 'a reason is required: it goes back to the model').max(2000) }).strict();
const ApproveBody = z.object({}).strict();
const ApprovalQuery = z.object({
  status: z.string().optional().transform((s) => (s ? s.split(',') : undefined)).pipe(z.array(z.enum(APPROVAL_STATUSES)).optional()),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const ID = /^[0-9a-f-]{36}$/;

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

/** The technician's side: the only place approvals are decided. MCP keys are refused here. */
export class ConsoleApi {
  private readonly auth: ConsoleAuth;
  private readonly loginLimiter = new RateLimiter();

  private readonly app: App;
  constructor(app: App) {
    this.app = app;
    this.auth = new ConsoleAuth(app.db);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.headers['x-api-key'] !== undefined) {
      throw new HttpError(401, 'The console API does not accept MCP API keys; log in with the admin passphrase.', -32001);
    }
    const path = url.pathname.slice(CONSOLE_PREFIX.length);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // A JSON content type forces a CORS preflight, which this server never grants: no cross-site form posts.
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'Content-Type must be application/json');
    }
    if (path === '/login' && req.method === 'POST') return this.login(req, res);
    const session = this.auth.session(req);
    if (!session) throw new HttpError(401, 'Not logged in to the console', -32001);
    if (path === '/logout' && req.method === 'POST') {
      this.auth.logout(session.tokenHash);
      return sendJson(res, 200, { ok: true }, { 'Set-Cookie': this.auth.clearCookie() });
    }
    if (path === '/session' && req.method === 'GET') return sendJson(res, 200, { authenticated: true, expiresAt: session.expiresAt });
    if (path === '/approvals' && req.method === 'GET') {
      const q = parse(ApprovalQuery, Object.fromEntries(url.searchParams));
      this.app.approvals.expireDue();
      return sendJson(res, 200, { approvals: this.app.approvals.list({ status: q.status, limit: q.limit }) });
    }
    const m = /^\/approvals\/([^/]+)(?:\/(approve|deny))?$/.exec(path);
    if (m) {
      const id = m[1]!;
      if (!ID.test(id)) throw new HttpError(404, 'No such approval');
      if (!m[2] && req.method === 'GET') {
        const a = this.app.approvals.get(id);
        if (!a) throw new HttpError(404, 'No such approval');
        return sendJson(res, 200, { approval: a });
      }
      if (m[2] && req.method === 'POST') {
        const body = await readJsonBody(req, MAX_BODY).catch((e) => {
          if (m[2] === 'approve' && e instanceof HttpError && e.message.includes('empty body')) return {};
          throw e;
        });
        try {
          const approval = m[2] === 'approve'
            ? (parse(ApproveBody, body), this.app.approvals.approve(id, 'console-admin'))
            : this.app.approvals.deny(id, 'console-admin', parse(DenyBody, body).reason);
          return sendJson(res, 200, { approval });
        } catch (e) {
          if (e instanceof ApprovalError) throw new HttpError(e.status, e.message);
          throw e;
        }
      }
    }
    throw new HttpError(404, 'Not found');
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = remoteOf(req);
    const gate = this.loginLimiter.take(`login:${remote}`, 10);
    if (!gate.ok) throw new HttpError(429, 'Too many login attempts', -32000, { 'Retry-After': String(gate.retryAfterSeconds) });
    const { passphrase } = parse(LoginBody, await readJsonBody(req, MAX_BODY));
    const session = await this.auth.login(passphrase);
    if (!session) {
      auditLogFor(this.app.db).append({ event: 'console', decision: 'denied', code: 'BAD_PASSPHRASE', rule: 'console_login', remote });
      throw new HttpError(401, 'Wrong passphrase', -32001);
    }
    auditLogFor(this.app.db).append({ event: 'console', decision: 'allowed', outcome: 'login', rule: 'console_login', remote });
    sendJson(res, 200, { ok: true, expiresAt: session.expiresAt }, { 'Set-Cookie': this.auth.cookie(session.token, false) });
  }
}
