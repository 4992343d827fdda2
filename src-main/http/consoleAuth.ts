import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Db } from '../store/db.ts';
import { verifyPassphrase } from '../auth/passphrase.ts';

export const COOKIE = 'cs_console';
const SESSION_MS = 12 * 60 * 60_000;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Admin sessions of the web console: a random token in an HttpOnly SameSite=Strict cookie, stored hashed. */
export class ConsoleAuth {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;}

  passphraseHash(): string | undefined {
    const row = this.db.prepare(`SELECT value_json FROM settings WHERE name = 'adminPassphraseHash'`).get() as { value_json: string } | undefined;
    return row ? (JSON.parse(row.value_json) as string) : undefined;
  }

  async login(passphrase: string): Promise<{ token: string; expiresAt: string } | undefined> {
    const stored = this.passphraseHash();
    if (!stored || !(await verifyPassphrase(passphrase, stored))) return undefined;
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + SESSION_MS).toISOString();
    this.db.prepare('DELETE FROM console_sessions WHERE expires_at <= ?').run(now.toISOString());
    this.db.prepare('INSERT INTO console_sessions (token_hash, created_at, expires_at) VALUES (?, ?, ?)').run(sha(token), now.toISOString(), expiresAt);
    return { token, expiresAt };
  }

  session(req: IncomingMessage): { tokenHash: string; expiresAt: string } | undefined {
    const token = readCookie(req, COOKIE);
    if (!token || token.length > 100) return undefined;
    const row = this.db.prepare('SELECT token_hash, expires_at FROM console_sessions WHERE token_hash = ?').get(sha(token)) as { token_hash: string; expires_at: string } | undefined;
    if (!row || row.expires_at <= new Date().toISOString()) return undefined;
    return { tokenHash: row.token_hash, expiresAt: row.expires_at };
  }

  logout(tokenHash: string): void {
    this.db.prepare('DELETE FROM console_sessions WHERE token_hash = ?').run(tokenHash);
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
