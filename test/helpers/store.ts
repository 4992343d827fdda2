// A Store over a SQLite file for suites that work below the app (the audit log, group commit): the real store, with a
// signing key of its own (it signs nothing here).
import { generateKeyPairSync } from 'node:crypto';
import { openDatabase, type Db, type OpenOptions } from '../../src-main/store/db.ts';
import { sqliteStore, type Store } from '../../src-main/store/store.ts';

export function storeOver(db: Db): Store {
  return sqliteStore(db, { signingKey: generateKeyPairSync('ed25519').privateKey });
}

export function openStore(file: string, opts: OpenOptions = {}): { db: Db; store: Store } {
  const db = openDatabase(file, opts);
  return { db, store: storeOver(db) };
}
