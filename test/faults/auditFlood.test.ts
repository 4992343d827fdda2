// The bad-input campaign's flood case: 10,000 generated refusals (unknown tools, invalid and oversized arguments, tier-4
// and out-of-scope calls, calls past the rate limit) from one rate-limited ai:read key against a real `countersign serve`.
// Asserted: the database grows by less than the bound the README states (per key per minute of flooding), every refusal
// is accounted for (stored in full, or counted), the chain and its checkpoints verify, and the console's Live page loads
// while the health check keeps answering in well under 50 ms (90th percentile of the probes sent while a load is in flight).
// The same flood (same seed, same counts) runs on both stores; the growth is the SQLite file and its WAL, or the
// PostgreSQL database's size, and the log is read back through the store's Sql seam.
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliEnv, startServe, type ChildServer, type CliKey } from '../helpers/childServer.ts';
import { auditVerifyHere, createKeyHere, initDemoDirHere } from '../helpers/cliHere.ts';
import { HttpPool, type PoolResponse } from '../helpers/httpPool.ts';
import { createRng, seedFromEnv } from '../helpers/prng.ts';
import { initStreamable, mcpHeaders, parseSse } from '../helpers/raw.ts';
import { budget } from '../helpers/wait.ts';
import { describeStores, storeUrlFor, type StoreKind } from '../helpers/stores.ts';
import { withInstallSql } from '../helpers/installSql.ts';

const PASS = 'audit flood passphrase';
const SEED = seedFromEnv('COUNTERSIGN_FAULT_SEED', 0xf100d);
const BASE_ENV = cliEnv(PASS, { COUNTERSIGN_HTTP_RPS: '100000' });
const REFUSALS = 10_000;
const CONCURRENCY = 8;
/** During the flood, one health probe goes out per this many answered calls. */
const HEALTH_EVERY = 20;
/**
 * Loads of the Live page after the flood. On SQLite a load answers before the probe sent with it, so there is about one
 * probe per load: with 10, the 90th percentile was the slowest probe, and one moment of a busy CI machine failed it.
 */
const PAGE_LOADS = 30;
const KiB = 1024;
/** The README's bound ("Bounded audit log"): refusals of one key grow the log by at most this per minute of flooding. */
const README_BOUND_PER_KEY_MINUTE = 512 * KiB;
/** What a flood writes besides refusals: the session's open and close, its few allowed calls, signed checkpoints. */
const FIXED_ALLOWANCE = 64 * KiB;

let dir: string;
/** Team mode: the PostgreSQL database of this store's flood (undefined: the SQLite file in dir). */
let storeUrl: string | undefined;
let env: NodeJS.ProcessEnv;
let srv: ChildServer;
let key: CliKey;
let pool: HttpPool;
let cookie: string;
let sizeBefore = 0;
let sizeAfter = 0;
let minutes = 0;
const newTally = () => ({ refused: 0, allowed: 0, other: [] as string[], codes: new Map<string, number>() });
let tally = newTally();
let health: number[] = [];
let livePage = { loads: [] as { status: number; ms: number; bytes: number }[], health: [] as number[], idle: [] as number[] };

/** What the install's database takes on disk: the SQLite file and its WAL, or the PostgreSQL database. */
const dbSize = async () => storeUrl
  ? withInstallSql(dir, storeUrl, (db) => db.num('SELECT pg_database_size(current_database())'))
  : statSync(join(dir, 'countersign.db')).size + sizeOr0(join(dir, 'countersign.db-wal'));
function sizeOr0(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)]!;

/** One generated call this key may not make, or may make only 3 times a minute. */
function generator() {
  const rng = createRng(SEED);
  const uuid = () => `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-8${rng.hex(3)}-${rng.hex(12)}`;
  const big = (n: number) => Array.from({ length: n }, () => rng.pick(['a', 'b', '"', '\\', 'é', '日', ' '])).join('');
  const kinds: (() => { name: string; arguments: unknown })[] = [
    () => ({ name: `no_such_tool_${rng.hex(rng.int(4, 400))}`, arguments: {} }),
    () => ({ name: 'list_devices', arguments: { limit: rng.pick(['ten', -1, 10_000, null]), status: rng.pick(['up', 7, 'online']) } }),
    () => ({ name: 'list_devices', arguments: { search: big(rng.int(101, 4000)), csk: `csk_${rng.hex(32)}` } }),
    () => ({ name: 'get_device_details', arguments: { deviceId: rng.pick(['../../etc/passwd', `' OR 1=1 --`, big(300)]) } }),
    () => ({ name: 'device_actions', arguments: { action: 'wipe', deviceIds: [uuid()] } }),
    () => ({ name: 'run_script', arguments: { language: 'bash', body: 'echo hi', deviceIds: [uuid()] } }),
    () => ({ name: 'deploy_patches', arguments: { deviceIds: [uuid()], patchIds: [`KB${rng.int(1, 9_999_999)}`] } }),
    () => ({ name: 'list_devices', arguments: { limit: 1 } }),
    () => ({ name: 'get_alerts', arguments: { limit: 1 } }),
    // The case: a large request whose validation text is larger still (it used to be stored whole, a 2 MB row).
    () => big429,
  ];
  return () => {
    const k = rng.int(0, 199);
    return kinds[k < 1 ? 9 : k % 9]!();
  };
}

/** 30,000 parameter names that are not names: a 600 KB body, and a validation text of one line per name (a 2 MB row once). */
const big429 = { name: 'run_script', arguments: { language: 'bash', body: 'true', deviceIds: ['x'], parameters: Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`bad name ${i}`, 'v'])) } };

/** big429's params as JSON, made once: 30,000 keys take ~13 ms to stringify, the largest cost of this file's own process. */
const big429Json = JSON.stringify(big429);

async function call(sessionId: string, id: number, params: { name: string; arguments: unknown }): Promise<PoolResponse> {
  // The same bytes as JSON.stringify({ jsonrpc, id, method, params }).
  const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params === big429 ? big429Json : JSON.stringify(params)}}`;
  return pool.request({ method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key.secret, sessionId), body });
}
/** The Live page's first load (the 200 newest calls), over the pool: in flight until its last byte has arrived. */
function liveCalls(): Promise<PoolResponse> {
  return pool.request({ method: 'POST', path: '/console/api/rpc/liveCalls', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ limit: 200 }) });
}
function outcomeOf(r: PoolResponse): 'refused' | 'allowed' | string {
  const type = String(r.headers['content-type'] ?? '');
  const messages = r.status !== 200 ? [] : type.startsWith('text/event-stream') ? parseSse(r.text).filter((f) => f.event === 'message').map((f) => JSON.parse(f.data)) : [JSON.parse(r.text)];
  const result = messages.find((m) => m?.result)?.result;
  if (!result) return `status ${r.status}: ${r.text.slice(0, 160)}`;
  if (!result.isError) return 'allowed';
  const code = JSON.parse(result.content[0].text).error.code as string;
  tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
  return 'refused';
}

async function flood(store: StoreKind): Promise<void> {
  tally = newTally();
  health = [];
  livePage = { loads: [], health: [], idle: [] };
  storeUrl = await storeUrlFor(store, 'flood');
  env = storeUrl ? { ...BASE_ENV, COUNTERSIGN_DATABASE_URL: storeUrl } : BASE_ENV;
  dir = await initDemoDirHere(env, 'cs-flood-');
  key = await createKeyHere(env, dir, { name: 'flooder', scopes: 'ai:read', tenants: 'acme-dental', role: 'standard', readPerMinute: 3 });
  sizeBefore = await dbSize();
  srv = await startServe(env, dir);
  // The model is told every validation issue: the answers to the large requests run to megabytes.
  pool = new HttpPool(srv.port, { maxSockets: CONCURRENCY + 2, maxBodyBytes: 64 * 1024 * KiB });
  const login = await pool.request({ method: 'POST', path: '/console/api/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ passphrase: PASS }) });
  if (login.status !== 200) throw new Error(`console login: ${login.status} ${login.text}`);
  cookie = String(login.headers['set-cookie']?.[0]).split(';')[0]!;
  const sessionId = await initStreamable(srv.port, key.secret);
  const next = generator();
  const started = Date.now();
  let id = 1;
  // Health probes spaced by the flood's own answers, each on its own while the calls go on.
  let answered = 0;
  const probes: Promise<unknown>[] = [];
  const probeHealth = () => {
    if (++answered % HEALTH_EVERY) return;
    const t = performance.now();
    probes.push(pool.request({ path: '/healthz' }).then(() => health.push(performance.now() - t), () => health.push(Infinity)));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (tally.refused < REFUSALS) {
      const o = outcomeOf(await call(sessionId, id++, next()));
      probeHealth();
      if (o === 'refused') tally.refused++;
      else if (o === 'allowed') tally.allowed++;
      else if (tally.other.length < 20) tally.other.push(o);
    }
  }));
  // The newest calls the Live page shows: a burst of the large ones last.
  for (let i = 0; i < 30; i++) {
    const o = outcomeOf(await call(sessionId, id++, big429));
    probeHealth();
    if (o === 'refused') tally.refused++;
    else tally.other.push(o);
  }
  await Promise.all(probes);
  minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1;
  // The Live page, loaded PAGE_LOADS times in a row. While a load is in flight, health checks go out one after another (the
  // first with the load, each next one once the previous is answered): a load that holds the server up holds up the
  // probe that waits behind it.
  // The same probes with no page load, just before: what this machine answers a health check in right now, under
  // whatever else it runs. A load that blocks the server shows against it however busy the machine is.
  for (let i = 0; i < PAGE_LOADS * 2; i++) livePage.idle.push((await pool.request({ path: '/healthz' })).ms);
  for (let i = 0; i < PAGE_LOADS; i++) {
    let inFlight = true;
    const load = liveCalls().finally(() => (inFlight = false));
    do {
      const h = await pool.request({ path: '/healthz' });
      livePage.health.push(h.ms);
    } while (inFlight);
    const r = await load;
    livePage.loads.push({ status: r.status, ms: r.ms, bytes: r.bytes });
  }
  expect(await srv.stop()).toBe(0);
  sizeAfter = await dbSize();
  const median = (xs: number[]) => percentile(xs, 0.5);
  console.log([
    `audit flood (seed ${SEED}): ${tally.refused} refusals, ${tally.allowed} allowed, over ${minutes} wall-clock minute(s); codes ${JSON.stringify(Object.fromEntries(tally.codes))}`,
    `database ${sizeBefore} → ${sizeAfter} bytes: +${((sizeAfter - sizeBefore) / KiB).toFixed(0)} KiB (bound ${((minutes * README_BOUND_PER_KEY_MINUTE + FIXED_ALLOWANCE) / KiB).toFixed(0)} KiB)`,
    `health during the flood: median ${median(health).toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms (${health.length} probes)`,
    `Live page loads: median ${median(livePage.loads.map((l) => l.ms)).toFixed(1)} ms, largest ${Math.max(...livePage.loads.map((l) => l.bytes))} bytes; health meanwhile: median ${median(livePage.health).toFixed(1)} ms, 90th percentile ${percentile(livePage.health, 0.9).toFixed(1)} ms, max ${Math.max(...livePage.health).toFixed(1)} ms (${livePage.health.length} probes); with no load just before: 90th percentile ${percentile(livePage.idle, 0.9).toFixed(1)} ms`,
  ].join('\n'));
}

describeStores('a flood of refusals from one rate-limited ai:read key', (store) => {
  beforeAll(() => flood(store), budget(600_000));
  afterAll(async () => {
    pool?.close();
    if (srv?.alive()) await srv.kill9();
    if (dir) rmSync(dirname(dir), { recursive: true, force: true });
  });

  it(`sends ${REFUSALS} refusals; every answer is a refusal or one of the few calls the rate limit allows`, () => {
    expect(tally.other).toEqual([]);
    expect(tally.refused).toBeGreaterThanOrEqual(REFUSALS);
    expect(tally.allowed).toBeLessThanOrEqual(3 * minutes + 3);
  });

  it('grows the database by less than the README\'s bound for the minutes it lasted', () => {
    expect(sizeAfter - sizeBefore).toBeLessThan(minutes * README_BOUND_PER_KEY_MINUTE + FIXED_ALLOWANCE);
  });

  it('every refusal is in the log: stored in full, or in the count of its source, cause and minute', async () => {
    const rows = await withInstallSql(dir, storeUrl, (db) => db.sql.all<{ decision: string; detail_json: string | null }>(`SELECT decision, detail_json FROM audit_log WHERE event = 'tool_call' AND key_id = ? AND decision IN ('denied', 'throttled')`, [key.id]), { readOnly: true });
    let counted = 0;
    let full = 0;
    for (const r of rows) {
      const d = r.detail_json ? JSON.parse(r.detail_json) : null;
      if (d?.aggregated) counted += d.count;
      else full++;
    }
    expect(full + counted).toBe(tally.refused);
    expect(full).toBeLessThan(tally.refused / 10);
  });

  it('the Live page loads while the health check answers in well under 50 ms, or a few times what it answers in without one', () => {
    expect(livePage.loads.map((l) => l.status)).toEqual(Array(PAGE_LOADS).fill(200));
    expect(livePage.health.length).toBeGreaterThanOrEqual(PAGE_LOADS);
    // The 90th percentile: a load that blocks the server shows in every probe that waits behind it (the defect this
    // guards took 5.8 s a load). 50 ms on the reference machine, scaled like every other time bound of the suites; on a
    // machine busier now than when the scale was measured, 4 times the same probes' own 90th percentile with no load.
    expect(percentile(livePage.health, 0.9)).toBeLessThan(Math.max(budget(50), 4 * percentile(livePage.idle, 0.9)));
    expect(Math.max(...livePage.loads.map((l) => l.bytes)), 'a page of 200 calls stays small').toBeLessThan(2 * 1024 * KiB);
  });

  it('the chain and its signed checkpoints verify', async () => {
    expect((await auditVerifyHere(env, dir)).out).toMatch(/audit chain OK/);
  });
});
