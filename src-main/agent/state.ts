// The agent's state directory: its identity (agent.json, 0600) and its command journal (journal.json, 0600).
// The journal is what makes execution at-most-once: a command id or nonce seen once is never run again.
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CommandResult } from './protocol.ts';

export const Identity = z.object({
  version: z.literal(1),
  url: z.string().url(),
  agentId: z.string().uuid(),
  deviceId: z.string().min(1),
  secret: z.string().regex(/^csa_[A-Za-z0-9_-]{43}$/),
  tenant: z.string(),
  consolePublicKey: z.string().includes('BEGIN PUBLIC KEY'),
  certPem: z.string().includes('BEGIN CERTIFICATE'),
  certSha256: z.string().regex(/^[0-9a-f]{64}$/),
  hostname: z.string().optional(),
  /** The X25519 key secret parameters are sealed to (PKCS#8 PEM); absent for agents enrolled before sealing. */
  boxPrivateKey: z.string().includes('BEGIN PRIVATE KEY').optional(),
  enrolledAt: z.string(),
});
export type Identity = z.infer<typeof Identity>;

/** Writes a file atomically (temp + fsync + rename) with mode 0600. */
export function writeSecretFile(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

export const identityPath = (dir: string) => join(dir, 'agent.json');

export function loadIdentity(dir: string): Identity {
  const file = identityPath(dir);
  if (!existsSync(file)) throw new Error(`${dir} holds no enrolled agent; run: countersign agent enroll --url URL --token T --state-dir ${dir}`);
  return Identity.parse(JSON.parse(readFileSync(file, 'utf8')));
}

const Entry = z.object({
  nonce: z.string(),
  state: z.enum(['started', 'finished', 'acked']),
  pid: z.number().int().optional(),
  at: z.string(),
  result: CommandResult.optional(),
  /**
   * The last moment this agent would accept the command (its validity and the clock skew, ms since the epoch): an
   * acknowledged entry is forgotten after it. Entries written before validity existed have none and are kept.
   */
  until: z.number().optional(),
});
type Entry = z.infer<typeof Entry>;
const JournalFile = z.object({
  version: z.literal(1),
  commands: z.record(z.string(), Entry),
  /** Forgotten entries were valid until at most this (ms): a command valid no later than this is refused (verify.ts). */
  forgottenBefore: z.number().optional(),
});

/**
 * The command journal. Every command id and nonce is kept until the command is past its validity (protocol.ts) and
 * its result acknowledged: then it would be refused as expired anyway, so the journal stays the size of a week's
 * commands, not of every command the machine ever ran.
 */
export class Journal {
  private readonly file: string;
  private data: z.infer<typeof JournalFile>;
  private readonly nonces = new Set<string>();
  private readonly now: () => number;

  constructor(dir: string, now: () => number = Date.now) {
    this.file = join(dir, 'journal.json');
    this.now = now;
    this.data = existsSync(this.file) ? JournalFile.parse(JSON.parse(readFileSync(this.file, 'utf8'))) : { version: 1, commands: {} };
    this.forget();
  }

  /** Valid no later than this, a command may have been forgotten: it is refused as expired (0: nothing forgotten yet). */
  get forgottenBefore(): number {
    return this.data.forgottenBefore ?? 0;
  }

  /** How many commands the journal holds. */
  get size(): number {
    return Object.keys(this.data.commands).length;
  }

  /** Drops acknowledged entries past their validity, raising forgottenBefore to cover them; the next save writes it. */
  private forget(): void {
    const now = this.now();
    let forgotten = this.forgottenBefore;
    for (const [id, e] of Object.entries(this.data.commands)) {
      if (e.state !== 'acked' || e.until === undefined || e.until >= now) continue;
      delete this.data.commands[id];
      forgotten = Math.max(forgotten, e.until);
    }
    if (forgotten > this.forgottenBefore) this.data.forgottenBefore = forgotten;
    this.nonces.clear();
    for (const e of Object.values(this.data.commands)) this.nonces.add(e.nonce);
  }

  private save(): void {
    writeSecretFile(this.file, JSON.stringify(this.data));
  }

  /** True when this command id or nonce was ever started here: running it again would be a replay. */
  seen(commandId: string, nonce: string): boolean {
    return commandId in this.data.commands || this.nonces.has(nonce);
  }

  /**
   * Recorded durably before the command starts: a crash after this point can never lead to a second run. `until`: the
   * last moment the agent would accept it (verify.ts); without one the entry is never forgotten.
   */
  start(commandId: string, nonce: string, until?: number): void {
    this.data.commands[commandId] = { nonce, state: 'started', at: new Date(this.now()).toISOString(), ...(until === undefined ? {} : { until }) };
    this.nonces.add(nonce);
    this.save();
  }

  setPid(commandId: string, pid: number): void {
    const e = this.data.commands[commandId];
    if (!e) return;
    e.pid = pid;
    this.save();
  }

  finish(result: CommandResult): void {
    const e = this.data.commands[result.commandId];
    if (!e) return;
    e.state = 'finished';
    e.result = result;
    this.save();
  }

  /** The console stored the result: keep only the id and nonce. */
  ack(commandId: string): void {
    const e = this.data.commands[commandId];
    if (!e || e.state !== 'finished') return;
    e.state = 'acked';
    delete e.result;
    delete e.pid;
    this.forget();
    this.save();
  }

  /** Results the console has not acknowledged yet, oldest first. */
  outbox(): CommandResult[] {
    return Object.values(this.data.commands).filter((e) => e.state === 'finished' && e.result).sort((a, b) => a.at.localeCompare(b.at)).map((e) => e.result!);
  }

  /** Commands a previous agent process started and never finished (it was killed): they end failed, never re-run. */
  interrupted(): { commandId: string; pid: number | undefined; at: string }[] {
    return Object.entries(this.data.commands).filter(([, e]) => e.state === 'started').map(([commandId, e]) => ({ commandId, pid: e.pid, at: e.at }));
  }
}
