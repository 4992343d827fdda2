// The agent's gate: only a command the console signed, for this device, never seen before, may run.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { signingBytes, type CommandEnvelope, type RefusalCode } from './protocol.ts';
import type { Journal } from './state.ts';

/** Tolerated difference between the console's clock and this machine's for scheduled commands. */
const CLOCK_SKEW_MS = 5 * 60_000;

export type Verdict = { ok: true } | { ok: false; code: RefusalCode; message: string };

export class CommandVerifier {
  private readonly key: KeyObject;
  private readonly deviceId: string;
  private readonly journal: Journal;
  constructor(consolePublicKeyPem: string, deviceId: string, journal: Journal) {
    this.key = createPublicKey(consolePublicKeyPem);
    this.deviceId = deviceId;
    this.journal = journal;
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
    if (c.notBefore && Date.parse(c.notBefore) - CLOCK_SKEW_MS > Date.now()) {
      return { ok: false, code: 'EARLY', message: `command ${c.commandId} is approved to run from ${c.notBefore}, not now` };
    }
    if (this.journal.seen(c.commandId, c.nonce)) return { ok: false, code: 'REPLAY', message: `command ${c.commandId} (nonce ${c.nonce}) was already received by this agent; it is not run again` };
    return { ok: true };
  }
}
