// Passkeys (WebAuthn) of technician accounts, verified with @simplewebauthn/server. Registration needs a signed-in
// technician; sign-in works without a name (the authenticator offers its discoverable credentials for this site) or
// with one (then only that technician's passkeys are accepted). User verification is required both ways; the origin
// and RP ID come from the node's configured public URL (or localhost), never from the request. A signature counter
// that does not move forward marks a cloned authenticator and refuses the sign-in.
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Sql } from '../store/sql.ts';
import type { Store, Tx } from '../store/store.ts';
import type { Technician, TechnicianService } from './technicians.ts';
import { ChallengeSigner, type ChallengePurpose } from './webauthnChallenge.ts';
import { passkeyBinding, passkeyHolds } from './credentialBinding.ts';
import { bindingKey } from '../governance/binding.ts';
import { AuthenticationResponse, PasskeyName, readClientData, RegistrationResponse, Transports } from './webauthnWire.ts';

/** Who the browser must believe it talks to: the RP ID (a hostname) and the one origin answers may come from. */
export interface RelyingParty {
  id: string;
  origin: string;
}

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export type PasskeySignIn =
  | { ok: true; technician: Technician; passkey: Passkey }
  | { ok: false; code: PasskeyFailure; reason: string; technician: string | null };
export type PasskeyFailure = 'PASSKEY_UNKNOWN' | 'PASSKEY_CHALLENGE' | 'PASSKEY_REPLAYED' | 'PASSKEY_ORIGIN' | 'PASSKEY_REJECTED' | 'PASSKEY_CLONED';

// The library is loaded on the first passkey request, not at start: it costs about 120 ms of CPU to load, and only team
// installs with passkeys use it.
let library: Promise<[typeof import('@simplewebauthn/server'), typeof import('@simplewebauthn/server/helpers')]> | undefined;
const webauthn = () => (library ??= Promise.all([import('@simplewebauthn/server'), import('@simplewebauthn/server/helpers')]));

/** A technician keeps a handful; the cap bounds what one account can write. */
export const MAX_PASSKEYS = 20;
const TIMEOUT_MS = 60_000;
const ALGORITHMS = [-8, -7, -257];

const Row = z.object({
  credential_id: z.string().min(1),
  technician_id: z.string().min(1),
  public_key: z.string().min(1),
  algorithm: z.coerce.number().int(),
  sign_count: z.coerce.number().int().min(0),
  name: z.string(),
  transports: z.string().transform((s): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      return null;
    }
  }).pipe(Transports),
  /** The stored text of `transports`, as it is bound. */
  transports_text: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  binding: z.string().nullable(),
});
type Row = z.infer<typeof Row>;
const toPasskey = (r: Row): Passkey => ({ id: r.credential_id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at });

export class PasskeyService {
  private readonly store: Store;
  private readonly technicians: TechnicianService;
  readonly challenges: ChallengeSigner;
  private readonly now: () => number;
  private readonly key: Buffer;
  constructor(store: Store, technicians: TechnicianService, hmacKey: Buffer, opts: { now?: () => number; challengeTtlMs?: number } = {}) {
    this.store = store;
    this.key = bindingKey(hmacKey);
    this.technicians = technicians;
    this.now = opts.now ?? Date.now;
    this.challenges = new ChallengeSigner(hmacKey, { now: this.now, ttlMs: opts.challengeTtlMs });
  }

  private async rows(where: string, params: unknown[], sql: Sql = this.store.sql): Promise<Row[]> {
    const rows = await sql.all(`SELECT credential_id, technician_id, public_key, algorithm, sign_count, name, transports, transports AS transports_text, created_at, last_used_at, binding FROM technician_passkeys WHERE ${where} ORDER BY created_at, credential_id`, params);
    return rows.map((r) => {
      const p = Row.safeParse(r);
      if (!p.success) throw new AppError('INTERNAL', 'a stored passkey row is malformed');
      return p.data;
    });
  }

  async list(technicianId: string): Promise<Passkey[]> {
    return (await this.rows('technician_id = ?', [technicianId])).map(toPasskey);
  }

  /** Options for navigator.credentials.create(): a discoverable credential with user verification, for this session only. */
  async registrationOptions(rp: RelyingParty, technician: Technician, sessionBinding: string) {
    const existing = await this.rows('technician_id = ?', [technician.id]);
    if (existing.length >= MAX_PASSKEYS) throw new AppError('CONFLICT', `at most ${MAX_PASSKEYS} passkeys per technician; remove one first`);
    const { generateRegistrationOptions } = (await webauthn())[0];
    return generateRegistrationOptions({
      rpName: 'Countersign', rpID: rp.id, userName: technician.name, userDisplayName: technician.name,
      userID: new TextEncoder().encode(technician.id) as Uint8Array<ArrayBuffer>,
      challenge: this.challenges.issue('register', sessionBinding), timeout: TIMEOUT_MS, attestationType: 'none',
      excludeCredentials: existing.map((r) => ({ id: r.credential_id, transports: r.transports })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
  }

  /** Verifies and stores a new passkey (audited, naming the technician). Anything wrong is BAD_INPUT: nothing is stored. */
  async register(rp: RelyingParty, technician: Technician, sessionBinding: string, input: unknown): Promise<Passkey> {
    const body = z.object({ name: PasskeyName, response: RegistrationResponse }).strict().safeParse(input);
    if (!body.success) throw new AppError('BAD_INPUT', body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { name, response } = body.data;
    const clientData = readClientData(response.response.clientDataJSON, 'webauthn.create');
    const challenge = this.checkChallenge(clientData.challenge, 'register', sessionBinding);
    if (!challenge.ok) throw new AppError('BAD_INPUT', `passkey not registered: ${challenge.reason}`);
    if (clientData.origin !== rp.origin) throw new AppError('BAD_INPUT', `passkey not registered: made on ${clientData.origin.slice(0, 100)}, not ${rp.origin}`);
    const [{ verifyRegistrationResponse }, { cose, decodeCredentialPublicKey }] = await webauthn();
    let info;
    try {
      const v = await verifyRegistrationResponse({ response, expectedChallenge: clientData.challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true, supportedAlgorithmIDs: ALGORITHMS });
      if (!v.verified) throw new Error('the attestation did not verify');
      info = v.registrationInfo;
    } catch (e) {
      throw new AppError('BAD_INPUT', `passkey not registered: ${messageOf(e)}`);
    }
    const cred = info.credential;
    const alg = decodeCredentialPublicKey(cred.publicKey).get(cose.COSEKEYS.alg);
    if (typeof alg !== 'number') throw new AppError('BAD_INPUT', 'passkey not registered: its public key names no algorithm');
    const createdAt = new Date(this.now()).toISOString();
    return this.store.write(async (tx) => {
      await this.spendChallenge(tx, challenge.hash, challenge.expiresAt, () => new AppError('BAD_INPUT', 'passkey not registered: this challenge was already answered'));
      if ((await this.rows('technician_id = ?', [technician.id], tx.sql)).length >= MAX_PASSKEYS) throw new AppError('CONFLICT', `at most ${MAX_PASSKEYS} passkeys per technician; remove one first`);
      if (await tx.sql.get('SELECT 1 AS x FROM technician_passkeys WHERE credential_id = ?', [cred.id])) throw new AppError('CONFLICT', 'this passkey is already registered');
      const bound = { credential_id: cred.id, technician_id: technician.id, public_key: Buffer.from(cred.publicKey).toString('base64url'), algorithm: alg,
        transports: JSON.stringify(response.response.transports ?? []), created_at: createdAt };
      await tx.sql.run('INSERT INTO technician_passkeys (credential_id, technician_id, public_key, algorithm, sign_count, created_at, name, transports, binding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [bound.credential_id, bound.technician_id, bound.public_key, alg, cred.counter, createdAt, name, bound.transports, passkeyBinding(this.key, bound)]);
      await tx.audit({ event: 'console', decision: 'info', outcome: 'passkey registered', rule: technician.name,
        detail: { technicianId: technician.id, technician: technician.name, authenticator: name, credentialId: cred.id.slice(0, 16), backedUp: info.credentialBackedUp } });
      return { id: cred.id, name, createdAt, lastUsedAt: null };
    });
  }

  /** Removes one of the technician's passkeys (audited; `actor` when someone else removes it: the CLI, for a lost device). */
  async remove(technician: Technician, credentialId: string, actor: string = technician.name): Promise<void> {
    await this.store.write(async (tx) => {
      const [row] = await this.rows('credential_id = ? AND technician_id = ?', [credentialId, technician.id], tx.sql);
      if (!row) throw new AppError('NOT_FOUND', 'no such passkey of this technician');
      await tx.sql.run('DELETE FROM technician_passkeys WHERE credential_id = ? AND technician_id = ?', [credentialId, technician.id]);
      await tx.audit({ event: 'console', decision: 'info', outcome: 'passkey removed', rule: actor,
        detail: { technicianId: technician.id, technician: technician.name, authenticator: row.name, credentialId: credentialId.slice(0, 16) } });
    });
  }

  /** Options for navigator.credentials.get(): no credential list (nothing about any account is revealed), user verification required. */
  async authenticationOptions(rp: RelyingParty, name?: string) {
    const { generateAuthenticationOptions } = (await webauthn())[0];
    return generateAuthenticationOptions({ rpID: rp.id, challenge: this.challenges.issue('login', loginBinding(name)), timeout: TIMEOUT_MS, userVerification: 'required' });
  }

  /**
   * Checks a sign-in answer. Malformed input throws BAD_INPUT (no verdict); every other refusal is a failure the caller
   * audits and throttles like a wrong passphrase.
   */
  async authenticate(rp: RelyingParty, input: unknown): Promise<PasskeySignIn> {
    const body = z.object({ response: AuthenticationResponse, name: z.string().trim().min(1).max(100).optional() }).strict().safeParse(input);
    if (!body.success) throw new AppError('BAD_INPUT', body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { response, name } = body.data;
    const clientData = readClientData(response.response.clientDataJSON, 'webauthn.get');
    const fail = (code: PasskeyFailure, reason: string, technician: string | null = null): PasskeySignIn => ({ ok: false, code, reason, technician });
    const challenge = this.checkChallenge(clientData.challenge, 'login', loginBinding(name));
    if (!challenge.ok) return fail('PASSKEY_CHALLENGE', challenge.reason);
    // Checked again when it is spent (two nodes may race); asked first so a replay is named as one, not as a stale counter.
    if (await this.store.sql.get('SELECT 1 AS x FROM webauthn_challenges_used WHERE challenge_hash = ?', [challenge.hash])) return fail('PASSKEY_REPLAYED', 'this challenge was already answered');
    if (clientData.origin !== rp.origin) return fail('PASSKEY_ORIGIN', `signed for ${clientData.origin.slice(0, 100)}, not ${rp.origin}`);
    const [row] = await this.rows('credential_id = ?', [response.id]);
    if (!row) return fail('PASSKEY_UNKNOWN', 'no account has this passkey');
    if (!passkeyHolds(this.key, { ...row, transports: row.transports_text })) {
      this.technicians.reportTampered('passkey', { technicianId: row.technician_id, credentialId: row.credential_id.slice(0, 16) });
      return fail('PASSKEY_UNKNOWN', 'the stored passkey does not match its binding (changed in the database?)');
    }
    const technician = await this.technicians.get(row.technician_id);
    if (!technician || technician.disabledAt) return fail('PASSKEY_UNKNOWN', 'the account of this passkey is disabled', technician?.name ?? null);
    if (name !== undefined && technician.name !== name) return fail('PASSKEY_UNKNOWN', `the passkey is not ${name}'s`, technician.name);
    const handle = response.response.userHandle;
    if (handle !== undefined && Buffer.from(handle, 'base64url').toString('utf8') !== technician.id) return fail('PASSKEY_REJECTED', 'the passkey names another account', technician.name);
    const { verifyAuthenticationResponse } = (await webauthn())[0];
    let newCounter: number;
    try {
      const v = await verifyAuthenticationResponse({
        response, expectedChallenge: clientData.challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true,
        credential: { id: row.credential_id, publicKey: Buffer.from(row.public_key, 'base64url') as Uint8Array<ArrayBuffer>, counter: row.sign_count, transports: row.transports },
      });
      if (!v.verified) return fail('PASSKEY_REJECTED', 'the signature did not verify', technician.name);
      newCounter = v.authenticationInfo.newCounter;
    } catch (e) {
      const message = messageOf(e);
      if (/counter value/i.test(message)) return fail('PASSKEY_CLONED', `signature counter did not advance (stored ${row.sign_count}): a cloned authenticator?`, technician.name);
      return fail('PASSKEY_REJECTED', `the answer did not verify: ${message}`, technician.name);
    }
    const usedAt = new Date(this.now()).toISOString();
    const spent = await this.store.write(async (tx) => {
      if (!(await this.spendChallenge(tx, challenge.hash, challenge.expiresAt))) return fail('PASSKEY_REPLAYED', 'this challenge was already answered', technician.name);
      // Conditional on the counter read: two sign-ins with the same counter on two nodes cannot both pass.
      const moved = await tx.sql.run('UPDATE technician_passkeys SET sign_count = ?, last_used_at = ? WHERE credential_id = ? AND sign_count = ?',
        [newCounter, usedAt, row.credential_id, row.sign_count]);
      if (moved.changes !== 1) return fail('PASSKEY_CLONED', 'the signature counter changed during this sign-in: a cloned authenticator?', technician.name);
      return undefined;
    });
    return spent ?? { ok: true, technician, passkey: { ...toPasskey(row), lastUsedAt: usedAt } };
  }

  private checkChallenge(challenge: string, purpose: ChallengePurpose, binding: string) {
    return this.challenges.check(challenge, purpose, binding);
  }

  /** Records a challenge as answered; false (or the given error) when it already was. Forgets the expired ones. */
  private async spendChallenge(tx: Tx, hash: string, expiresAt: Date, already?: () => AppError): Promise<boolean> {
    await tx.sql.run('DELETE FROM webauthn_challenges_used WHERE expires_at <= ?', [new Date(this.now()).toISOString()]);
    const r = await tx.sql.run('INSERT INTO webauthn_challenges_used (challenge_hash, expires_at) VALUES (?, ?) ON CONFLICT (challenge_hash) DO NOTHING', [hash, expiresAt.toISOString()]);
    if (r.changes === 1) return true;
    if (already) throw already();
    return false;
  }
}

const loginBinding = (name: string | undefined) => `login:${name?.trim() ?? ''}`;
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 300);
