// A small seeded PRNG (the demo seed's mulberry32) so that generated test inputs and schedules are reproducible from one printed seed.
import { makeRng } from '../../src-main/demo/seed.ts';

export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
  /** A lowercase hex string of `n` characters. */
  hex(n: number): string;
}

export function createRng(seed: number): Rng {
  const base = makeRng(seed);
  return {
    ...base,
    seed,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return base.pick(items);
    },
    hex: (n) => Array.from({ length: n }, () => base.int(0, 15).toString(16)).join(''),
  };
}

/** A seed from the environment (to replay a run) or a fresh one; the caller prints it. */
export function seedFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback >>> 0;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${raw}`);
  return n >>> 0;
}
