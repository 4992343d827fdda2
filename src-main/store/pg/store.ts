// The Store over PostgreSQL: what team mode runs on. Reads go through a pool (and a pool the server holds read-only, for
// read-only tools); writes through one dedicated connection per node, driven by the same group commit as SQLite. Every
// write transaction takes one advisory lock before its first statement, so the audit chain stays one chain across nodes:
// transactions that append to it run one after another, each reading the head the previous one committed.
import { randomUUID, type KeyObject } from 'node:crypto';
import pg from 'pg';
import type { TxConnection } from '../groupCommit.ts';
import { assembleStore, type Store } from '../store.ts';
import type { Sql } from '../sql.ts';
import { pgSql, pgTypes } from './sql.ts';
import { assertPgSchema, LOCKS, migratePg } from './migrate.ts';

export const NOTIFY_CHANNEL = 'countersign';

export interface PgStoreOptions {
  url: string;
  signingKey: KeyObject;
  log?: (msg: string, err?: unknown) => void;
  /** Connections of the read pool (and as many of the read-only pool). */
  poolSize?: number;
  /** Who this node is in pg_stat_activity. */
  applicationName?: string;
  /** How long a lost listener or write connection waits before it reconnects. */
  reconnectMs?: number;
  /** Told which schema versions this open migrated from and to (equal when nothing was pending). */
  onMigrated?: (r: { from: number; to: number }) => void;
}

export interface PgStore extends Store {
  readonly dialect: 'postgres';
  /** This process's id in notifications: its own commits do not count as changes made elsewhere. */
  readonly nodeId: string;
  /** Calls fn whenever another node (or process) commits; returns the unsubscribe. */
  onRemoteCommit(fn: () => void): () => void;
  /** True while the database answers (readiness). */
  ping(): Promise<boolean>;
  /** True while the notification connection is up: this node hears other nodes' commits. */
  listening(): boolean;
}

const log0 = () => {};

/** The write connection: one client, reconnected after it is lost, one transaction per group-commit batch. */
class PgWriter implements TxConnection {
  readonly statementsAtomic = false;
  readonly sql;
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private open = false;
  private lost = false;
  /** Closed with the store: a write that comes later is refused, never run on a new connection nobody would end. */
  private closed = false;
  private readonly config: pg.ClientConfig;
  private readonly log: (msg: string, err?: unknown) => void;

  constructor(config: pg.ClientConfig, log: (msg: string, err?: unknown) => void) {
    this.config = config;
    this.log = log;
    this.sql = pgSql({ query: (text, values) => this.query(text, values) });
  }

  private async connect(): Promise<pg.Client> {
    if (this.closed) throw storeClosed();
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const c = new pg.Client(this.config);
      c.on('error', (e) => {
        this.log('the PostgreSQL write connection failed', e);
        this.drop(c);
      });
      await c.connect();
      if (this.closed) {
        await c.end().catch(() => {});
        throw storeClosed();
      }
      this.client = c;
      return c;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private drop(c: pg.Client): void {
    if (this.client === c) this.client = undefined;
    this.lost = true;
    c.end().catch(() => {});
  }

  private async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const c = this.client;
    if (!c || this.lost) throw Object.assign(new Error('the PostgreSQL write connection was lost in this transaction'), { code: 'CONNECTION_LOST' });
    try {
      return await c.query(text, values);
    } catch (e) {
      // A statement error leaves the transaction aborted but open (a savepoint recovers it); a broken socket does not.
      if (!(e as { code?: string }).code || /^(08|57P)/.test((e as { code: string }).code)) this.drop(c);
      throw e;
    }
  }

  async begin(): Promise<void> {
    this.lost = false;
    await this.connect();
    await this.query('BEGIN');
    this.open = true;
    await this.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.audit]);
  }
  async savepoint(): Promise<void> {
    await this.query('SAVEPOINT item');
  }
  async release(): Promise<void> {
    await this.query('RELEASE SAVEPOINT item');
  }
  async rollbackToSavepoint(): Promise<void> {
    await this.query('ROLLBACK TO SAVEPOINT item');
    await this.query('RELEASE SAVEPOINT item');
  }
  async commit(): Promise<void> {
    try {
      await this.query('COMMIT');
    } finally {
      this.open = false;
    }
  }
  async rollback(): Promise<void> {
    this.open = false;
    await this.query('ROLLBACK');
  }
  inTransaction(): boolean {
    return this.open && !this.lost;
  }
  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
    await this.connecting?.catch(() => {});
  }
}

const storeClosed = () => Object.assign(new Error('the store is closed: this write was not made'), { code: 'STORE_CLOSED' });

/** LISTEN on the notification channel, reconnecting after a loss; every loss counts as a change (we may have missed some). */
class PgListener {
  version = 0;
  private client: pg.Client | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly subscribers = new Set<() => void>();
  private readonly o: { config: pg.ClientConfig; nodeId: string; log: (msg: string, err?: unknown) => void; reconnectMs: number };

  constructor(o: PgListener['o']) {
    this.o = o;
  }

  private changed(): void {
    this.version++;
    for (const fn of this.subscribers) {
      try {
        fn();
      } catch (e) {
        this.o.log('a change subscriber failed', e);
      }
    }
  }

  async start(): Promise<void> {
    const c = new pg.Client(this.o.config);
    c.on('notification', (n) => {
      if (n.payload !== this.o.nodeId) this.changed();
    });
    c.on('error', (e) => {
      this.o.log('the PostgreSQL notification connection failed; reconnecting', e);
      this.lose(c);
    });
    c.on('end', () => this.lose(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (e) {
      // Connected but LISTEN refused (a standby after a failover): this connection is not kept, nor left open.
      c.end().catch(() => {});
      throw e;
    }
    // Closed while connecting (serve stopping during a reconnect): its socket would keep the process alive.
    if (this.closed) {
      await c.end().catch(() => {});
      return;
    }
    this.client = c;
  }

  private lose(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = undefined;
    c.end().catch(() => {});
    if (this.closed) return;
    this.changed();
    const retry = () => {
      this.timer = undefined;
      if (this.closed) return;
      this.start().then(() => this.changed(), () => (this.timer = setTimeout(retry, this.o.reconnectMs).unref()));
    };
    this.timer = setTimeout(retry, this.o.reconnectMs).unref();
  }

  get connected(): boolean {
    return !!this.client;
  }

  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}

/** Settings of every session a store opens (see openPgStore). */
export const SESSION_OPTIONS = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 -c idle_in_transaction_session_timeout=120000';

/**
 * The URL without its `options` parameter, and that parameter. The driver lets a URL's parameters replace the
 * configuration it is given: a URL with `options` would have replaced the read pool's `default_transaction_read_only`.
 */
export function withoutOptions(raw: string): { url: string; options: string | undefined } {
  // Only the query is read: the whole URL may not parse as a WHATWG URL (a unix socket, `postgres://user@/db?host=/tmp`,
  // which the driver accepts), and a URL without `options` is passed on exactly as given.
  const q = raw.indexOf('?');
  if (q < 0) return { url: raw, options: undefined };
  const params = new URLSearchParams(raw.slice(q + 1));
  const options = params.get('options') ?? undefined;
  if (options === undefined) return { url: raw, options };
  params.delete('options');
  const rest = params.toString();
  return { url: rest ? `${raw.slice(0, q)}?${rest}` : raw.slice(0, q), options };
}

/** Opens (and migrates) the database at `url`. */
export async function openPgStore(o: PgStoreOptions): Promise<PgStore> {
  const log = o.log ?? log0;
  const application_name = o.applicationName ?? 'countersign';
  // A node that dies mid-batch holds the chain's advisory lock until its server-side backend ends, which with the
  // server's default keepalives takes about two hours: every other node's writes would wait that long. Each session
  // asks for keepalives that find a dead peer in about 25 s, and ends a transaction left idle for two minutes (a node
  // whose process hangs holding one). Both are per-session settings any role may make.
  const { url, options: theirs } = withoutOptions(o.url);
  // The URL's own `options` come first, ours after them: where both set one, ours holds (read-only reads above all).
  const options = [theirs, SESSION_OPTIONS].filter(Boolean).join(' ');
  const config: pg.ClientConfig = { connectionString: url, types: pgTypes, application_name, keepAlive: true, options };
  const setup = new pg.Client(config);
  setup.on('error', (e) => log('the PostgreSQL connection for migrations failed', e));
  await setup.connect();
  try {
    const migrated = await migratePg(setup);
    o.onMigrated?.(migrated);
  } finally {
    await setup.end().catch(() => {});
  }
  const nodeId = randomUUID();
  const size = o.poolSize ?? 8;
  const pool = new pg.Pool({ ...config, max: size });
  const readPool = new pg.Pool({ ...config, max: Math.max(2, Math.ceil(size / 2)), options: `${options} -c default_transaction_read_only=on` });
  for (const p of [pool, readPool]) p.on('error', (e) => log('an idle PostgreSQL connection failed', e));
  const listener = new PgListener({ config, nodeId, log, reconnectMs: o.reconnectMs ?? 1000 });
  await listener.start();
  const writer = new PgWriter(config, log);
  const store = assembleStore({
    dialect: 'postgres', sql: pgSql(pool), readOnly: pgSql(readPool, { readOnly: true }), connection: writer, signingKey: o.signingKey,
    changes: () => Promise.resolve(listener.version), writable: true, log,
    async release() {
      await listener.close();
      await writer.close();
      await Promise.all([pool.end(), readPool.end()]);
    },
  });
  // Other nodes learn of each commit from its notification, delivered when it commits (and only if it does).
  store.perBatch(async (s) => {
    await s.run('SELECT pg_notify(?, ?)', [NOTIFY_CHANNEL, nodeId]);
  });
  return Object.assign(store, {
    dialect: 'postgres' as const,
    nodeId,
    onRemoteCommit: (fn: () => void) => listener.subscribe(fn),
    listening: () => listener.connected,
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
  });
}

/** A read-only view of the database at `url` (audit verify and export): no migration, a newer schema refused. */
export async function openPgReader(url: string): Promise<{ sql: Sql; close(): Promise<void> }> {
  const parts = withoutOptions(url);
  const client = new pg.Client({ connectionString: parts.url, types: pgTypes, application_name: 'countersign-cli', options: [parts.options, '-c default_transaction_read_only=on'].filter(Boolean).join(' ') });
  // The server can end the session between two statements (an administrator, a restart): without a listener that
  // 'error' event would end the command with a stack trace; with it, the next query fails with the reason.
  client.on('error', () => {});
  await client.connect();
  try {
    await assertPgSchema(client);
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
  return { sql: pgSql(client, { readOnly: true }), close: () => client.end() };
}
