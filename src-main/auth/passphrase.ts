import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;

/** scrypt's cost: N=2^15, r=8, about 32 MiB and 100 ms a guess. Stored with each hash as scrypt$N$r$p$salt$hash. */
export const DEFAULT_COST_LOG2 = 15;
/**
 * COUNTERSIGN_PASSPHRASE_COST_LOG2 sets log2 N for new hashes and the floor every stored hash must meet, as Django's
 * test settings swap in a fast hasher: the test suites derive hundreds of passphrases (each console login, each init),
 * and at the product's cost that was 40 s of CPU a run. Never below 2^10; the product's own default is 2^15.
 */
export const COST_ENV = 'COUNTERSIGN_PASSPHRASE_COST_LOG2';
const MIN_COST_LOG2 = 10;
const R = 8;
const P = 1;
const MAXMEM = 64 * 1024 * 1024;

function costLog2(): number {
  const v = process.env[COST_ENV];
  if (v === undefined || v === '') return DEFAULT_COST_LOG2;
  const n = Number(v);
  if (!Number.isInteger(n) || n < MIN_COST_LOG2 || n > 20) throw new Error(`${COST_ENV} must be an integer from ${MIN_COST_LOG2} to 20 (got '${v}')`);
  return n;
}

/** N for new hashes; a stored hash with a smaller N (or another r) is refused, not verified: no downgraded row signs in. */
export function passphraseCost(): { N: number; r: number; p: number } {
  return { N: 2 ** costLog2(), r: R, p: P };
}

export async function hashPassphrase(passphrase: string): Promise<string> {
  const { N, r, p } = passphraseCost();
  const salt = randomBytes(16);
  const hash = await scryptAsync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: MAXMEM });
  return ['scrypt', N, r, p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPassphrase(passphrase: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const cost = passphraseCost();
  const N = Number(n);
  // Under the floor, or not the shape this code writes: refused before any work (a huge N would also cost the server).
  if (!Number.isInteger(N) || N < cost.N || N > 2 ** 20 || Number(r) !== R || Number(p) !== P) return false;
  const expected = Buffer.from(hash, 'base64');
  if (expected.length !== 32) return false;
  const got = await scryptAsync(passphrase.normalize('NFC'), Buffer.from(salt, 'base64'), expected.length, { N, r: R, p: P, maxmem: MAXMEM });
  return timingSafeEqual(got, expected);
}

/** A valid scrypt string at the current cost that no passphrase matches: a missing account costs what a wrong passphrase does. */
export function unmatchableHash(): string {
  return `scrypt$${passphraseCost().N}$${R}$${P}$${Buffer.alloc(16, 7).toString('base64')}$${Buffer.alloc(32, 9).toString('base64')}`;
}

export const MIN_PASSPHRASE_LENGTH = 10;
