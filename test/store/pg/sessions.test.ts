// The PostgreSQL store's sessions: every one a store opens asks the server for keepalives that find a dead node in
// about 25 s and ends a transaction left idle for two minutes, so a node that dies or hangs mid-batch does not hold the
// chain's advisory lock (every other node's writes) for the server's default two hours. The CLI's read-only client
// outlives the server ending its session between statements: the next query fails with the reason, the process does not.
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgReader, openPgStore, withoutOptions, type PgStore } from '../../../src-main/store/pg/store.ts';
import { parse } from 'pg-connection-string';
import { newDatabase, postgresAvailable } from '../../helpers/stores.ts';
import { until } from '../../helpers/wait.ts';

describe('a URL\'s own options', () => {
  it('are taken out of the query only; URLs the driver reads and WHATWG does not (unix sockets) pass as they are', () => {
    for (const url of ['postgres://user@/db?host=/var/run/postgresql', 'postgres://u:p@/db', 'postgresql://h/db']) expect(withoutOptions(url)).toEqual({ url, options: undefined });
    const socket = withoutOptions('postgres://user@/db?host=/tmp&options=-c%20statement_timeout%3D5000');
    expect(socket.options).toBe('-c statement_timeout=5000');
    expect(parse(socket.url)).toMatchObject({ host: '/tmp', user: 'user', database: 'db' });
    expect(parse(socket.url).options).toBeUndefined();
    expect(withoutOptions('postgresql://u:p%40ss@h:5432/d?options=-c%20a%3D1')).toEqual({ url: 'postgresql://u:p%40ss@h:5432/d', options: '-c a=1' });
  });
});

describe.skipIf(!postgresAvailable())(`PostgreSQL sessions${postgresAvailable() ? '' : ' [skipped: no PostgreSQL for this run]'}`, () => {
  let url: string;
  let store: PgStore;
  beforeAll(async () => {
    url = await newDatabase('pg-sessions');
    store = await openPgStore({ url, signingKey: generateKeyPairSync('ed25519').privateKey });
  });
  afterAll(async () => {
    await store?.close();
  });

  const settings = async (get: (q: string) => Promise<string>) => ({
    idle: await get('SHOW tcp_keepalives_idle'), interval: await get('SHOW tcp_keepalives_interval'), count: await get('SHOW tcp_keepalives_count'),
    idleInTransaction: await get('SHOW idle_in_transaction_session_timeout'),
  });
  const WANTED = { idle: '10', interval: '5', count: '3', idleInTransaction: '2min' };

  it('the write connection and both pools ask for keepalives and an idle-transaction limit', async () => {
    // The writer, inside a batch.
    expect(await store.write(async (tx) => settings(async (q) => Object.values((await tx.sql.get<Record<string, string>>(q))!)[0]!))).toEqual(WANTED);
    // The pools (the read-only one too).
    expect(await settings(async (q) => Object.values((await store.sql.get<Record<string, string>>(q))!)[0]!)).toEqual(WANTED);
    expect(await settings(async (q) => Object.values((await store.readOnly.get<Record<string, string>>(q))!)[0]!)).toEqual(WANTED);
    // The notification connection is made from the same configuration as the writer's.
  });

  it('a URL with options of its own keeps them, and they replace neither these settings nor read-only reads', async () => {
    const u = new URL(url);
    u.searchParams.set('options', '-c statement_timeout=7000 -c default_transaction_read_only=off');
    const own = await openPgStore({ url: u.toString(), signingKey: generateKeyPairSync('ed25519').privateKey });
    try {
      const show = async (sql: PgStore['sql'], q: string) => Object.values((await sql.get<Record<string, string>>(q))!)[0]!;
      expect(await show(own.sql, 'SHOW statement_timeout')).toBe('7s');
      expect(await settings((q) => show(own.sql, q))).toEqual(WANTED);
      expect(await settings((q) => show(own.readOnly, q))).toEqual(WANTED);
      // The read-only handle still cannot write, whatever the URL asked.
      await expect(own.readOnly.run('CREATE TABLE written_by_a_read (x int)')).rejects.toThrow();
      const reader = await openPgReader(u.toString());
      try {
        await expect(reader.sql.run('CREATE TABLE written_by_the_cli (x int)')).rejects.toThrow();
        expect(await show(reader.sql, 'SHOW statement_timeout')).toBe('7s');
      } finally {
        await reader.close();
      }
    } finally {
      await own.close();
    }
  });

  it('a CLI reader whose session the server ends between two statements fails its next query with the reason; nothing is thrown at the process', async () => {
    const reader = await openPgReader(url);
    const pid = (await reader.sql.get<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!.pid;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await until('the session is gone', async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0);
    } finally {
      await admin.end();
    }
    await expect(reader.sql.get('SELECT 1 AS one')).rejects.toThrow(/terminat|Connection|closed|not queryable/i);
    await reader.close().catch(() => {});
  });
});
