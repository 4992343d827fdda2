import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../store/store.ts';
import type { Technician, TechnicianService } from '../auth/technicians.ts';
import { verifyPassphrase } from '../auth/passphrase.ts';

export const COOKIE = 'cs_console';
const SESSION_MS = 12 * 60 * 60_000;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Admin sessions of the web console: a random token in an HttpOnly SameSite=Strict cookie, stored hashed. */
export class ConsoleAuth {
  private readonly store: Store;
  private readonly technicians: TechnicianService;
  constructor(store: Store, technicians: TechnicianService) {
    this.store = store;
    this.technicians = technicians;
  }

  async passphraseHash(): Promise<string | undefined> {
    const row = await this.store.sql.get<{ value_json: string }>(`SELECT value_json FROM settings WHERE name = 'adminPassphraseHash'`);
    return row ? (JSON.parse(row.value_json) as string) : undefined;
  }

  /**
   * With technician accounts (team mode) a login names one: `name` and its passphrase. Without any, the install's single
   * console passphrase, as before. Returns the session, or undefined for any wrong combination (the same answer).
   */
  async login(passphrase: string, name?: string): Promise<{ token: string; expiresAt: string; technician: Technician | null } | undefined> {
    let technician: Technician | null = null;
    if ((await this.technicians.count()) > 0) {
      if (!name) return undefined;
      technician = (await this.technicians.authenticate(name, passphrase)) ?? null;
      if (!technician) return undefined;
    } else {
      const stored = await this.passphraseHash();
      if (name || !stored || !(await verifyPassphrase(passphrase, stored))) return undefined;
    }
    return this.openSession(technician);
  }

  /** A new session for this technician (null: the single-passphrase console), once their credential has been checked. */
  async openSession(technician: Technician | null): Promise<{ token: string; expiresAt: string; technician: Technician | null }> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + SESSION_MS).toISOString();
    await this.store.write(async (tx) => {
      await tx.sql.run('DELETE FROM console_sessions WHERE expires_at <= ?', [now.toISOString()]);
      await tx.sql.run('INSERT INTO console_sessions (token_hash, created_at, expires_at, technician_id) VALUES (?, ?, ?, ?)',
        [sha(token), now.toISOString(), expiresAt, technician?.id ?? null]);
    });
    return { token, expiresAt, technician };
  }

  /** The session a request's cookie names; a technician's ends as soon as their account is disabled or removed. */
  async session(req: IncomingMessage): Promise<{ tokenHash: string; expiresAt: string; technician: Technician | null } | undefined> {
    const token = readCookie(req, COOKIE);
    if (!token || token.length > 100) return undefined;
    const row = await this.store.sql.get<{ token_hash: string; expires_at: string; technician_id: string | null }>(
      'SELECT token_hash, expires_at, technician_id FROM console_sessions WHERE token_hash = ?', [sha(token)]);
    if (!row || row.expires_at <= new Date().toISOString()) return undefined;
    let technician: Technician | null = null;
    if (row.technician_id) {
      technician = (await this.technicians.get(row.technician_id)) ?? null;
      if (!technician || technician.disabledAt) return undefined;
    }
    return { tokenHash: row.token_hash, expiresAt: row.expires_at, technician };
  }

  async logout(tokenHash: string): Promise<void> {
    await this.store.write(async (tx) => {
      await tx.sql.run('DELETE FROM console_sessions WHERE token_hash = ?', [tokenHash]);
    });
  }

  cookie(token: string, secure: boolean): string {
    return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}${secure ? '; Secure' : ''}`;
  }

  clearCookie(): string {
    return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
