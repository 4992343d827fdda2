import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Store } from '../store/store.ts';
import type { Technician, TechnicianService } from '../auth/technicians.ts';
import { verifyPassphrase } from '../auth/passphrase.ts';
import { bindingKey, sessionKey } from '../governance/binding.ts';
import { readAdminPassphraseHash, sessionBinding, sessionHolds } from '../auth/credentialBinding.ts';
import { hmacSha256 } from '../hmac.ts';

export const COOKIE = 'cs_console';
const SESSION_MS = 12 * 60 * 60_000;

/**
 * Sessions of the web console: a random token in an HttpOnly SameSite=Strict cookie, stored as its HMAC under a key
 * derived from the install secret (a row written into the database matches no token), the row itself bound (whose
 * session it is and until when: re-pointing one's own session at another account, or extending it, shows).
 */
export class ConsoleAuth {
  private readonly store: Store;
  private readonly technicians: TechnicianService;
  private readonly tokenKey: Buffer;
  private readonly key: Buffer;
  constructor(store: Store, technicians: TechnicianService, hmacKey: Buffer) {
    this.store = store;
    this.technicians = technicians;
    this.tokenKey = sessionKey(hmacKey);
    this.key = bindingKey(hmacKey);
  }

  private tokenHash(token: string): string {
    return hmacSha256(this.tokenKey).update(token).digest('hex');
  }

  /** The single console passphrase's scrypt string; none when unset or when the stored one does not verify. */
  async passphraseHash(): Promise<string | undefined> {
    const hash = await readAdminPassphraseHash(this.key, this.store.sql);
    if (hash !== 'tampered') return hash;
    this.technicians.reportTampered('admin passphrase setting', { setting: 'adminPassphraseHash' });
    return undefined;
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
    const row = { token_hash: this.tokenHash(token), technician_id: technician?.id ?? null, created_at: now.toISOString(), expires_at: expiresAt };
    await this.store.write(async (tx) => {
      await tx.sql.run('DELETE FROM console_sessions WHERE expires_at <= ?', [now.toISOString()]);
      await tx.sql.run('INSERT INTO console_sessions (token_hash, created_at, expires_at, technician_id, binding) VALUES (?, ?, ?, ?, ?)',
        [row.token_hash, row.created_at, row.expires_at, row.technician_id, sessionBinding(this.key, row)]);
    });
    return { token, expiresAt, technician };
  }

  /** The session a request's cookie names; a technician's ends as soon as their account is disabled or removed. */
  async session(req: IncomingMessage): Promise<{ tokenHash: string; expiresAt: string; technician: Technician | null } | undefined> {
    const token = readCookie(req, COOKIE);
    if (!token || token.length > 100) return undefined;
    const row = await this.store.sql.get<{ token_hash: string; created_at: string; expires_at: string; technician_id: string | null; binding: string | null }>(
      'SELECT token_hash, created_at, expires_at, technician_id, binding FROM console_sessions WHERE token_hash = ?', [this.tokenHash(token)]);
    if (!row || row.expires_at <= new Date().toISOString()) return undefined;
    if (!sessionHolds(this.key, row)) {
      this.technicians.reportTampered('console session', { technicianId: row.technician_id, tokenHash: row.token_hash.slice(0, 12) });
      return undefined;
    }
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
