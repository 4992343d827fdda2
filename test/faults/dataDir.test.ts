// The data directory under fault (issue 7): a corrupt or truncated database file is refused at start with a clear
// message and never recreated; a read-only directory or file gives a clear error and no corruption; a second process
// holding the database busy makes calls wait (busy_timeout 5 s), not fail; a full disk (SQLite's max_page_count on the
// server's own connection, and a really full tmpfs where mounting is allowed) answers every call with an error the client
// understands, keeps the audit chain valid, and the server works again once there is space.
// These faults are of the SQLite file and its directory, and their describes say so; team mode's own (the database
// going away: test/team/databaseOutage.test.ts) differ. The database turning read-only at runtime exists on both
// stores (on PostgreSQL, a failover to a read-only standby looks like it) and runs on both.
//
// Tests run as root here, so chmod cannot make anything read-only: read-only is made with `chattr +i` (immutable, which
// binds root too) where the file system supports it, and at runtime with `PRAGMA query_only` on the server's connection.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCallToolResult } from '../../src-main/mcp/results.ts';
import { budget, within } from '../helpers/wait.ts';
import { openApp, DB_FILE } from '../../src-main/app.ts';
import type { ApiKey } from '../../src-main/auth/keys.ts';
import { initTestDir, PASSPHRASE, startTestServer, type TestServer } from '../helpers/server.ts';
import { consoleLogin, structured } from '../helpers/console.ts';
import { initLegacy, initStreamable, mcpHeaders, openLegacySse, parseSse, rawRequest, rpcMessages, type LegacySse } from '../helpers/raw.ts';
import { auditVerify, cliEnv, createKey, startServe, cli } from '../helpers/childServer.ts';
import { describeStores, storeUrlFor } from '../helpers/stores.ts';
import { until } from '../helpers/wait.ts';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const CLEAR_OPEN_ERROR = /corrupt|malformed|not a database|unusable|truncated|empty/i;

let base: string;
const made: string[] = [];
beforeAll(async () => {
  base = await initTestDir();
  made.push(base);
});
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A copy of the pristine test data directory (seeded demo fleet, passphrase set). */
function copyOfBase(prefix: string): string {
  const parent = mkdtempSync(join(tmpdir(), prefix));
  made.push(parent);
  const d = join(parent, 'data');
  cpSync(base, d, { recursive: true });
  return d;
}

describe('a corrupt or truncated database file [SQLite only: damaged pages and headers of the file]', () => {
  const damage: [string, (file: string) => void][] = [
    ['pages overwritten with garbage', (f) => {
      const b = readFileSync(f);
      b.fill(0x5a, 100, b.length);
      writeFileSync(f, b);
    }],
    ['header overwritten with random bytes', (f) => {
      const b = readFileSync(f);
      randomBytes(100).copy(b, 0);
      writeFileSync(f, b);
    }],
    ['truncated inside the header (50 bytes)', (f) => truncateSync(f, 50)],
    ['truncated to its first page', (f) => truncateSync(f, 4096)],
    ['truncated to half', (f) => truncateSync(f, Math.floor(statSync(f).size / 2))],
    ['missing its last page', (f) => truncateSync(f, statSync(f).size - 4096)],
  ];

  it.each(damage)('%s: openApp refuses it with a clear message and leaves the file as it was', async (_name, harm) => {
    const dir = copyOfBase('cs-corrupt-');
    const file = join(dir, DB_FILE);
    harm(file);
    const before = sha(file);
    const size = statSync(file).size;
    await expect(openApp(dir, { log: () => {} })).rejects.toThrow(CLEAR_OPEN_ERROR);
    expect(statSync(file).size).toBe(size);
    expect(sha(file)).toBe(before);
  });

  it('a zero-length database file (truncated to nothing) is refused, not recreated as an empty database', async () => {
    const dir = copyOfBase('cs-empty-');
    const file = join(dir, DB_FILE);
    truncateSync(file, 0);
    let opened: Awaited<ReturnType<typeof openApp>> | undefined;
    let error: unknown;
    try {
      opened = await openApp(dir, { log: () => {} });
    } catch (e) {
      error = e;
    }
    const sizeAfter = statSync(file).size;
    opened?.close();
    // A data directory whose database lost every byte must not come up as a fresh, empty install with an empty audit log.
    expect(error, `openApp accepted a 0-byte ${DB_FILE} and rebuilt the schema in it (now ${sizeAfter} bytes)`).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(CLEAR_OPEN_ERROR);
    expect(sizeAfter).toBe(0);
  });

  it('serve (the CLI) on a truncated file exits 1 with the message and leaves the file as it was', () => {
    const dir = copyOfBase('cs-corrupt-cli-');
    const file = join(dir, DB_FILE);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const before = sha(file);
    const r = cli(cliEnv(PASSPHRASE), 'serve', '--data-dir', dir, '--port', '0');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(CLEAR_OPEN_ERROR);
    expect(r.stdout).not.toMatch(/listening/);
    expect(sha(file)).toBe(before);
  });
});

/** chattr +i (immutable) binds root too; false when the file system or the container does not allow it. */
function chattr(flag: '+i' | '-i', ...paths: string[]): boolean {
  const r = spawnSync('chattr', [flag, ...paths], { encoding: 'utf8' });
  return r.status === 0;
}

/** One tools/call over raw Streamable HTTP: the HTTP status and the JSON-RPC answer. */
async function rawCall(port: number, key: string, sid: string, id: number, name: string, args: unknown) {
  const r = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key, sid), body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }) });
  const msg = r.status === 200 ? rpcMessages(r).find((m) => m.id === id) : undefined;
  return { status: r.status, msg, body: r.body };
}

/** The same over the legacy transport: 202 on the POST, the answer on the SSE stream. */
async function legacyCall(port: number, key: string, sse: LegacySse, id: string, name: string, args: unknown) {
  const r = await rawRequest({ port, method: 'POST', path: sse.endpoint!, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }) });
  if (r.status !== 202) return { status: r.status, msg: undefined, body: r.body };
  const text = await sse.waitFor(`"id":"${id}"`, 10_000);
  const msg = parseSse(text).filter((f) => f.event === 'message').map((f) => JSON.parse(f.data)).find((m) => m.id === id);
  return { status: r.status, msg, body: r.body };
}

type Answer = Awaited<ReturnType<typeof rawCall>>;
/** 'ok', 'tool-error' (isError result), 'rpc-error' (JSON-RPC error), or what else came back. */
function kindOf(a: Answer): string {
  if (a.status >= 500) return `http-${a.status}`;
  if (a.status >= 400) return `http-${a.status}`;
  if (!a.msg) return 'no-answer';
  if (a.msg.error) return 'rpc-error';
  if (a.msg.result?.isError) return 'tool-error';
  return 'ok';
}
const messageOf = (a: Answer): string => a.msg?.error?.message ?? (a.msg?.result?.isError ? String(a.msg.result.content?.[0]?.text) : '');

describe('a read-only data directory [SQLite only: the database file made immutable]', () => {
  it('an immutable data directory is refused at start with a clear message; nothing is created or changed', async (ctx) => {
    const dir = copyOfBase('cs-ro-dir-');
    const file = join(dir, DB_FILE);
    if (!chattr('+i', file, dir)) return ctx.skip('chattr +i is not available here');
    try {
      const before = sha(file);
      const listing = readdirSync(dir).sort();
      await expect(openApp(dir, { log: () => {} })).rejects.toThrow(/unable to open|read-?only|permission|not permitted/i);
      expect(readdirSync(dir).sort()).toEqual(listing);
      expect(sha(file)).toBe(before);
    } finally {
      chattr('-i', file, dir);
    }
    // No corruption: the same file opens and verifies once it is writable again.
    const app = await openApp(dir, { log: () => {} });
    expect((await app.store.audit.verify()).ok).toBe(true);
    app.close();
  });

  it('a read-only database file: every call is refused with a clear error (never a 5xx), nothing is written, no corruption', async (ctx) => {
    const dir = copyOfBase('cs-ro-file-');
    const file = join(dir, DB_FILE);
    const auditBefore = (() => {
      const db = new Database(file, { readonly: true });
      const n = (db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
      db.close();
      return n;
    })();
    // The key is made while the file is writable; then the file alone becomes immutable (the directory stays writable).
    const keySecret = await (async () => {
      const app = await openApp(dir, { log: () => {} });
      const s = (await app.keys.create({ name: 'ro', scopes: ['ai:read', 'ai:write'], tenants: ['acme-dental'], role: 'standard' })).secret;
      app.close();
      return s;
    })();
    const auditWithKey = auditBefore + 1;
    if (!chattr('+i', file)) return ctx.skip('chattr +i is not available here');
    const before = sha(file);
    let t: TestServer | undefined;
    try {
      // SQLite falls back to a read-only connection: the server comes up (reads need no write to the file) ...
      t = await startTestServer({ dir });
      const port = t.server.port;
      // ... but every call writes its audit entry, so every call must be refused, with a message that says why.
      const sid = await initStreamable(port, keySecret);
      const answers: Answer[] = [
        await rawCall(port, keySecret, sid, 1, 'list_devices', { limit: 1 }),
        await rawCall(port, keySecret, sid, 2, 'create_runbook', { tenant: 'acme-dental', title: 'ro', body: 'x' }),
      ];
      for (const a of answers) {
        expect(['rpc-error', 'tool-error'], JSON.stringify(a).slice(0, 300)).toContain(kindOf(a));
        expect(messageOf(a)).toMatch(/read-?only/i);
      }
      expect((await rawRequest({ port, path: '/healthz' })).status).toBe(200);
    } finally {
      await t?.close().catch(() => {});
      chattr('-i', file);
    }
    expect(sha(file)).toBe(before);
    const app = await openApp(dir, { log: () => {} });
    expect(await app.store.audit.verify()).toMatchObject({ ok: true, count: auditWithKey });
    app.close();
  });
});

/**
 * Makes the server's database refuse writes from now on (or accept them again): SQLite's query_only on the server's
 * connection; on PostgreSQL the database's default_transaction_read_only, with the server's sessions ended so that its
 * pool reconnects under it, as after a failover to a read-only standby.
 */
async function setReadOnly(t: TestServer, on: boolean): Promise<void> {
  if (!t.storeUrl) {
    t.app.db.pragma(`query_only = ${on ? 'ON' : 'OFF'}`);
    return;
  }
  const name = new URL(t.storeUrl).pathname.slice(1);
  const admin = new URL(t.storeUrl);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  } finally {
    await c.end();
  }
}

describeStores('the database turning read-only at runtime', (store) => {
  it('calls fail cleanly, the chain stays valid, then the server works again', async () => {
    const t = store === 'sqlite' ? await startTestServer({ dir: copyOfBase('cs-ro-run-') }) : await startTestServer({ storeUrl: await storeUrlFor(store, 'readonly') });
    made.push(t.dir);
    try {
      const key = await t.key({ tenants: ['acme-dental'] });
      const port = t.server.port;
      const opened = await t.app.store.audit.count();
      const sid = await initStreamable(port, key);
      const sse = await openLegacySse({ port, key });
      await initLegacy(port, sse, key);
      // Each session's opening is audited; on PostgreSQL its entry may commit after the handshake has answered.
      const seqBefore = await until('both session openings are in the log', async () => {
        const n = await t.app.store.audit.count();
        return n >= opened + 2 && n;
      });
      await setReadOnly(t, true);
      // (PostgreSQL: once the pool has reconnected under the new default; a call on a connection that was just ended fails too.)
      await until('the database refuses writes', async () => /read-?only/i.test(messageOf(await rawCall(port, key, sid, 100, 'list_devices', { limit: 1 }))));
      const answers = [
        await rawCall(port, key, sid, 1, 'list_devices', { limit: 1 }),
        await rawCall(port, key, sid, 2, 'create_runbook', { tenant: 'acme-dental', title: 'query only', body: 'x' }),
        await legacyCall(port, key, sse, 'ro-3', 'get_alerts', { limit: 1 }),
      ];
      for (const a of answers) {
        expect(['rpc-error', 'tool-error'], JSON.stringify(a).slice(0, 300)).toContain(kindOf(a));
        expect(messageOf(a)).toMatch(/read-?only/i);
      }
      expect(await t.app.store.audit.count()).toBe(seqBefore);
      await setReadOnly(t, false);
      const ok = await until('calls succeed again', async () => {
        const a = await rawCall(port, key, sid, 4, 'list_devices', { limit: 1 });
        return kindOf(a) === 'ok' && a;
      });
      expect(kindOf(ok)).toBe('ok');
      expect(kindOf(await legacyCall(port, key, sse, 'ro-5', 'get_alerts', { limit: 1 }))).toBe('ok');
      expect((await t.app.store.audit.verify()).ok).toBe(true);
      sse.close();
    } finally {
      await t.close();
    }
  });
});

describe('a second process holding the database busy [SQLite only: a lock on the whole file and busy_timeout]', () => {
  const HOLD_MS = 1_500;

  it('calls and a console decision wait for the lock and then succeed (busy_timeout 5 s); none fails', async () => {
    const t = await startTestServer({ dir: copyOfBase('cs-busy-') });
    try {
      const key = await t.key({ tenants: ['acme-dental'] });
      const [http, sse] = [await t.connect('http', key), await t.connect('sse', key)];
      const devices = structured<{ devices: { id: string }[] }>(await http.callTool({ name: 'list_devices', arguments: { limit: 5 } })).devices;
      const alerts = structured<{ alerts: { id: string; status: string }[] }>(await http.callTool({ name: 'get_alerts', arguments: { status: 'active', limit: 5 } })).alerts;
      const pending = structured<{ approvalId: string }>(await http.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [devices[0]!.id], reason: 'busy test' } })).approvalId;
      const con = await consoleLogin(t.url);

      // Another process takes the write lock (BEGIN IMMEDIATE) and holds it.
      const holder = spawn(process.execPath, ['-e', `
        const Database = require('better-sqlite3');
        const db = new Database(process.argv[1]);
        db.pragma('busy_timeout = 5000');
        db.exec('BEGIN IMMEDIATE');
        process.stdout.write('locked\\n');
        // The hold is the fault itself; the time printed is taken before COMMIT, so nothing waiting can end before it.
        setTimeout(() => { const at = Date.now(); db.exec('COMMIT'); db.close(); process.stdout.write('released ' + at + '\\n'); }, ${HOLD_MS});
      `, join(t.dir, DB_FILE)], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
      const holderExit = new Promise<number | null>((r) => holder.once('exit', (c) => r(c)));
      let holderErr = '';
      let holderOut = '';
      holder.stderr!.on('data', (d) => (holderErr += d));
      await within(() => `the lock holder to take the lock: ${holderErr}`, new Promise<void>((resolve) => {
        holder.stdout!.on('data', (d: Buffer) => {
          holderOut += String(d);
          if (holderOut.includes('locked')) resolve();
        });
      }), 10_000);
      const lockedAt = performance.now();
      const timed = async <T>(p: Promise<T>) => {
        const v = await p;
        return { v, ms: performance.now() - lockedAt, at: Date.now() };
      };
      const results = await Promise.all([
        timed(http.callTool({ name: 'list_devices', arguments: { limit: 3 } })),
        timed(sse.callTool({ name: 'get_alerts', arguments: { limit: 3 } })),
        timed(http.callTool({ name: 'acknowledge_alerts', arguments: { alertIds: [alerts[0]!.id] } })),
        timed(sse.callTool({ name: 'device_actions', arguments: { action: 'lock', deviceIds: [devices[1]!.id], reason: 'busy lock' } })),
        timed(con.post(`/approvals/${pending}/approve`)),
      ]);
      expect(await holderExit).toBe(0);
      const releasedAt = Number(/released (\d+)/.exec(holderOut)?.[1]);
      expect(releasedAt).toBeGreaterThan(0);
      const [list, get, ack, lock, approve] = results;
      for (const r of [list, get, ack, lock]) expect((r!.v as { isError?: boolean }).isError, JSON.stringify(r!.v).slice(0, 300)).toBeFalsy();
      expect(approve!.v).toMatchObject({ status: 200, body: { approval: { status: 'running' } } });
      const times = results.map((r) => Math.round(r.ms));
      console.log(`busy: calls finished ${times.join(', ')} ms after the other process took the lock (held ${HOLD_MS} ms)`);
      // They waited for the lock (every call writes its audit entry): none was answered before the holder let go, and
      // none gave up (busy_timeout 5 s) — each succeeded above.
      for (const r of results) expect(r.at).toBeGreaterThanOrEqual(releasedAt);
      // Their effects are there.
      const executionId = structured<{ executionId: string }>(lock!.v).executionId;
      expect(t.app.db.prepare('SELECT count(*) AS n FROM device_commands WHERE execution_id = ?').get(executionId)).toEqual({ n: 1 });
      expect(t.app.db.prepare('SELECT status FROM alerts WHERE id = ?').get(alerts[0]!.id)).toEqual({ status: 'acknowledged' });
      expect(t.app.db.prepare('SELECT count(*) AS n FROM executions WHERE approval_id = ?').get(pending)).toEqual({ n: 1 });
      expect((await t.app.store.audit.verify()).ok).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('a full disk (max_page_count on the server\'s own connection) [SQLite only: a page limit of the file]', () => {
  let t: TestServer;
  let key: string;
  let keyRow: ApiKey;
  let devices: string[];
  const during: { what: string; a: Answer }[] = [];
  /** Locks sent while the disk was full: whether the client was told it succeeded, and the unique reason it carried. */
  const locks: { reason: string; toldOk: boolean }[] = [];
  let auditCountBefore = 0;

  beforeAll(async () => {
    t = await startTestServer({ dir: copyOfBase('cs-full-') });
    key = await t.key({ name: 'full', tenants: ['acme-dental'], writePerMinute: 100_000, readPerMinute: 100_000 });
    keyRow = (await t.app.keys.list()).find((k) => k.name === 'full')! as ApiKey;
    devices = (t.app.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental'`).all() as { id: string }[]).map((r) => r.id);
    const port = t.server.port;
    const sid = await initStreamable(port, key);
    const sse = await openLegacySse({ port, key });
    await initLegacy(port, sse, key);
    auditCountBefore = await t.app.store.audit.count();

    const pages = t.app.db.pragma('page_count', { simple: true }) as number;
    t.app.db.pragma(`max_page_count = ${pages}`);
    // A large write cannot fit at all; then small reads and writes from both transports, 8 at a time, until one fails.
    during.push({ what: 'create_runbook (19 KB)', a: await rawCall(port, key, sid, 1, 'create_runbook', { tenant: 'acme-dental', title: 'full disk', body: 'x'.repeat(19_000) }) });
    let id = 10;
    for (let wave = 0; wave < 60; wave++) {
      const batch = Array.from({ length: 8 }, (_, j) => {
        const n = id++;
        if (j % 4 === 3) {
          const reason = `full disk lock ${n}`;
          return rawCall(port, key, sid, n, 'device_actions', { action: 'lock', deviceIds: [devices[n % devices.length]!], reason })
            .then((a) => (locks.push({ reason, toldOk: kindOf(a) === 'ok' }), { what: 'device_actions lock', a }));
        }
        return j % 2 === 0
          ? rawCall(port, key, sid, n, 'list_devices', { limit: 1 }).then((a) => ({ what: 'list_devices (streamable)', a }))
          : legacyCall(port, key, sse, `full-${n}`, 'get_alerts', { limit: 1 }).then((a) => ({ what: 'get_alerts (legacy)', a }));
      });
      const got = await Promise.all(batch);
      during.push(...got);
      if (wave > 2 && got.every((g) => kindOf(g.a) !== 'ok')) break;
    }
    sse.close();
  }, budget(60_000));

  afterAll(async () => {
    await t?.close();
  });

  it('every call is answered with a JSON-RPC error or an isError result, never a 5xx or a dropped answer', () => {
    const kinds = new Map<string, number>();
    for (const d of during) kinds.set(kindOf(d.a), (kinds.get(kindOf(d.a)) ?? 0) + 1);
    console.log(`full disk: ${during.length} calls while full: ${JSON.stringify(Object.fromEntries(kinds))}`);
    expect(kindOf(during[0]!.a), 'the large write').not.toBe('ok');
    expect((kinds.get('rpc-error') ?? 0) + (kinds.get('tool-error') ?? 0), 'the full disk was reached').toBeGreaterThan(0);
    for (const d of during) expect(['ok', 'rpc-error', 'tool-error'], `${d.what}: ${JSON.stringify(d.a).slice(0, 300)}`).toContain(kindOf(d.a));
  });

  it('the audit chain stays valid, and once space is back the server works again on both transports', async () => {
    expect((await t.app.store.audit.verify()).ok).toBe(true);
    expect(await t.app.store.audit.count()).toBeGreaterThanOrEqual(auditCountBefore);
    t.app.db.pragma('max_page_count = 1073741823');
    for (const kind of ['http', 'sse'] as const) {
      const c = await t.connect(kind, key);
      expect((await c.callTool({ name: 'list_devices', arguments: { limit: 1 } })).isError).toBeFalsy();
      const doc = await c.callTool({ name: 'create_runbook', arguments: { tenant: 'acme-dental', title: `after the full disk (${kind})`, body: 'y'.repeat(19_000) } });
      expect(doc.isError, JSON.stringify(doc).slice(0, 300)).toBeFalsy();
    }
    expect((await t.app.store.audit.verify()).ok).toBe(true);
    expect(t.app.db.pragma('quick_check', { simple: true })).toBe('ok');
  });

  it('the error says what is wrong (the disk is full), not an internal SQLite state', () => {
    const messages = [...new Set(during.filter((d) => kindOf(d.a) !== 'ok').map((d) => messageOf(d.a)))];
    console.log(`full disk: error messages: ${JSON.stringify(messages)}`);
    for (const m of messages) expect(m).toMatch(/full|disk|space|storage/i);
  });

  it('group commit: no call in a batch is told it failed while its change was committed', async () => {
    // Over HTTP, batches form as requests happen to arrive; here the same pipeline is called 5 times in one turn of the
    // event loop, so the 5 calls share one group commit: a document too large for the space left, then 4 small locks.
    t.app.db.pragma(`max_page_count = ${t.app.db.pragma('page_count', { simple: true }) as number}`);
    const caller = { key: (await t.app.keys.get(keyRow.id))! };
    const reasons = [0, 1, 2, 3].map((i) => `batched lock ${i} ${randomBytes(4).toString('hex')}`);
    const settled = await Promise.allSettled([
      t.app.gate.call('create_runbook', { tenant: 'acme-dental', title: 'too big', body: 'z'.repeat(19_000) }, caller).then(toCallToolResult),
      ...reasons.map((reason, i) => t.app.gate.call('device_actions', { action: 'lock', deviceIds: [devices[i]!], reason }, caller).then(toCallToolResult)),
    ]);
    t.app.db.pragma('max_page_count = 1073741823');
    const told = settled.map((s) => (s.status === 'fulfilled' && !s.value.isError ? 'ok' : s.status === 'fulfilled' ? 'isError' : `threw: ${(s.reason as Error).message}`));
    expect(told[0], 'the too-large document is refused').not.toBe('ok');
    const mismatches: string[] = [];
    const committed = (reason: string) => (t.app.db.prepare('SELECT count(*) AS n FROM executions WHERE detail_json LIKE ?').get(`%${reason}%`) as { n: number }).n > 0;
    reasons.forEach((reason, i) => {
      if (committed(reason) !== (told[i + 1] === 'ok')) mismatches.push(`lock ${i}: told ${told[i + 1]}, committed ${committed(reason)}`);
    });
    // The same over HTTP, for the locks sent while the disk was full.
    for (const l of locks) if (committed(l.reason) !== l.toldOk) mismatches.push(`HTTP ${l.reason}: told ${l.toldOk ? 'ok' : 'failed'}, committed ${committed(l.reason)}`);
    expect((await t.app.store.audit.verify()).ok).toBe(true);
    expect(mismatches, 'a client told "failed" (it may retry) for a change that was committed').toEqual([]);
  });
});

describe('a really full file system (a small tmpfs) [SQLite only: the database file on the tmpfs]', () => {
  it('calls fail with "disk is full", the server stays up, and after space is freed it works and the chain verifies', async (ctx) => {
    const mnt = mkdtempSync(join(tmpdir(), 'cs-tmpfs-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt], { encoding: 'utf8' }).status === 0;
    if (!mounted) {
      rmSync(mnt, { recursive: true, force: true });
      return ctx.skip('mounting a tmpfs is not permitted here');
    }
    const env = cliEnv(PASSPHRASE);
    let srv: Awaited<ReturnType<typeof startServe>> | undefined;
    try {
      const dir = join(mnt, 'data');
      cpSync(base, dir, { recursive: true });
      const key = createKey(env, dir, { name: 'tmpfs', tenants: 'acme-dental', writePerMinute: 100_000, readPerMinute: 100_000 });
      srv = await startServe(env, dir);
      const sid = await initStreamable(srv.port, key.secret);
      expect(kindOf(await rawCall(srv.port, key.secret, sid, 1, 'list_devices', { limit: 1 }))).toBe('ok');
      // Fill the file system to the last byte.
      const fd = openSync(join(mnt, 'filler'), 'w');
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (let i = 0; i < 2_000; i++) writeSync(fd, chunk);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
      const answers: Answer[] = [];
      for (let i = 0; i < 12; i++) {
        answers.push(await rawCall(srv.port, key.secret, sid, 100 + i, i % 2 ? 'list_devices' : 'create_runbook',
          i % 2 ? { limit: 1 } : { tenant: 'acme-dental', title: `full ${i}`, body: 'y'.repeat(5_000) }));
      }
      const kinds = answers.map(kindOf);
      console.log(`tmpfs full: ${JSON.stringify(kinds.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {}))}; ${JSON.stringify([...new Set(answers.map(messageOf))])}`);
      for (const a of answers) expect(['ok', 'rpc-error', 'tool-error'], JSON.stringify(a).slice(0, 300)).toContain(kindOf(a));
      expect(kinds.filter((k) => k !== 'ok').length).toBeGreaterThan(0);
      for (const a of answers.filter((x) => kindOf(x) !== 'ok')) expect(messageOf(a)).toMatch(/full|disk|space|storage/i);
      expect(srv.alive()).toBe(true);
      rmSync(join(mnt, 'filler'));
      expect(kindOf(await rawCall(srv.port, key.secret, sid, 200, 'list_devices', { limit: 1 }))).toBe('ok');
      expect(kindOf(await rawCall(srv.port, key.secret, sid, 201, 'create_runbook', { tenant: 'acme-dental', title: 'space again', body: 'ok' }))).toBe('ok');
      expect(await srv.stop()).toBe(0);
      const v = auditVerify(env, dir);
      expect(v.out).toMatch(/audit chain OK/);
      expect(existsSync(join(dir, DB_FILE))).toBe(true);
    } finally {
      if (srv?.alive()) await srv.kill9();
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});
