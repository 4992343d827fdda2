// Suites that must hold on both stores run once per store: SQLite (the embedded default) and PostgreSQL (team mode),
// from the same test code. The PostgreSQL variant needs the run's cluster (test/globalSetup.ts); without one it is
// skipped, and its name says why.
import { describe, inject } from 'vitest';
import { createDatabase } from './pgCluster.ts';

export type StoreKind = 'sqlite' | 'postgres';

const adminUrl = inject('pgAdminUrl');
const unavailable = inject('pgUnavailable');

export const postgresAvailable = (): boolean => !!adminUrl;

/** `describe` once per store: `name [SQLite]`, then `name [PostgreSQL]`. */
export function describeStores(name: string, fn: (kind: StoreKind) => void): void {
  describe(`${name} [SQLite]`, () => fn('sqlite'));
  if (adminUrl) describe(`${name} [PostgreSQL]`, () => fn('postgres'));
  else describe.skip(`${name} [PostgreSQL: skipped, ${unavailable ?? 'no cluster'}]`, () => fn('postgres'));
}

/** A fresh, empty database on the run's cluster; its URL. */
export async function newDatabase(label: string): Promise<string> {
  if (!adminUrl) throw new Error(`no PostgreSQL for this run: ${unavailable}`);
  return createDatabase(adminUrl, label);
}

/** The store URL of a new install of this kind (undefined: SQLite, in the data directory). */
export async function storeUrlFor(kind: StoreKind, label: string): Promise<string | undefined> {
  return kind === 'postgres' ? newDatabase(label) : undefined;
}
