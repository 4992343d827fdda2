// The agent's gate: only a command the console signed, for this device, never seen before, may run.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CLOCK_SKEW_MS, commandValidUntil, COMMAND_VALIDITY_MS, signingBytes, type CommandEnvelope, type RefusalCode } from './protocol.ts';
import type { Journal } from './state.ts';

/** A time for a message; a signed time far outside the calendar (year 275760 and on) as its number. */
const iso = (ms: number) => (Number.isNaN(new Date(ms).getTime()) ? String(ms) : new Date(ms).toISOString());

/** The last moment an agent accepts a command: the end of its validity, plus the clock skew it tolerates. */
export const acceptedUntil = (c: Pick<CommandEnvelope, 'issuedAt' | 'notBefore'>) => commandValidUntil(c) + CLOCK_SKEW_MS;

export type Verdict = { ok: true } | { ok: false; code: RefusalCode; message: string };

export class CommandVerifier {
  private readonly key: KeyObject;
  private readonly deviceId: string;
  private readonly journal: Journal;
  private readonly now: () => number;
  constructor(consolePublicKeyPem: string, deviceId: string, journal: Journal, now: () => number = Date.now) {
    this.key = createPublicKey(consolePublicKeyPem);
    this.deviceId = deviceId;
    this.journal = journal;
    this.now = now;
  }

  check(c: CommandEnvelope): Verdict {
    if (!c.signature) return { ok: false, code: 'UNSIGNED', message: `command ${c.commandId} carries no console signature` };
    let good = false;
    try {
      good = verify(null, signingBytes(c), this.key, Buffer.from(c.signature, 'base64'));
    } catch {
      good = false;
    }
    if (!good) return { ok: false, code: 'BAD_SIGNATURE', message: `the console signature does not match command ${c.commandId} (altered after it was signed, or not signed by this console)` };
    if (c.deviceId !== this.deviceId) return { ok: false, code: 'WRONG_DEVICE', message: `command ${c.commandId} is signed for device ${c.deviceId}, this is ${this.deviceId}` };
    const now = this.now();
    if (c.notBefore && Date.parse(c.notBefore) - CLOCK_SKEW_MS > now) {
      return { ok: false, code: 'EARLY', message: `command ${c.commandId} is approved to run from ${c.notBefore}, not now` };
    }
    // Past its validity, or older than what the journal still remembers (its ids and nonces were forgotten): refused
    // whatever this machine's clock says now, so a clock set back cannot bring a forgotten command back.
    const until = acceptedUntil(c);
    if (!(until >= now) || until <= this.journal.forgottenBefore) {
      const why = Number.isNaN(until) ? 'carries no valid issue time'
        : until <= this.journal.forgottenBefore ? `is older than the commands this agent still remembers (valid until ${iso(until)})`
          : `was valid until ${iso(until - CLOCK_SKEW_MS)} (${COMMAND_VALIDITY_MS / 86_400_000} days from its issue or its scheduled start)`;
      return { ok: false, code: 'EXPIRED', message: `command ${c.commandId} ${why}; it is not run` };
    }
    if (this.journal.seen(c.commandId, c.nonce)) return { ok: false, code: 'REPLAY', message: `command ${c.commandId} (nonce ${c.nonce}) was already received by this agent; it is not run again` };
    return { ok: true };
  }
}
