// The bad-input campaign of issue 7: at least 10,000 generated inputs (seeded, reproducible) against both MCP transports
// (raw Streamable HTTP and an open legacy SSE session), the web console API with and without a valid cookie, and the
// HTTP routes around them. `countersign serve` runs as a child process so that its memory can be watched. Asserted:
// never a 5xx, a dropped connection or a timeout; every 2xx carries a JSON-RPC error or an isError result unless the input
// was valid; the server stays up; memory stays bounded; nothing is written but what valid inputs wrote (rows accounted
// for one by one); slow-drip clients do not hold up others; the audit chain still verifies.
// Counts per category, per HTTP status and per answer kind are printed at the end. The same campaign (same seed, same
// inputs) runs on both stores; rows are read back through the store's Sql seam.
import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { budget } from '../helpers/wait.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cliEnv, startServe, type ChildServer, type CliKey } from '../helpers/childServer.ts';
import { auditVerifyHere, createKeyHere, initDemoDirHere } from '../helpers/cliHere.ts';
import { HttpPool, LegacySession, slowDrip, type DripResult, type PoolResponse } from '../helpers/httpPool.ts';
import { createRng, seedFromEnv, type Rng } from '../helpers/prng.ts';
import { initializeRequest, initStreamable, mcpHeaders, parseSse, PROTOCOL_VERSION, rawRequest } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { describeStores, storeUrlFor, type StoreKind } from '../helpers/stores.ts';
import { withInstallSql } from '../helpers/installSql.ts';
import type { Sql } from '../../src-main/store/sql.ts';
import { GENESIS_HASH, hashRow, type AuditRow } from '../../src-main/audit/log.ts';

const PASS = 'bad input campaign passphrase';
const SEED = seedFromEnv('COUNTERSIGN_FAULT_SEED', 0xc0ffee);
const CONCURRENCY = 16;
/** Normal calls made by another key while the slow clients drip, one per PROBE_EVERY campaign answers; the abandoning ones drip until they are done. */
const PROBES = 25;
const PROBE_EVERY = 20;
/** COUNTERSIGN_CAMPAIGN_SCALE=3 sends three times as many inputs (to see whether memory grows with them). */
const SCALE = Number(process.env.COUNTERSIGN_CAMPAIGN_SCALE ?? 1);
/** The server's V8 old space is capped: a leak that grows with the number of inputs would end in an out-of-memory crash. */
const HEAP_CAP_MB = Number(process.env.COUNTERSIGN_CAMPAIGN_HEAP_MB ?? 256);
const BASE_ENV = cliEnv(PASS, { COUNTERSIGN_HTTP_RPS: '100000', COUNTERSIGN_APPROVAL_WAIT_SECONDS: '0' });
const SERVE_OPTIONS = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_CAP_MB}`.trim() };
const MiB = 1024 * 1024;

type Category =
  | 'malformed-json' | 'jsonrpc-shape' | 'batch' | 'wrong-types' | 'missing-required' | 'extra-keys' | 'out-of-range'
  | 'huge-strings' | 'huge-arrays' | 'deep-nesting' | 'unicode' | 'path-traversal' | 'sql-strings' | 'oversized-body'
  | 'slow-drip' | 'session-guess' | 'forged-cookie' | 'console-input' | 'auth-and-routes';

/** How an input reaches the server, and which live session (filled in when it is sent) it uses. */
type Via = 'streamable' | 'legacy' | 'console' | 'http';

interface Input {
  cat: Category;
  via: Via;
  method: string;
  /** For legacy inputs with `session`, the endpoint of the live legacy session is used. */
  path: string;
  headers: Record<string, string | undefined>;
  /** Add the live session (Mcp-Session-Id, or the legacy endpoint) and the campaign key. */
  session: boolean;
  /** Add the console cookie. */
  cookie: boolean;
  body?: string | Buffer;
  /** The JSON-RPC id of a request whose answer comes on the legacy stream. */
  rpcId?: string | number;
  /** 'error': invalid, must not succeed. 'any': may be valid. */
  expect: 'error' | 'any';
  tool?: string;
  args?: any;
  fresh?: boolean;
  chunked?: boolean;
  /** What the input is, for failure messages. */
  label: string;
}

type Kind = 'ok' | 'rpc-error' | 'tool-error' | 'accepted' | 'http-4xx' | 'http-5xx' | 'static' | 'net-error' | 'timeout' | 'no-answer';

interface Outcome {
  input: Input;
  status: number;
  kind: Kind;
  /** Tool error code, JSON-RPC error code, or the network error. */
  code?: string;
  ms: number;
  bytes: number;
  messages: any[];
}

// ---- a JSON serialiser that can splice raw text (deep nesting, 1e400, duplicate keys) into an otherwise normal value ----

/** The raws of the serialize call in progress (a Raw serialized anywhere else is an ordinary object). */
let rawsOfCall: string[] | undefined;
class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  // toJSON rather than a replacer function: JSON.stringify then calls into JavaScript only at a Raw, not at every value
  // of the megabyte inputs (the replacer was the largest CPU cost of this file's own process).
  toJSON(): unknown {
    return rawsOfCall ? `\u0001RAW${rawsOfCall.push(this.text) - 1}\u0001` : { text: this.text };
  }
}
function serialize(v: unknown): string {
  const raws: string[] = [];
  rawsOfCall = raws;
  let s: string;
  try {
    s = JSON.stringify(v);
  } finally {
    rawsOfCall = undefined;
  }
  return s.includes('\\u0001RAW') ? s.replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!) : s;
}
const nestArrays = (depth: number, inner = '"x"') => '['.repeat(depth) + inner + ']'.repeat(depth);
const nestObjects = (depth: number, inner = '"x"') => '{"a":'.repeat(depth) + inner + '}'.repeat(depth);

// ---- value pools ----

const UNICODE = [
  '\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', 'x\udbff', // lone and reversed surrogates
  '\u202eevil\u202c.exe', '\u200f\u05e9\u05dc\u05d5\u05dd', '\u0645\u0631\u062d\u0628\u0627', '\u202b\u202a\u202d\u202e', // RTL
  '\u200b', 'a\u200bb\u200cc\u200dd\u2060e\ufeff', '\ufeffBOM', // zero width
  '\u0000', 'a\u0000b', 'nul\u0000in\u0000middle', '\u0000'.repeat(50), // NUL
  '\ud83d\ude00\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67', 'e\u0301\u0301\u0301\u0301', 'Z\u0364\u0354\u0367\u0311a\u0308\u0356\u032d', // emoji, combining
  '\uffff', '\ufffe', '\u2028\u2029', '\u001b[31mred\u001b[0m', '\r\n\t\v\f', '\u0130\u0131', '\u00df', '\udbff\udfff', '\u{10ffff}',
  '\u0085', '\u00a0\u1680\u3000', 'A\u0338', '\u2066\u2067\u2068\u2069', '\ufdd0\ufdef',
];
const SQL = [
  `' OR 1=1 --`, `'; DROP TABLE audit_log; --`, `" OR ""="`, `1; SELECT * FROM api_keys`, `%' OR '1'='1`, `acme-dental' --`,
  `') UNION SELECT hmac, 1, 1 FROM api_keys --`, `\\'; DELETE FROM devices; --`, `%`, `_`, `%%`, `\\`, `' AND sqlite_version() --`,
  `1' ORDER BY 99 --`, `Robert'); DROP TABLE executions;--`, `' || (SELECT group_concat(hmac) FROM api_keys) || '`, `*/ /*`, `NULL`,
  `0x00`, `'; ATTACH DATABASE '/tmp/x.db' AS x; --`, `'; PRAGMA writable_schema=1; --`, `1 OR 1`, `'||'`, `[`, `\`; DROP TABLE devices; --`,
];
const TRAVERSAL = [
  '../../etc/passwd', '..\\..\\windows\\win.ini', '/etc/passwd', '....//....//etc/passwd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '..%2f..%2f',
  `${'../'.repeat(20)}etc/shadow`, 'reports/../../secrets.json', '../secrets.json', 'file:///etc/passwd', '\\\\server\\share\\x',
  'C:\\Windows\\System32\\config\\SAM', '~/.ssh/id_rsa', 'acme-dental/../northwind-legal', '/dev/zero', '/proc/self/environ', '.', '..',
  '...', '../countersign.db', 'acme-dental/../../../../tmp/x', '..%252f..%252fetc%252fpasswd', '\u002e\u002e/\u002e\u002e/',
];
const EXTRA_KEYS = ['__proto__', 'constructor', 'toString', 'isAdmin', 'approved', 'tier', 'tenantId', 'keyId', 'approvalId', 'scopes', '\u0000', '\ud800', '$where', 'a.b', 'x'.repeat(5000), '\u202e'];

// ---- the running campaign's shared state ----

let dir: string;
/** Team mode: the PostgreSQL database of this store's campaign (undefined: the SQLite file in dir). */
let storeUrl: string | undefined;
let env: NodeJS.ProcessEnv;
let srv: ChildServer;
let pool: HttpPool;
let campaign: CliKey;
let other: CliKey;
let cookie: string;
let sid: string;
let otherSid: string;
let legacy: LegacySession;
let otherLegacy: LegacySession;
let legacyReopens = 0;
let tools: { name: string; inputSchema: any }[];
const ids: Record<string, string> = {};
let hostnames: string[] = [];
let before: Record<string, number | string>;
let after: Record<string, number | string>;
const outcomes: Outcome[] = [];
const rss: { t: number; bytes: number }[] = [];
let rssBaseline = 0;
let rssFinal = 0;
let drips: { label: string; r: DripResult }[] = [];
let probes: { ok: boolean; ms: number; why?: string }[] = [];
let campaignMs = 0;
let listingBefore: { data: string[]; parent: string[] };
let finalChecks: { health: number; http: boolean; sse: boolean; stopped: number | string; verify: { status: number | null; out: string } };

const ROW_TABLES = ['executions', 'device_commands', 'documents', 'approvals', 'reports', 'api_keys', 'console_sessions', 'tier_overrides'];

/** The schema as each store describes it: SQLite's own statements, or PostgreSQL's catalogue of the public schema. */
const SCHEMA_OF: Record<Sql['dialect'], string> = {
  sqlite: 'SELECT type, name, sql FROM sqlite_master ORDER BY name',
  postgres: `SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = 'public' ORDER BY c.relname, a.attnum`,
};

function snapshot(): Promise<Record<string, number | string>> {
  return withInstallSql(dir, storeUrl, async (db) => {
    const out: Record<string, number | string> = {};
    for (const t of ROW_TABLES) out[t] = await db.num(`SELECT count(*) FROM ${t}`);
    out.settings = createHash('sha256').update(JSON.stringify(await db.sql.all('SELECT name, value_json FROM settings ORDER BY name'))).digest('hex');
    out.schema = createHash('sha256').update(JSON.stringify(await db.sql.all(SCHEMA_OF[db.sql.dialect]))).digest('hex');
    out.devices = await db.num('SELECT count(*) FROM devices');
    return out;
  }, { readOnly: true });
}

// ---- the generator ----

interface Prop {
  name: string;
  types: string[];
  required: boolean;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
}

function propsOf(schema: any): Prop[] {
  const req = new Set<string>(schema.required ?? []);
  return Object.entries<any>(schema.properties ?? {}).map(([name, v]) => {
    const types: string[] = v.type ? ([] as string[]).concat(v.type) : (v.anyOf ?? []).flatMap((a: any) => ([] as string[]).concat(a.type ?? []));
    return {
      name, types, required: req.has(name), enum: v.enum, minLength: v.minLength, maxLength: v.maxLength,
      minimum: v.minimum ?? (v.exclusiveMinimum !== undefined ? v.exclusiveMinimum + 1 : undefined),
      maximum: v.maximum ?? (v.exclusiveMaximum !== undefined ? v.exclusiveMaximum - 1 : undefined),
      minItems: v.minItems, maxItems: v.maxItems, format: v.format,
    };
  });
}

/** Arguments that are valid for the campaign key (tenants acme-dental and globex-logistics). */
function baseArgs(tool: string): Record<string, unknown> {
  switch (tool) {
    case 'list_devices': return { limit: 5 };
    case 'get_device_details': return { deviceId: ids.device! };
    case 'device_actions': return { action: 'lock', deviceIds: [ids.device!], reason: 'campaign base' };
    case 'get_alerts': return { limit: 5 };
    case 'acknowledge_alerts': return { alertIds: [ids.alert!] };
    case 'resolve_alerts': return { alertIds: [ids.alert2!], resolutionNote: 'campaign base' };
    case 'get_patch_status': return { limit: 5 };
    case 'deploy_patches': return { deviceIds: [ids.patchDevice!], patchIds: [ids.patch!] };
    case 'run_script': return { scriptId: ids.script!, deviceIds: [ids.windowsDevice!] };
    case 'get_script_results': return { executionId: ids.execution! };
    case 'generate_report': return { tenant: 'acme-dental', type: 'inventory', format: 'csv' };
    case 'get_report_status': return { reportId: ids.report! };
    case 'create_runbook': return { tenant: 'acme-dental', title: 'campaign', body: 'campaign body' };
    case 'add_incident_note': return { incidentId: ids.incident!, body: 'campaign note' };
    case 'create_change_log': return { tenant: 'acme-dental', title: 'campaign', description: 'campaign change', changeType: 'other' };
    case 'fleet_health_check': return {};
    case 'compliance_summary': return {};
    case 'list_scripts': return { limit: 5 };
    case 'get_documents': return { limit: 5 };
    case 'get_approval_status': return { approvalId: ids.approval! };
    case 'cancel_approval': return { approvalId: ids.cancellable! };
    default: return {};
  }
}

const typeOfValue = (v: unknown): string[] => {
  if (v === null) return ['null'];
  if (Array.isArray(v)) return ['array'];
  if (typeof v === 'number') return Number.isInteger(v) ? ['number', 'integer'] : ['number'];
  return [typeof v];
};
const WRONG_VALUES: unknown[] = [42, -7, 3.5, 0, true, false, null, {}, { a: 1 }, [], [1, 'x'], 'text', '', '42', 'true', 'null'];

/** JSON-RPC ids stay unique across the whole run (the SDK routes answers by id). */
let nextId = 0;
const cursorOf = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function generate(rng: Rng): Input[] {
  const inputs: Input[] = [];
  const rid = (prefix = 'c') => `${prefix}${++nextId}`;
  const via = (): 'streamable' | 'legacy' => (rng.chance(0.6) ? 'streamable' : 'legacy');

  /** One JSON-RPC message (or raw text) to the live session of a transport. */
  const mcp = (cat: Category, v: 'streamable' | 'legacy', body: string | Buffer, o: { expect: 'error' | 'any'; rpcId?: string | number; tool?: string; args?: any; headers?: Record<string, string | undefined>; label: string; session?: boolean; fresh?: boolean; chunked?: boolean }) => {
    inputs.push({
      cat, via: v, method: 'POST', path: v === 'streamable' ? '/api/v1/mcp' : '', headers: o.headers ?? {}, session: o.session ?? true, cookie: false,
      body, rpcId: o.rpcId, expect: o.expect, tool: o.tool, args: o.args, fresh: o.fresh, chunked: o.chunked, label: o.label,
    });
  };
  const toolCall = (cat: Category, tool: string, args: unknown, expect: 'error' | 'any', label: string, v = via()) => {
    const id = rid(v === 'legacy' ? 'L' : 'S');
    mcp(cat, v, serialize({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } }), { expect, rpcId: id, tool, args, label: `${tool}: ${label}` });
  };
  const consoleReq = (cat: Category, method: string, path: string, o: { body?: string | Buffer; cookie?: boolean; headers?: Record<string, string | undefined>; expect?: 'error' | 'any'; label: string }) => {
    inputs.push({
      cat, via: 'console', method, path: `/console/api${path}`, session: false, cookie: o.cookie ?? false,
      headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...o.headers }, body: o.body, expect: o.expect ?? 'error', label: `${method} ${path}: ${o.label}`,
    });
  };
  const httpReq = (cat: Category, method: string, path: string, o: { headers?: Record<string, string | undefined>; body?: string; label: string; session?: boolean }) => {
    inputs.push({ cat, via: 'http', method, path, headers: o.headers ?? {}, session: o.session ?? false, cookie: false, body: o.body, expect: 'error', label: `${method} ${path}: ${o.label}` });
  };
  const toolsWith = (pred: (p: Prop) => boolean) => tools.map((t) => ({ t, props: propsOf(t.inputSchema).filter(pred) })).filter((x) => x.props.length > 0);

  // 1. Malformed JSON (900)
  const validCall = () => JSON.stringify({ jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 1 } } });
  const malformed: (() => string | Buffer)[] = [
    () => validCall().slice(0, rng.int(1, 60)),
    () => `${validCall()}${rng.pick(['}', ']', ',', 'x', '{}', ' trailing', '\u0000'])}`,
    () => validCall().replace(/"/g, "'"),
    () => validCall().replace('{', '{ // comment\n'),
    () => validCall().replace('"2.0"', 'NaN'),
    () => validCall().replace(':1}', ':Infinity}'),
    () => validCall().replace(/,/, ',,'),
    () => `\ufeff${validCall()}`,
    () => Buffer.from(Array.from({ length: rng.int(1, 400) }, () => rng.int(0, 255))),
    () => rng.pick(['', ' ', '\n\n', 'null', 'true', '0', '"string"', '[', ']', '{', '}', '{"', 'undefined', '{}}', '[[]', '{"a":}', '{:1}', '{"a" 1}']),
    () => `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"${'\\'.repeat(rng.int(1, 3))}`,
    () => '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\\uZZZZ"}}',
    () => '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"s":"\\ud800\\u"}}',
    () => `{"jsonrpc":"2.0","id":01,"method":"ping"}`,
    () => `{"jsonrpc":"2.0","id":-,"method":"ping"}`,
    () => `{"jsonrpc":"2.0","id":1,"method":"ping"}`.repeat(rng.int(2, 5)),
    () => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), 'utf16le'),
  ];
  for (let i = 0; i < 900; i++) {
    if (i % 30 === 0) {
      // Invalid UTF-8 inside a JSON string decodes to U+FFFD (lenient, like most JSON servers): a valid ping.
      const bytes = Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":"${rid()}`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]), Buffer.from('","method":"ping"}')]);
      mcp('malformed-json', 'streamable', bytes, { expect: 'any', label: 'invalid UTF-8 inside a string' });
      continue;
    }
    const body = rng.pick(malformed)();
    const target = rng.int(0, 9);
    const label = `malformed JSON ${JSON.stringify(body.toString('latin1').slice(0, 50))}`;
    if (target < 5) mcp('malformed-json', 'streamable', body, { expect: 'error', label, session: rng.chance(0.8) });
    else if (target < 8) mcp('malformed-json', 'legacy', body, { expect: 'error', label });
    else {
      const [m, p] = rng.pick([['POST', '/login'], ['POST', `/approvals/${ids.approval}/deny`], ['POST', '/rpc/listApprovals'], ['POST', '/rpc/createKey'], ['POST', '/rpc/updatePolicy']] as const);
      consoleReq('malformed-json', m, p, { body, cookie: p !== '/login', label: 'malformed JSON' });
    }
  }

  // 2. Wrong JSON-RPC shapes (1300)
  const shapes: (() => { msg: unknown; expect: 'error' | 'any'; request: boolean })[] = [
    () => ({ msg: { id: rid(), method: 'ping' }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: rng.pick(['1.0', '2', 2, null, '', '2.0 ', true]), id: rid(), method: 'ping' }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rng.pick([{}, [], true, null, [1], { a: 1 }]), method: 'ping' }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: rng.pick([1, null, true, {}, [], '']) }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid() }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: rng.pick(['tools/unknown', 'rpc.discover', '$/cancelRequest', '__proto__', 'constructor', 'tools/call/x', 'TOOLS/CALL', 'x'.repeat(10_000), rng.pick(UNICODE), rng.pick(SQL), rng.pick(TRAVERSAL)]) }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/call', params: rng.pick([[], 'x', 1, null, true, [{ name: 'whoami' }]]) }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { arguments: {} } }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { name: rng.pick([1, null, true, {}, ['whoami']]) } }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { name: 'whoami', arguments: rng.pick([[], 'x', 1, true, [1, 2]]) } }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { name: 'whoami', arguments: null } }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { name: 'whoami', _meta: { progressToken: rng.pick([{}, [], true, null]) } } }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), result: {} }, expect: 'any', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), error: { code: -32000, message: 'client error' } }, expect: 'any', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), result: {}, error: { code: 1, message: 'both' } }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), error: { code: 'x', message: 5 } }, expect: 'error', request: false }),
    () => ({ msg: { jsonrpc: '2.0', method: rng.pick(['notifications/unknown', 'notifications/cancelled', 'notifications/progress', 'notifications/roots/list_changed', 'notifications/initialized']), params: rng.pick([{}, { requestId: 'nope' }, { progressToken: 1, progress: 'x' }, undefined]) }, expect: 'any', request: false }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'tools/list', params: rng.pick([{ cursor: 123 }, { cursor: 'x'.repeat(1000) }, { cursor: rng.pick(SQL) }]) }, expect: 'any', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'resources/read', params: { uri: rng.pick(['countersign://devices/../../etc/passwd', 'file:///etc/passwd', 'countersign://devices/%2e%2e', `countersign://devices/${rng.pick(SQL)}`, 'countersign://nope', '', 'x'.repeat(5000), `countersign://devices/${rng.pick(UNICODE)}`, 'countersign://devices/' + ids.foreignDevice]) } }, expect: 'any', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'resources/read', params: rng.pick([{}, { uri: 5 }, { uri: null }]) }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'prompts/get', params: rng.pick([{ name: 'nope' }, { name: 'triage-alerts', arguments: { tenant: rng.pick(SQL) } }, { name: 'patch-plan', arguments: { x: 1 } }, {}, { name: 5 }, { name: rng.pick(UNICODE) }]) }, expect: 'any', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'logging/setLevel', params: rng.pick([{ level: 'verbose' }, { level: 5 }, {}, { level: rng.pick(UNICODE) }]) }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'triage-alerts' }, argument: { name: 'tenant', value: rng.pick(SQL) } } }, expect: 'any', request: true }),
    // A second initialize: the Streamable transport refuses it; the SDK's legacy SSE server answers it (see the 'any' below).
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: 'initialize', params: initializeRequest().params }, expect: 'error', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: rid(), method: rng.pick(['ping', 'tools/list', 'resources/list', 'prompts/list', 'resources/templates/list']), params: rng.pick([undefined, {}, { extra: 1 }, { _meta: {} }]), extra: rng.pick([1, 'x', null]) }, expect: 'any', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: `${rng.pick(UNICODE)}-${rid()}`, method: 'ping' }, expect: 'any', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: 1_000_000_000 + ++nextId, method: 'ping' }, expect: 'any', request: true }),
    () => ({ msg: { jsonrpc: '2.0', id: `${'x'.repeat(rng.int(100, 20_000))}${rid()}`, method: 'ping' }, expect: 'any', request: true }),
  ];
  for (let i = 0; i < 1300; i++) {
    const { msg, expect: shapeExpect, request } = rng.pick(shapes)();
    const v = via();
    const ex = v === 'legacy' && (msg as { method?: unknown }).method === 'initialize' ? 'any' : shapeExpect;
    const id = (msg as { id?: unknown }).id;
    mcp('jsonrpc-shape', v, serialize(msg), { expect: ex, rpcId: request && (typeof id === 'string' || typeof id === 'number') ? id : undefined, label: `shape ${serialize(msg).slice(0, 120)}` });
  }
  // The numeric ids JSON allows but clients rarely send, each once.
  for (const raw of ['-1', '1.5', '-0', '1e300', '1e400', '9007199254740993', '-9007199254740993', '0.1e-400']) {
    mcp('jsonrpc-shape', 'streamable', `{"jsonrpc":"2.0","id":${raw},"method":"ping"}`, { expect: 'any', label: `id ${raw}` });
  }

  // 3. Batches (300 + a few huge ones)
  const batchItem = (): { v: unknown; ok: boolean } => rng.pick([
    () => ({ v: { jsonrpc: '2.0', id: rid('B'), method: 'ping' }, ok: true }),
    () => ({ v: { jsonrpc: '2.0', id: rid('B'), method: 'tools/list' }, ok: true }),
    () => ({ v: { jsonrpc: '2.0', id: rid('B'), method: 'tools/call', params: { name: 'whoami', arguments: {} } }, ok: true }),
    () => ({ v: { jsonrpc: '2.0', id: rid('B'), method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 'x' } } }, ok: true }),
    () => ({ v: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'nope' } }, ok: true }),
    () => ({ v: { jsonrpc: '2.0', id: rid('B'), method: 'initialize', params: initializeRequest().params }, ok: true }),
    () => ({ v: rng.pick([1, 'x', null, [], {}, { id: 1 }, { jsonrpc: '1.0', method: 'ping' }]), ok: false }),
  ])();
  for (let i = 0; i < 300; i++) {
    const n = rng.pick([0, 1, 2, 3, 5, 10, 20, 50]);
    const items = Array.from({ length: n }, batchItem);
    const allOk = n > 0 && items.every((x) => x.ok);
    const v = rng.chance(0.75) ? 'streamable' : 'legacy';
    const nested = rng.chance(0.05);
    mcp('batch', v, serialize(nested ? [items.map((x) => x.v)] : items.map((x) => x.v)), { expect: allOk && v === 'streamable' && !nested ? 'any' : 'error', label: `batch of ${n}${nested ? ' (nested)' : ''}` });
  }
  const huge = (n: number, make: (i: number) => unknown, label: string) => mcp('batch', 'streamable', JSON.stringify(Array.from({ length: n }, (_, i) => make(i))), { expect: 'any', label });
  for (let k = 0; k < 3; k++) huge(2_000, (i) => ({ jsonrpc: '2.0', id: `hp${k}-${i}`, method: 'ping' }), 'huge batch: 2,000 pings');
  huge(15_000, (i) => ({ jsonrpc: '2.0', id: i + 5_000_000, method: 'ping' }), 'huge batch: 15,000 pings');
  huge(5_000, () => ({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'none' } }), 'huge batch: 5,000 notifications');
  for (let k = 0; k < 2; k++) huge(300, (i) => ({ jsonrpc: '2.0', id: `ht${k}-${i}`, method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 1 } } }), 'huge batch: 300 tools/call');
  huge(1_000, (i) => ({ jsonrpc: '2.0', id: `hb${i}`, method: 'tools/call', params: { name: 'get_device_details', arguments: { deviceId: 'x'.repeat(65) } } }), 'huge batch: 1,000 invalid tools/call');

  // 4. Tool arguments, from the real tool list: wrong types (1600), missing required (300), extra keys (400), out of range (800)
  for (let i = 0; i < 1600; i++) {
    const t = rng.pick(tools);
    const props = propsOf(t.inputSchema);
    const args = { ...baseArgs(t.name) };
    if (props.length === 0 || rng.chance(0.08)) {
      toolCall('wrong-types', t.name, rng.pick([[], 'x', 1, true, [1]]), 'error', 'arguments not an object');
      continue;
    }
    const p = rng.pick(props);
    if (p.types.length === 0) continue;
    const candidates = WRONG_VALUES.filter((v) => !typeOfValue(v).some((ty) => p.types.includes(ty)) && !(p.types.includes('number') && typeof v === 'number'));
    if (candidates.length === 0) continue;
    args[p.name] = rng.pick(candidates);
    toolCall('wrong-types', t.name, args, 'error', `${p.name} = ${serialize(args[p.name])}`);
  }
  const withRequired = tools.filter((t) => (t.inputSchema.required ?? []).length > 0);
  for (let i = 0; i < 300; i++) {
    const t = rng.pick(withRequired);
    const args = { ...baseArgs(t.name) };
    const missing = rng.pick(t.inputSchema.required as string[]);
    delete args[missing];
    toolCall('missing-required', t.name, args, 'error', `without ${missing}`);
  }
  for (let i = 0; i < 400; i++) {
    const t = rng.pick(tools);
    const own = new Set(Object.keys(t.inputSchema.properties ?? {}));
    const args: Record<string, unknown> = JSON.parse(JSON.stringify(baseArgs(t.name)));
    const extra = rng.shuffle(EXTRA_KEYS.filter((k) => !own.has(k))).slice(0, rng.int(1, 4));
    for (const k of extra) args[k] = rng.pick([true, 1, 'admin', { nested: true }, [ids.foreignDevice], null]);
    // JSON.stringify skips an own __proto__ set by assignment (it sets the prototype); splice it in as text.
    const body = serialize(args).replace(/^\{/, extra.includes('__proto__') ? '{"__proto__":{"isAdmin":true,"tier":1},' : '{').replace(/,\}$/, '}');
    toolCall('extra-keys', t.name, new Raw(body), 'any', `extra keys ${extra.map((k) => k.slice(0, 12)).join(', ')}`);
  }
  const ranged = toolsWith((p) => p.types.includes('integer') || p.types.includes('number') || p.maxLength !== undefined || p.maxItems !== undefined || p.name === 'cursor' || p.format === 'date-time');
  for (let i = 0; i < 800; i++) {
    const { t, props } = rng.pick(ranged);
    const p = rng.pick(props);
    const args: Record<string, unknown> = { ...baseArgs(t.name) };
    let expectation: 'error' | 'any' = 'error';
    if (p.name === 'cursor' && rng.chance(0.5)) {
      const forged = rng.pick([
        { c: cursorOf({ o: -1 }), e: 'error' }, { c: cursorOf({ o: 1e300 }), e: 'any' }, { c: cursorOf({ o: '5' }), e: 'error' },
        { c: cursorOf({ o: 1.5 }), e: 'error' }, { c: cursorOf({ o: 2 ** 53 + 2 }), e: 'any' }, { c: cursorOf({ o: 1e15 }), e: 'any' },
        { c: cursorOf([]), e: 'error' }, { c: cursorOf(null), e: 'error' }, { c: 'not base64 !!', e: 'error' }, { c: '', e: 'error' },
        { c: cursorOf({ o: 3, __proto__: { o: 1 } }), e: 'any' }, { c: Buffer.from('{"o":1e400}').toString('base64url'), e: 'error' },
      ] as const);
      args.cursor = forged.c;
      expectation = forged.e;
      toolCall('out-of-range', t.name, args, expectation, `cursor ${Buffer.from(forged.c, 'base64url').toString('utf8').slice(0, 40)}`);
      continue;
    } else if (p.types.includes('integer') || p.types.includes('number')) {
      const raw = rng.pick(['-1', '0', '-0', '0.5', '1e308', '1e400', '-1e400', '9007199254740993', String((p.maximum ?? 100) + 1), String((p.minimum ?? 0) - 1), String(p.maximum ?? 1), String(p.minimum ?? 1)]);
      const n = Number(raw);
      const inRange = Number.isFinite(n) && (p.types.includes('integer') ? Number.isInteger(n) : true) && n >= (p.minimum ?? -Infinity) && n <= (p.maximum ?? Infinity);
      args[p.name] = new Raw(raw);
      expectation = inRange ? 'any' : 'error';
    } else if (p.maxItems !== undefined) {
      const n = rng.pick([p.maxItems + 1, p.maxItems + 50, 0]);
      args[p.name] = Array.from({ length: n }, (_, k) => (p.name.toLowerCase().includes('device') ? ids.device : `x${k}`));
      expectation = n === 0 && (p.minItems ?? 0) === 0 ? 'any' : 'error';
    } else if (p.format === 'date-time') {
      args[p.name] = rng.pick(['not a date', '2026-13-45T99:99:99Z', '2026-01-01', '+275760-09-13T00:00:00.000Z', '0000-00-00T00:00:00Z', '2026-01-01T00:00:00', rng.pick(SQL)]);
      expectation = 'error';
    } else {
      const len = rng.pick([(p.maxLength ?? 10) + 1, (p.maxLength ?? 10) * 2, 0]);
      args[p.name] = 'r'.repeat(len);
      expectation = len === 0 && (p.minLength ?? 0) === 0 ? 'any' : 'error';
    }
    toolCall('out-of-range', t.name, args, expectation, `${p.name} out of range`);
  }

  // 5. Huge strings (250, up to ~200 KB) and huge arrays (200, up to ~900 KB), all under the 1 MiB cap.
  const stringy = toolsWith((p) => p.types.includes('string') && !p.enum);
  for (let i = 0; i < 250; i++) {
    const { t, props } = rng.pick(stringy);
    const p = rng.pick(props);
    const unit = rng.pick(['A', 'é', '\ud83d\ude00', '\u0000', '<', '"', '\\']);
    // NUL is sent as \u0000 (6 bytes): keep every body under the 1 MiB cap.
    const len = rng.int(50_000, unit === '\u0000' ? 160_000 : 200_000);
    const args = { ...baseArgs(t.name), [p.name]: unit.repeat(Math.ceil(len / unit.length)).slice(0, len) };
    toolCall('huge-strings', t.name, args, len > (p.maxLength ?? Infinity) ? 'error' : 'any', `${p.name}: ${len} chars of ${JSON.stringify(unit)}`);
  }
  const arrays = toolsWith((p) => p.types.includes('array'));
  for (let i = 0; i < 200; i++) {
    const { t, props } = rng.pick(arrays);
    const p = rng.pick(props);
    const n = rng.int(10_000, 90_000);
    const item = rng.pick<() => unknown>([() => 'd', () => 1, () => null, () => ids.device!.slice(0, 8)]);
    const args = { ...baseArgs(t.name), [p.name]: Array.from({ length: n }, item) };
    toolCall('huge-arrays', t.name, args, 'error', `${p.name}: ${n} items`);
  }

  // 6. Deep nesting (120): 1k-100k levels in a field, in arguments, in params, in _meta, in the id; console bodies too.
  for (let i = 0; i < 120; i++) {
    const depth = rng.pick([1_000, 5_000, 10_000, 10_000, 10_000, 50_000, 100_000]);
    const nested = rng.chance(0.5) ? nestArrays(depth) : nestObjects(depth);
    const where = rng.int(0, 5);
    const t = rng.pick(tools);
    const props = propsOf(t.inputSchema);
    if (where === 0 && props.length) {
      const p = rng.pick(props);
      // A field that takes any JSON object (a change log's before/after) may take a shallow enough one.
      toolCall('deep-nesting', t.name, { ...baseArgs(t.name), [p.name]: new Raw(nested) }, p.types.includes('object') ? 'any' : 'error', `${p.name}: ${depth} levels`);
    } else if (where === 1) {
      toolCall('deep-nesting', t.name, new Raw(`{"nested":${nested}}`), 'any', `arguments.nested: ${depth} levels`);
    } else if (where === 2) {
      const id = rid();
      mcp('deep-nesting', via(), `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":${nestArrays(depth, '{}')}}`, { expect: 'error', label: `params: ${depth} levels` });
    } else if (where === 3) {
      const id = rid('L');
      mcp('deep-nesting', via(), `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"whoami","_meta":{"progressToken":${nested}}}}`, { expect: 'error', rpcId: id, label: `_meta.progressToken: ${depth} levels` });
    } else if (where === 4) {
      mcp('deep-nesting', via(), `{"jsonrpc":"2.0","id":${nested},"method":"ping"}`, { expect: 'error', label: `id: ${depth} levels` });
    } else {
      const [m, p] = rng.pick([['POST', '/login'], ['POST', '/rpc/queryAudit'], ['POST', '/rpc/createKey'], ['POST', `/approvals/${ids.approval}/deny`]] as const);
      consoleReq('deep-nesting', m, p, { body: p === '/login' ? `{"passphrase":${nested}}` : p.includes('deny') ? `{"reason":${nested}}` : `{"q":${nested}}`, cookie: true, label: `${depth} levels` });
    }
  }

  // 7-9. Unicode edge cases (900), path traversal (500), SQL-looking strings (700) in every string field, and names.
  const textFields = toolsWith((p) => p.types.includes('string') || p.types.includes('array'));
  const nasty = (cat: Category, pool: string[], n: number) => {
    for (let i = 0; i < n; i++) {
      const r = rng.int(0, 19);
      if (r === 0) {
        toolCall(cat, rng.pick(pool) + (rng.chance(0.5) ? '' : rng.pick(tools).name), {}, 'error', 'tool name');
        continue;
      }
      const { t, props } = rng.pick(textFields);
      const p = rng.pick(props);
      const s = rng.chance(0.7) ? rng.pick(pool) : `${rng.pick(pool)}${rng.pick(['campaign', ' ', '', rng.pick(pool)])}${rng.pick(pool)}`;
      const value = p.types.includes('array') ? [s] : s;
      toolCall(cat, t.name, { ...baseArgs(t.name), [p.name]: value }, 'any', `${p.name} = ${JSON.stringify(value).slice(0, 60)}`);
    }
  };
  nasty('unicode', UNICODE, 900);
  nasty('sql-strings', SQL, 700);
  nasty('path-traversal', TRAVERSAL, 400);
  for (const tr of TRAVERSAL) {
    toolCall('path-traversal', 'get_report_status', { reportId: tr }, 'error', 'reportId');
    toolCall('path-traversal', 'generate_report', { tenant: tr, type: 'inventory', format: 'csv' }, 'error', 'tenant');
  }
  const routes = ['/../../etc/passwd', '/assets/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/console/api/../../etc/passwd', '/api/v1/mcp/../../../etc/passwd',
    '/index.html/../../secrets.json', '/..%2f..%2fsecrets.json', '/.env', '/.git/config', '/favicon.svg/..%2f..%2f..%2fpackage.json', '/assets/..%5c..%5c..%5cpackage.json',
    '/assets/%00.js', '/reports/acme-dental/../../countersign.db', '/countersign.db', '//etc/passwd', '/assets/../../src-main/app.ts', '/console/api/approvals/..%2f..%2f..%2fetc%2fpasswd',
    '/console/api/rpc/..%2flogin', '/api/v1/mcp/message/../sse', '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', '/assets/' + 'a/'.repeat(200) + '../'.repeat(210) + 'etc/passwd'];
  for (const r of routes) for (let k = 0; k < 4; k++) {
    inputs.push({ cat: 'path-traversal', via: 'http', method: k % 2 ? 'HEAD' : 'GET', path: r, headers: {}, session: false, cookie: k >= 2, expect: 'error', label: `GET ${r}` });
  }

  // 10. Oversized bodies (40): over 1 MiB to MCP (Content-Length, chunked, announced only), over 64 KiB to the console.
  for (let i = 0; i < 40; i++) {
    const kind = i % 5;
    const big = `{"jsonrpc":"2.0","id":"${rid()}","method":"tools/call","params":{"name":"whoami","arguments":{"pad":"${'p'.repeat(MiB + rng.int(1, 4096))}"}}}`;
    if (kind === 0) mcp('oversized-body', 'streamable', big, { expect: 'error', label: 'over 1 MiB, Content-Length', fresh: true });
    else if (kind === 1) mcp('oversized-body', 'streamable', big, { expect: 'error', label: 'over 1 MiB, chunked', fresh: true, chunked: true });
    else if (kind === 2) mcp('oversized-body', 'legacy', big, { expect: 'error', label: 'over 1 MiB to the legacy endpoint', fresh: true });
    else if (kind === 3) mcp('oversized-body', 'streamable', '{}', { expect: 'error', label: 'announces 50 MiB, sends 2 bytes', fresh: true, headers: { 'content-length': String(50 * MiB) } });
    else consoleReq('oversized-body', 'POST', rng.pick(['/login', '/rpc/queryAudit', `/approvals/${ids.approval}/deny`]), { body: `{"reason":"${'r'.repeat(64 * 1024 + 10)}"}`, cookie: true, label: 'over 64 KiB' });
  }
  for (const i of inputs) if (i.cat === 'oversized-body') i.fresh = true;

  // 11. Guessed and stolen session ids (700).
  for (let i = 0; i < 700; i++) {
    const guess = rng.pick([
      () => `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-a${rng.hex(3)}-${rng.hex(12)}`, () => otherSid, () => sid.toUpperCase(), () => `${sid}x`,
      () => sid.slice(0, -1) + (sid.endsWith('0') ? '1' : '0'), () => '', () => 'x'.repeat(rng.int(100, 8000)), () => rng.pick(SQL), () => rng.pick(TRAVERSAL),
      () => '00000000-0000-0000-0000-000000000000', () => otherLegacy.sessionId, () => String(rng.int(0, 1e9)),
    ])();
    const r = rng.int(0, 9);
    const msg = JSON.stringify({ jsonrpc: '2.0', id: rid(), method: 'tools/call', params: { name: 'whoami', arguments: {} } });
    if (r < 5) {
      inputs.push({ cat: 'session-guess', via: 'streamable', method: 'POST', path: '/api/v1/mcp', session: false, cookie: false, expect: 'error', body: msg, label: `Mcp-Session-Id ${guess.slice(0, 40)}`,
        headers: { ...mcpHeaders(campaign.secret), 'mcp-session-id': guess === '' ? undefined : guess, 'mcp-protocol-version': PROTOCOL_VERSION } });
    } else if (r < 7) {
      inputs.push({ cat: 'session-guess', via: 'streamable', method: rng.pick(['GET', 'DELETE']), path: '/api/v1/mcp', session: false, cookie: false, expect: 'error', label: `GET/DELETE session ${guess.slice(0, 40)}`,
        headers: { 'x-api-key': campaign.secret, accept: 'text/event-stream', 'mcp-session-id': guess === '' || guess === sid ? 'nope' : guess } });
    } else {
      const q = rng.pick([`sessionId=${encodeURIComponent(guess)}`, `sessionId=${encodeURIComponent(guess)}&sessionId=${legacy.sessionId}`, `sessionid=${legacy.sessionId}`, `sessionId[]=${legacy.sessionId}`, '']);
      inputs.push({ cat: 'session-guess', via: 'legacy', method: 'POST', path: `/api/v1/mcp/message?${q}`, session: false, cookie: false, expect: 'error', body: msg, label: `legacy ${q.slice(0, 60)}`,
        headers: LegacySession.headers(campaign.secret) });
    }
  }

  // 12. Forged cookies (700): every console route without a valid session.
  const consoleRoutes: [string, string, string?][] = [
    ['GET', '/session'], ['GET', '/approvals?status=pending'], ['GET', `/approvals/${ids.approval}`], ['POST', `/approvals/${ids.approval}/approve`, '{}'],
    ['POST', `/approvals/${ids.approval}/deny`, '{"reason":"forged"}'], ['POST', '/rpc/listKeys', '{}'], ['POST', '/rpc/createKey', '{"name":"x","scopes":["ai:read"],"tenants":["acme-dental"]}'],
    ['POST', '/rpc/updatePolicy', '{"requireExecuteAdmin":false}'], ['POST', '/rpc/exportAudit'], ['GET', '/events'], ['POST', '/logout', '{}'],
  ];
  for (let i = 0; i < 700; i++) {
    const [m, p, b] = rng.pick(consoleRoutes);
    const value = rng.pick([
      () => `cs_console=${Buffer.from(rng.hex(64), 'hex').toString('base64url')}`, () => `cs_console=${cookie.slice(11, -1)}${cookie.endsWith('A') ? 'B' : 'A'}`,
      () => `cs_console=${'A'.repeat(rng.int(101, 4000))}`, () => 'cs_console=', () => `CS_CONSOLE=${cookie.slice(11)}`, () => `cs_console2=${cookie.slice(11)}`,
      () => `cs_console="${cookie.slice(11)}"`, () => `cs_console=${encodeURIComponent(rng.pick(SQL))}`, () => `cs_console=${rng.hex(43)}; cs_console=${cookie.slice(11)}`,
      () => `cs_console=${cookie.slice(11, 30)}`, () => `=${cookie.slice(11)}`, () => `cs_console=${'\u00e9\u00ff'.repeat(10)}`, () => ';;;=;=', () => '',
    ])();
    const r = rng.int(0, 9);
    if (r === 0) consoleReq('forged-cookie', 'POST', '/login', { body: JSON.stringify({ passphrase: rng.pick(['wrong', '', 'x'.repeat(1025), PASS.toUpperCase(), `${PASS} `, rng.pick(SQL), rng.pick(UNICODE)]) }), label: 'wrong passphrase' });
    else if (r === 1) consoleReq('forged-cookie', m, p, { body: b, headers: { cookie: `cs_console=${cookie.slice(11)}`, 'x-api-key': campaign.secret }, label: 'valid cookie with an MCP key' });
    else consoleReq('forged-cookie', m, p, { body: b, headers: { cookie: value === '' ? undefined : value }, label: `cookie ${value.slice(0, 40)}` });
  }

  // 13. Bad console input with a valid session (600): each contract method, wrong types, extra keys, unknown ids.
  const methods: [string, () => unknown, 'error' | 'any'][] = [
    ['session', () => rng.pick([{ x: 1 }, [], 'x', 5]), 'error'], ['lookups', () => ({ a: rng.pick(SQL) }), 'error'],
    ['listApprovals', () => rng.pick([{ status: ['bogus'] }, { limit: 0 }, { limit: 501 }, { limit: '5' }, { before: 'not a date' }, { status: [] }, { x: 1 }]), 'error'],
    ['listApprovals', () => rng.pick([{ limit: 5 }, { status: ['pending'], limit: 1 }, { before: '2020-01-01T00:00:00Z' }]), 'any'],
    ['getApproval', () => rng.pick([{ id: rng.pick(TRAVERSAL) }, { id: 5 }, {}, { id: ids.approval, x: 1 }]), 'error'],
    ['getApproval', () => ({ id: `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-8${rng.hex(3)}-${rng.hex(12)}` }), 'error'],
    ['approve', () => rng.pick([{ id: `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-8${rng.hex(3)}-${rng.hex(12)}` }, { id: rng.pick(SQL) }, {}, { id: ids.approval, extra: true }]), 'error'],
    ['deny', () => rng.pick([{ id: ids.approval }, { id: ids.approval, reason: '' }, { id: ids.approval, reason: '   ' }, { id: ids.approval, reason: 'r'.repeat(2001) }, { id: ids.approval, reason: 5 }, { id: `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-8${rng.hex(3)}-${rng.hex(12)}`, reason: 'x' }]), 'error'],
    ['createKey', () => rng.pick([{ name: 'x' }, { name: 'x', scopes: ['ai:root'], tenants: ['acme-dental'] }, { name: 'x', scopes: ['ai:read'], tenants: [] }, { name: 'x', scopes: ['ai:read'], tenants: ['Bad Slug'] }, { name: '', scopes: ['ai:read'], tenants: ['acme-dental'] }, { name: 'x', scopes: ['ai:read'], tenants: ['acme-dental'], role: 'root' }, { name: 'x', scopes: ['ai:read'], tenants: ['acme-dental'], extra: 1 }, { name: 'x'.repeat(101), scopes: ['ai:read'], tenants: ['acme-dental'] }, { name: 'x', scopes: ['ai:read'], tenants: ['acme-dental'], expiresDays: 0 }]), 'error'],
    ['revokeKey', () => rng.pick([{ id: `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-8${rng.hex(3)}-${rng.hex(12)}` }, { id: rng.pick(SQL) }, {}, { id: campaign.id, x: 1 }]), 'error'],
    ['queryAudit', () => rng.pick([{ limit: 0 }, { from: 'x' }, { keyId: rng.pick(SQL) }, { tenant: rng.pick(TRAVERSAL) }, { event: ['nope'] }, { beforeSeq: -1 }, { q: 'x'.repeat(201) }, { x: 1 }]), 'error'],
    ['queryAudit', () => rng.pick([{ q: rng.pick(SQL), limit: 5 }, { outcome: rng.pick(SQL), limit: 5 }, { tool: rng.pick(SQL), limit: 5 }, { q: rng.pick(UNICODE), limit: 5 }, { code: rng.pick(SQL), limit: 2 }]), 'any'],
    ['getAuditEntry', () => rng.pick([{ seq: 0 }, { seq: -1 }, { seq: 1.5 }, { seq: '1' }, { seq: 1e308 }, { seq: 99_999_999 }, {}]), 'error'],
    ['verifyAudit', () => rng.pick([{ x: 1 }, [], 'x']), 'error'],
    ['exportAudit', () => rng.pick([{ x: 1 }, [], 'x', { from: 1 }]), 'error'],
    ['getPolicy', () => ({ x: rng.pick(SQL) }), 'error'], ['acceptPolicy', () => rng.pick([{ x: 1 }, [], 'x', 5]), 'error'],
    ['updatePolicy', () => rng.pick([{}, { defaultReadPerMinute: 0 }, { defaultReadPerMinute: 1e9 }, { requireExecuteAdmin: 'yes' }, { executeAllowlist: 'all' }, { approvalWaitSeconds: 51 }, { nope: 1 }, { httpRequestsPerSecond: 1 }, { bulkDeviceThreshold: -1 }]), 'error'],
    ['setTierOverride', () => rng.pick([{ tool: 'run_script', tier: 1 }, { tool: 'run_script', tier: 5 }, { tool: '', tier: 3 }, { tool: 'x'.repeat(101), tier: 3 }, { tool: 'run_script', tier: '3' }, { tool: 'run_script', tier: 3, tenant: 'Bad Slug' }, { tool: 'run_script', tier: 3, x: 1 }]), 'error'],
    ['removeTierOverride', () => rng.pick([{ id: rng.hex(32) }, { id: rng.pick(SQL) }, { id: 'x' }, {}]), 'error'],
    ['fleet', () => ({ tenant: rng.pick(SQL) }), 'error'], ['liveCalls', () => rng.pick([{ limit: 0 }, { afterSeq: -1 }, { keyId: 'x' }, { decision: ['nope'] }, { limit: 501 }]), 'error'],
    ['listTierOverrides', () => ({ x: 1 }), 'error'], ['listKeys', () => ({ x: 1 }), 'error'],
    [rng.pick(['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']), () => ({}), 'error'],
  ];
  for (let i = 0; i < 600; i++) {
    const r = rng.int(0, 19);
    if (r === 0) {
      consoleReq('console-input', 'GET', `/approvals?${rng.pick(['status=bogus', 'status=pending,bogus', 'limit=abc', 'limit=-1', 'limit=1e9', 'limit=501', `status=${encodeURIComponent(rng.pick(SQL))}`, 'status=pending&status=denied&limit=0', 'status=,', 'limit=1.5'])}`, { cookie: true, label: 'bad query' });
    } else if (r === 1) {
      consoleReq('console-input', 'GET', `/approvals/${encodeURIComponent(rng.pick([...TRAVERSAL, ...SQL, 'x'.repeat(5000)]))}`, { cookie: true, label: 'bad approval id' });
    } else if (r === 2) {
      consoleReq('console-input', 'POST', `/approvals/${rng.pick([`${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-8${rng.hex(3)}-${rng.hex(12)}`, 'x', encodeURIComponent(rng.pick(TRAVERSAL))])}/${rng.pick(['approve', 'deny'])}`, { body: '{"reason":"x"}', cookie: true, label: 'unknown approval' });
    } else if (r === 3) {
      consoleReq('console-input', 'POST', `/approvals/${ids.approval}/${rng.pick(['approve', 'deny'])}`, { body: rng.pick(['{"x":1}', '{"reason":5}', '{"reason":""}', '[]', '"x"', '{"reason":"ok","extra":1}']), cookie: true, label: 'bad decision body' });
    } else if (r === 4) {
      consoleReq('console-input', 'POST', '/rpc/listApprovals', { body: '{}', cookie: true, headers: { 'content-type': rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined as unknown as string]) }, label: 'not JSON content type' });
    } else if (r === 5) {
      consoleReq('console-input', rng.pick(['PUT', 'DELETE', 'PATCH']), rng.pick(['/approvals', `/approvals/${ids.approval}`, '/rpc/listKeys', '/session']), { body: '{}', cookie: true, label: 'wrong method' });
    } else {
      const [method, input, ex] = rng.pick(methods);
      const value = input();
      consoleReq('console-input', 'POST', `/rpc/${method}`, { body: JSON.stringify(value), cookie: true, expect: ex, label: `${method} ${JSON.stringify(value).slice(0, 80)}` });
    }
  }

  // 14. Keys, methods, hosts and content types around the MCP routes (250).
  for (let i = 0; i < 250; i++) {
    const path = rng.pick(['/api/v1/mcp', '/api/v1/mcp/sse', '/api/v1/mcp/message', `/api/v1/mcp/message?sessionId=${legacy.sessionId}`]);
    const r = rng.int(0, 6);
    const body = JSON.stringify(initializeRequest(rid()));
    const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (r === 0) httpReq('auth-and-routes', 'POST', path, { headers: { ...base, 'x-api-key': rng.pick([undefined, '', 'csk_', `csk_${rng.hex(32)}`, campaign.secret.toLowerCase(), `${campaign.secret}x`, `${campaign.secret.slice(0, -1)}`, 'x'.repeat(8000), rng.pick(SQL)]) }, body, label: 'bad key' });
    else if (r === 1) httpReq('auth-and-routes', rng.pick(['PUT', 'PATCH', 'OPTIONS', 'TRACE']), path, { headers: { ...base, 'x-api-key': campaign.secret }, body: rng.chance(0.5) ? body : undefined, label: 'wrong method' });
    else if (r === 2) httpReq('auth-and-routes', 'POST', path, { headers: { ...base, 'x-api-key': campaign.secret, host: rng.pick(['evil.example', 'localhost.evil.example:80', '127.0.0.1.nip.io', `[::1]:${rng.int(1, 65535)}x`, '']) }, body, label: 'foreign Host' });
    else if (r === 3) httpReq('auth-and-routes', 'POST', path, { headers: { ...base, 'x-api-key': campaign.secret, origin: rng.pick(['https://evil.example', 'null', 'http://127.0.0.1.evil.example', 'file://', 'http://localhost:1@evil.example']) }, body, label: 'foreign Origin' });
    else if (r === 4) httpReq('auth-and-routes', 'POST', '/api/v1/mcp', { headers: { ...base, 'x-api-key': campaign.secret, 'content-type': rng.pick(['text/plain', 'application/jsonx', 'application/x-www-form-urlencoded', 'text/json', '']) }, body, label: 'wrong content type' });
    else if (r === 5) httpReq('auth-and-routes', 'POST', '/api/v1/mcp', { headers: { ...base, 'x-api-key': campaign.secret, accept: rng.pick(['application/json', 'text/html', '*/*;q=0', '']) }, body, label: 'wrong Accept' });
    else httpReq('auth-and-routes', rng.pick(['GET', 'POST']), rng.pick(['/api/v1/nope', '/api/v2/mcp', '/.well-known/oauth-authorization-server', '/register', '/api/v1/mcp/sse/x', '/console/api/nope', '/console/api/rpc/', '/api/v1/mcp?x=%zz', '/%', '/api/v1/mcp/message%00']),
      { headers: { ...base, 'x-api-key': campaign.secret }, body: undefined, label: 'unknown route' });
  }
  // Edge cases that must be in every run whatever the seed: a forged cursor past SQLite's integer range on every
  // paginated tool, and a change log's before/after nested 10,000 levels deep.
  for (const t of tools.filter((x) => x.inputSchema.properties?.cursor)) {
    toolCall('out-of-range', t.name, { ...baseArgs(t.name), cursor: cursorOf({ o: 1e300 }) }, 'any', 'cursor {"o":1e300}');
  }
  for (const field of ['before', 'after']) {
    toolCall('deep-nesting', 'create_change_log', { ...baseArgs('create_change_log'), [field]: new Raw(`{"a":${nestObjects(10_000)}}`) }, 'error', `${field}: 10,000 levels`);
  }
  return rng.shuffle(inputs);
}

// ---- sending and classifying ----

function messagesOf(r: PoolResponse): any[] {
  const type = String(r.headers['content-type'] ?? '');
  try {
    if (type.startsWith('text/event-stream')) return parseSse(r.text).filter((f) => f.event === 'message').map((f) => JSON.parse(f.data));
    if (type.startsWith('application/json') && r.text) {
      const j = JSON.parse(r.text);
      return Array.isArray(j) ? j : [j];
    }
  } catch {
    return [];
  }
  return [];
}

function classifyMessages(msgs: any[]): { kind: Kind; code?: string } {
  const answers = msgs.filter((m) => m && typeof m === 'object' && 'id' in m && ('result' in m || 'error' in m));
  if (answers.length === 0) return { kind: 'accepted' };
  let kind: Kind = 'rpc-error';
  let code: string | undefined;
  for (const m of answers) {
    if (m.error) {
      code ??= String(m.error.code);
      continue;
    }
    if (m.result?.isError) {
      if (kind === 'rpc-error') kind = 'tool-error';
      try {
        code = String(JSON.parse(m.result.content[0].text).error.code);
      } catch {
        code = 'isError';
      }
      continue;
    }
    kind = 'ok';
  }
  return { kind, code };
}

async function send(input: Input): Promise<Outcome> {
  const started = performance.now();
  const headers: Record<string, string | undefined> = { ...input.headers };
  let path = input.path;
  if (input.session && input.via === 'streamable') {
    Object.assign(headers, mcpHeaders(campaign.secret, sid), input.headers);
  } else if (input.session && input.via === 'legacy') {
    if (legacy.ended) {
      legacyReopens++;
      legacy = await openLegacy(campaign.secret);
    }
    path = legacy.endpoint;
    Object.assign(headers, LegacySession.headers(campaign.secret), input.headers);
  } else if (!input.session && input.via === 'streamable' && !('x-api-key' in headers)) {
    Object.assign(headers, mcpHeaders(campaign.secret), input.headers);
  }
  if (input.cookie && !('cookie' in input.headers)) headers.cookie = cookie;
  const session = legacy;
  let r: PoolResponse;
  try {
    r = await pool.request({ method: input.method, path, headers, body: input.body, fresh: input.fresh, chunked: input.chunked, timeoutMs: 20_000 });
  } catch (e) {
    const msg = (e as Error).message;
    return { input, status: 0, kind: msg.startsWith('timeout') ? 'timeout' : 'net-error', code: msg, ms: performance.now() - started, bytes: 0, messages: [] };
  }
  const base = { input, status: r.status, ms: performance.now() - started, bytes: r.bytes };
  if (r.status >= 500) return { ...base, kind: 'http-5xx', code: r.text.slice(0, 200), messages: [] };
  if (r.status >= 400) return { ...base, kind: 'http-4xx', code: String(messagesOf(r)[0]?.error?.code ?? ''), messages: [] };
  if (input.via === 'http' || (input.via === 'console' && !input.path.startsWith('/console/api'))) {
    return { ...base, kind: String(r.headers['content-type'] ?? '').startsWith('application/json') ? 'ok' : 'static', messages: [], code: r.text.slice(0, 2000) };
  }
  if (input.via === 'console') return { ...base, kind: 'ok', messages: [], code: r.text.slice(0, 200) };
  if (input.via === 'legacy' && r.status === 202) {
    if (input.rpcId === undefined) return { ...base, kind: 'accepted', messages: [] };
    const m = await session.answer(input.rpcId, 15_000);
    if (!m) return { ...base, kind: 'no-answer', messages: [] };
    return { ...base, ...classifyMessages([m]), messages: [m], ms: performance.now() - started };
  }
  const msgs = messagesOf(r);
  return { ...base, ...classifyMessages(msgs), messages: msgs };
}

async function openLegacy(key: string): Promise<LegacySession> {
  const s = await LegacySession.open(srv.port, key);
  const post = (m: unknown) => pool.request({ method: 'POST', path: s.endpoint, headers: LegacySession.headers(key), body: JSON.stringify(m) });
  const init = await post(initializeRequest('legacy-init'));
  if (init.status !== 202) throw new Error(`legacy initialize: ${init.status} ${init.text}`);
  if (!(await s.answer('legacy-init', 10_000))) throw new Error('legacy initialize: no answer on the stream');
  const n = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  if (n.status !== 202) throw new Error(`legacy initialized: ${n.status}`);
  return s;
}

async function sdkClient(kind: 'sse' | 'http', key: string): Promise<Client> {
  const client = new Client({ name: `campaign-final-${kind}`, version: '1.0.0' });
  const headers = { 'X-API-Key': key };
  const transport = kind === 'sse'
    ? new SSEClientTransport(new URL('/api/v1/mcp/sse', srv.url), { requestInit: { headers }, eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) } })
    : new StreamableHTTPClientTransport(new URL('/api/v1/mcp', srv.url), { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

/**
 * The slow clients: a body dripped over ~1.5 s (must be answered), an abandoned body and slowloris headers (both
 * dripping until `probed` settles, then gone), a dripped console GET.
 */
async function slowClients(probed: Promise<unknown>): Promise<{ label: string; r: DripResult }[]> {
  const tc = JSON.stringify({ jsonrpc: '2.0', id: 'drip-1', method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 1 } } });
  const head = (path: string, extra: string, len: number) => `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n${extra}Content-Length: ${len}\r\n\r\n`;
  const streamHead = `X-API-Key: ${campaign.secret}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: ${sid}\r\nMcp-Protocol-Version: ${PROTOCOL_VERSION}\r\n`;
  const [complete, abandoned, slowloris, consoleGet] = await Promise.all([
    // Headers at once, then the body 8 bytes every 100 ms: a slow but honest client, answered in full.
    (async () => {
      const h = head('/api/v1/mcp', streamHead, Buffer.byteLength(tc));
      return slowDrip(srv.port, h + tc, { sendAtOnce: Buffer.byteLength(h), bytesPerTick: 8, tickMs: 100, giveUp: 15_000, answerMs: 5_000 });
    })(),
    // Announces 5,000 bytes, sends 3 every 60 ms while the probes run, then goes away.
    slowDrip(srv.port, head(legacy.endpoint, `X-API-Key: ${campaign.secret}\r\nContent-Type: application/json\r\n`, 5_000) + '{"jsonrpc":"2.0","id":"x","method":"ping",', { bytesPerTick: 3, tickMs: 60, giveUp: probed }),
    // Slowloris: request headers a few bytes at a time, never finished.
    slowDrip(srv.port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n${'X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(40)}`, { bytesPerTick: 4, tickMs: 50, giveUp: probed }),
    // The console API, its request head dripped over ~2 s.
    slowDrip(srv.port, `GET /console/api/approvals?status=pending&limit=1 HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\nCookie: ${cookie}\r\n\r\n`, { bytesPerTick: 6, tickMs: 50, giveUp: 15_000, answerMs: 5_000 }),
  ]);
  return [{ label: 'complete body, dripped', r: complete }, { label: 'abandoned body', r: abandoned }, { label: 'slowloris headers', r: slowloris }, { label: 'console GET, dripped', r: consoleGet }];
}

async function runCampaign(store: StoreKind): Promise<void> {
  const setupStart = performance.now();
  outcomes.length = 0;
  rss.length = 0;
  legacyReopens = 0;
  storeUrl = await storeUrlFor(store, 'badinput');
  env = storeUrl ? { ...BASE_ENV, COUNTERSIGN_DATABASE_URL: storeUrl } : BASE_ENV;
  dir = await initDemoDirHere(env, 'cs-badinput-');
  const limits = { readPerMinute: 10_000_000, writePerMinute: 10_000_000 };
  campaign = await createKeyHere(env, dir, { name: 'campaign', tenants: 'acme-dental,globex-logistics', ...limits });
  other = await createKeyHere(env, dir, { name: 'other', tenants: 'acme-dental', ...limits });
  srv = await startServe({ ...env, ...SERVE_OPTIONS }, dir);
  pool = new HttpPool(srv.port, { maxSockets: CONCURRENCY + 4 });

  const login = await pool.request({ method: 'POST', path: '/console/api/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ passphrase: PASS }) });
  expect(login.status).toBe(200);
  cookie = String(login.headers['set-cookie']![0]!.split(';')[0]);
  sid = await initStreamable(srv.port, campaign.secret);
  otherSid = await initStreamable(srv.port, other.secret);
  legacy = await openLegacy(campaign.secret);
  otherLegacy = await openLegacy(other.secret);

  // Ids for valid base arguments, from the demo fleet.
  // (Every lookup is ordered: the same rows on both stores, so the same seed makes the same inputs.)
  await withInstallSql(dir, storeUrl, async ({ sql }) => {
    const one = async (text: string) => (await sql.get<{ id: string }>(text))!.id;
    const acme = `(SELECT id FROM tenants WHERE slug = 'acme-dental')`;
    ids.device = await one(`SELECT id FROM devices WHERE tenant_id = ${acme} ORDER BY hostname LIMIT 1`);
    ids.windowsDevice = await one(`SELECT id FROM devices WHERE tenant_id = ${acme} AND os = 'windows' ORDER BY hostname LIMIT 1`);
    ids.foreignDevice = await one(`SELECT id FROM devices WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'northwind-legal') ORDER BY id LIMIT 1`);
    const alerts = await sql.all<{ id: string }>(`SELECT id FROM alerts WHERE tenant_id = ${acme} AND status = 'active' ORDER BY id LIMIT 2`);
    ids.alert = alerts[0]!.id;
    ids.alert2 = alerts[1]!.id;
    const patch = (await sql.get<{ device_id: string; patch_id: string }>(`SELECT dp.device_id, dp.patch_id FROM device_patches dp JOIN devices d ON d.id = dp.device_id
      WHERE d.tenant_id = ${acme} AND dp.state = 'missing' ORDER BY dp.device_id, dp.patch_id LIMIT 1`))!;
    ids.patchDevice = patch.device_id;
    ids.patch = patch.patch_id;
    ids.script = await one(`SELECT id FROM scripts WHERE tenant_id IS NULL AND language = 'powershell' ORDER BY id LIMIT 1`);
    ids.incident = await one(`SELECT id FROM incidents WHERE tenant_id = ${acme} ORDER BY id LIMIT 1`);
    hostnames = (await sql.all<{ hostname: string }>(`SELECT hostname FROM devices WHERE tenant_id IN (SELECT id FROM tenants WHERE slug IN ('acme-dental', 'globex-logistics')) ORDER BY hostname`)).map((r) => r.hostname);
  }, { readOnly: true });

  // A few real objects for the tools that read them back.
  const setup = async (name: string, args: unknown) => {
    const r = await pool.request({ method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(campaign.secret, sid), body: JSON.stringify({ jsonrpc: '2.0', id: `setup-${name}-${Math.random()}`, method: 'tools/call', params: { name, arguments: args } }) });
    const m = messagesOf(r).find((x) => x.result);
    if (!m || m.result.isError) throw new Error(`setup ${name}: ${r.text.slice(0, 300)}`);
    return m.result.structuredContent;
  };
  ids.execution = (await setup('device_actions', { action: 'lock', deviceIds: [ids.device], reason: 'campaign setup' })).executionId;
  ids.report = (await setup('generate_report', { tenant: 'acme-dental', type: 'inventory', format: 'csv' })).reportId;
  ids.approval = (await setup('device_actions', { action: 'reboot', deviceIds: [ids.device], reason: 'campaign setup: status' })).approvalId;
  ids.cancellable = (await setup('device_actions', { action: 'reboot', deviceIds: [ids.device], reason: 'campaign setup: cancel' })).approvalId;
  const listed = await pool.request({ method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(campaign.secret, sid), body: JSON.stringify({ jsonrpc: '2.0', id: 'setup-list', method: 'tools/list' }) });
  tools = messagesOf(listed).find((m) => m.id === 'setup-list').result.tools;
  expect(tools.length).toBeGreaterThanOrEqual(20);
  before = await snapshot();
  listingBefore = { data: readdirSync(dir).filter((f) => !/-(wal|shm)$/.test(f)).sort(), parent: readdirSync(dirname(dir)).sort() };

  const rng = createRng(SEED);
  const inputs = Array.from({ length: SCALE }, () => generate(rng)).flat();
  console.log(`campaign: seed ${SEED} (replay with COUNTERSIGN_FAULT_SEED=${SEED}); ${inputs.length} generated inputs over ${tools.length} tools; setup ${Math.round(performance.now() - setupStart)} ms`);

  // Memory: baseline after setup, then sampled through the campaign.
  rssBaseline = srv.rss()!;
  const sampler = setInterval(() => {
    const b = srv.rss();
    if (b) rss.push({ t: performance.now(), bytes: b });
  }, 200);

  const started = performance.now();
  // Resolves once the campaign has had `n` more answers: what spaces the probes out among the campaign's inputs.
  const progress: { at: number; resolve: () => void }[] = [];
  let campaignDone = false;
  const answered = (n: number) => (campaignDone ? Promise.resolve() : new Promise<void>((resolve) => progress.push({ at: outcomes.length + n, resolve })));
  const noteAnswer = () => {
    for (const p of progress.filter((x) => outcomes.length >= x.at)) {
      progress.splice(progress.indexOf(p), 1);
      p.resolve();
    }
  };
  // The slow clients and a probe of normal calls run during the first seconds of the campaign.
  const probeLoop = (async () => {
    const out: { ok: boolean; ms: number; why?: string }[] = [];
    let n = 0;
    while (n < PROBES) {
      const t0 = performance.now();
      const r = await pool.request({ method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(other.secret, otherSid), body: JSON.stringify({ jsonrpc: '2.0', id: `probe-${++n}`, method: 'tools/call', params: { name: 'list_devices', arguments: { limit: 1 } } }), timeoutMs: 20_000 })
        .catch((e: Error) => e);
      const m = r instanceof Error ? undefined : messagesOf(r).find((x) => x.id === `probe-${n}`);
      const ok = !!m?.result && !m.result.isError;
      out.push({ ok, ms: performance.now() - t0, ...(ok ? {} : { why: r instanceof Error ? r.message : `${r.status} ${r.text.slice(0, 200)}` }) });
      await answered(PROBE_EVERY);
    }
    return out;
  })();
  const dripping = slowClients(probeLoop);

  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < inputs.length) {
      const input = inputs[next++]!;
      outcomes.push(await send(input));
      noteAnswer();
    }
  }));
  campaignDone = true;
  for (const p of progress.splice(0)) p.resolve();
  drips = await dripping;
  probes = await probeLoop;
  campaignMs = performance.now() - started;
  clearInterval(sampler);

  after = await snapshot();
  // The end: the server answers its health check and real tool calls on both transports, with a key the campaign never used.
  const health = (await pool.request({ path: '/healthz' })).status;
  const results: Record<string, boolean> = {};
  for (const kind of ['http', 'sse'] as const) {
    const c = await sdkClient(kind, other.secret);
    const r = await c.callTool({ name: 'list_devices', arguments: { limit: 2 } });
    results[kind] = !r.isError && (r.structuredContent as { devices: unknown[] }).devices.length === 2;
    await c.close();
  }
  // After a last answer: everything the server was sent before has been handled.
  expect((await pool.request({ path: '/healthz' })).status).toBe(200);
  rssFinal = srv.rss() ?? 0;
  legacy.close();
  otherLegacy.close();
  pool.close();
  const stopped = await srv.stop();
  finalChecks = { health, http: results.http!, sse: results.sse!, stopped, verify: await auditVerifyHere(env, dir) };
  printTables();
}

function printTables(): void {
  const cats = new Map<string, Map<string, number>>();
  const kinds = new Map<string, Map<string, number>>();
  for (const o of outcomes) {
    const c = cats.get(o.input.cat) ?? new Map<string, number>();
    c.set(String(o.status), (c.get(String(o.status)) ?? 0) + 1);
    cats.set(o.input.cat, c);
    const k = kinds.get(o.input.cat) ?? new Map<string, number>();
    k.set(o.kind, (k.get(o.kind) ?? 0) + 1);
    kinds.set(o.input.cat, k);
  }
  const statuses = [...new Set(outcomes.map((o) => String(o.status)))].sort();
  const kindNames = [...new Set(outcomes.map((o) => o.kind))].sort();
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [`campaign: ${outcomes.length} inputs in ${Math.round(campaignMs)} ms (${Math.round(outcomes.length / (campaignMs / 1000))}/s), ${CONCURRENCY} in flight, seed ${SEED}`];
  lines.push(`${'category'.padEnd(18)}${pad('total', 7)}${statuses.map((s) => pad(s, 6)).join('')}   |${kindNames.map((k) => pad(k, 11)).join('')}`);
  for (const [cat, c] of [...cats].sort()) {
    const total = [...c.values()].reduce((a, b) => a + b, 0);
    lines.push(`${cat.padEnd(18)}${pad(total, 7)}${statuses.map((s) => pad(c.get(s) ?? 0, 6)).join('')}   |${kindNames.map((k) => pad(kinds.get(cat)!.get(k) ?? 0, 11)).join('')}`);
  }
  const tot = (s: string) => outcomes.filter((o) => String(o.status) === s).length;
  const totK = (k: string) => outcomes.filter((o) => o.kind === k).length;
  lines.push(`${'all'.padEnd(18)}${pad(outcomes.length, 7)}${statuses.map((s) => pad(tot(s), 6)).join('')}   |${kindNames.map((k) => pad(totK(k), 11)).join('')}`);
  const peak = Math.max(...rss.map((r) => r.bytes));
  lines.push(`memory (server RSS): baseline ${(rssBaseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, after ${(rssFinal / MiB).toFixed(0)} MiB`);
  lines.push(`slow clients: ${drips.map((d) => `${d.label}: ${d.r.status ? `${d.r.status} after ${Math.round(d.r.answeredMs ?? d.r.ms)} ms` : `no answer, gave up after ${Math.round(d.r.ms)} ms`}`).join('; ')}; ${probes.length} probe calls meanwhile, max ${Math.round(Math.max(...probes.map((p) => p.ms)))} ms`);
  lines.push(`rows: before ${JSON.stringify(Object.fromEntries(ROW_TABLES.map((t) => [t, before[t]])))}, after ${JSON.stringify(Object.fromEntries(ROW_TABLES.map((t) => [t, after[t]])))}; legacy session reopened ${legacyReopens} times`);
  lines.push(`end: health ${finalChecks.health}, real calls http ${finalChecks.http} sse ${finalChecks.sse}, stop ${finalChecks.stopped}, ${finalChecks.verify.out}`);
  console.log(lines.join('\n'));
}

/** A path to a value that belongs to the tenant the campaign key has no access to (northwind-legal), if any. */
function foreignIn(v: unknown, path = '$'): string | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = foreignIn(v[i], `${path}[${i}]`);
      if (hit) return hit;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'tenant' || k === 'slug') && x === 'northwind-legal') return `${path}.${k}`;
      if ((k === 'id' || k === 'deviceId') && x === ids.foreignDevice) return `${path}.${k}`;
      const hit = foreignIn(x, `${path}.${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
}

const describeOutcome = (o: Outcome) => `[${o.input.cat}] ${o.input.via} ${o.input.label.slice(0, 140)} → ${o.status} ${o.kind} ${String(o.code ?? '').slice(0, 160)}`;

describeStores('bad-input campaign', (store) => {
  // The campaign's setup and its 10,614 inputs take up to 122 s on PostgreSQL on a quiet 2-core machine (clean-clone CI,
  // 2026-12-04) and 137 s with the other core busy; a loaded run measured its slowdown at ×1.3 and ran out of 156 s. The
  // limit is there to name a hang, not to time the campaign: twice the slowest run seen.
  beforeAll(() => runCampaign(store), budget(280_000));
  afterAll(async () => {
    if (srv?.alive()) await srv.kill9();
    if (dir) rmSync(dirname(dir), { recursive: true, force: true });
  });

  it('sends at least 10,000 generated inputs', () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(10_000);
  });

  it('never answers 5xx, never drops a connection, never times out; legacy requests get their answer on the stream', () => {
    const bad = outcomes.filter((o) => ['http-5xx', 'net-error', 'timeout', 'no-answer'].includes(o.kind));
    expect(bad.map(describeOutcome).slice(0, 30), `${bad.length} answers`).toEqual([]);
  });

  it('every 2xx is a JSON-RPC error or an isError result unless the input was valid; static files leak nothing', () => {
    const succeededInvalid = outcomes.filter((o) => o.input.expect === 'error' && (o.kind === 'ok' || o.kind === 'static' || (o.kind === 'accepted' && o.input.via !== 'legacy')));
    expect(succeededInvalid.map(describeOutcome).slice(0, 30), `${succeededInvalid.length} invalid inputs succeeded`).toEqual([]);
    const leaks = outcomes.filter((o) => o.kind === 'static' && /root:x:0:0|hmacKey|signingKey|"name": "countersign"|SQLite format 3|import /.test(String(o.code)));
    expect(leaks.map(describeOutcome)).toEqual([]);
  });

  it('valid results stay inside the key\'s tenants, and SQL-looking search text matches only literally', () => {
    const problems: string[] = [];
    for (const o of outcomes) {
      for (const m of o.messages) {
        if (!m?.result || m.result.isError) continue;
        const leak = foreignIn(m.result.structuredContent);
        if (leak) problems.push(`tenant leak (${leak}): ${describeOutcome(o)}`);
        const search = o.input.tool === 'list_devices' ? o.input.args?.search : undefined;
        if (typeof search === 'string' && m.result.structuredContent) {
          const expected = hostnames.filter((h) => h.toLowerCase().includes(search.toLowerCase())).length;
          if (m.result.structuredContent.total !== expected) problems.push(`search ${JSON.stringify(search)}: total ${m.result.structuredContent.total}, expected ${expected}`);
        }
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
  });

  it('nothing is written but what valid inputs wrote: every new row is one a successful call reported', async () => {
    const executions = new Map<string, number>();
    const documents = new Map<string, any>();
    const reports = new Set<string>();
    const approvals = new Set<string>();
    for (const o of outcomes) {
      for (const m of o.messages) {
        const s = m?.result && !m.result.isError ? m.result.structuredContent : undefined;
        if (!s || typeof s !== 'object') continue;
        if (typeof s.executionId === 'string' && Array.isArray(s.commands)) executions.set(s.executionId, s.commands.length);
        if (typeof s.documentId === 'string') documents.set(s.documentId, o.input.args);
        if (typeof s.reportId === 'string' && o.input.tool === 'generate_report') reports.add(s.reportId);
        if (s.status === 'pending_approval' && typeof s.approvalId === 'string' && s.approvalId !== ids.approval && s.approvalId !== ids.cancellable) approvals.add(s.approvalId);
      }
    }
    const delta = (t: string) => Number(after[t]) - Number(before[t]);
    console.log(`campaign writes by valid inputs: ${executions.size} executions, ${documents.size} documents, ${reports.size} reports, ${approvals.size} approvals`);
    expect({
      executions: delta('executions'), device_commands: delta('device_commands'), documents: delta('documents'), reports: delta('reports'),
      approvals: delta('approvals'), api_keys: delta('api_keys'), console_sessions: delta('console_sessions'), tier_overrides: delta('tier_overrides'),
    }).toEqual({
      executions: executions.size, device_commands: [...executions.values()].reduce((a, b) => a + b, 0), documents: documents.size, reports: reports.size,
      approvals: approvals.size, api_keys: 0, console_sessions: 0, tier_overrides: 0,
    });
    expect(after.settings, 'settings unchanged').toBe(before.settings);
    expect(after.schema, 'schema unchanged: no table dropped or added').toBe(before.schema);
    expect(after.devices).toBe(before.devices);
    // What valid inputs wrote is stored as sent (SQL-looking text included), lone surrogates aside (UTF-8 cannot hold
    // them), and on PostgreSQL a NUL is U+FFFD (its text cannot hold one).
    const asStored = (v: string) => (storeUrl ? v.replaceAll('\u0000', '\uFFFD') : v);
    const mismatched: string[] = [];
    await withInstallSql(dir, storeUrl, async ({ sql }) => {
      for (const [id, args] of documents) {
        const row = await sql.get<{ title: string; body: string }>('SELECT title, body FROM documents WHERE id = ?', [id]);
        const title = typeof args?.title === 'string' ? asStored(args.title.trim().toWellFormed()) : undefined;
        if (!row) mismatched.push(`${id}: missing`);
        else if (title !== undefined && row.title !== title) mismatched.push(`${id}: title ${JSON.stringify(row.title).slice(0, 60)} != ${JSON.stringify(title).slice(0, 60)}`);
      }
    }, { readOnly: true });
    expect(mismatched.slice(0, 10)).toEqual([]);
    // No file appeared in the data directory or next to it, and reports went only to the key's tenants' folders.
    const isWal = (f: string) => /-(wal|shm)$/.test(f);
    // (reports/ may appear after the listing was taken: the setup's report is built in the background; serving.json
    // is serve's own record while it runs, and the server has stopped by now.)
    const ours = (f: string) => f !== 'reports' && f !== 'serving.json';
    expect(readdirSync(dir).filter((f) => !isWal(f) && ours(f)).sort()).toEqual(listingBefore.data.filter(ours));
    expect(readdirSync(dirname(dir)).sort()).toEqual(listingBefore.parent);
    for (const f of readdirSync(join(dir, 'reports'))) expect(['acme-dental', 'globex-logistics']).toContain(f);
  });

  it('the server stays up: health check and real tool calls on both transports succeed at the end, and it stops cleanly', () => {
    expect(finalChecks.health).toBe(200);
    expect(finalChecks.http).toBe(true);
    expect(finalChecks.sse).toBe(true);
    expect(finalChecks.stopped).toBe(0);
    expect(srv.stderr()).not.toMatch(/request failed/);
  });

  it('memory stays bounded', () => {
    const peak = Math.max(...rss.map((r) => r.bytes));
    // Bodies are capped at 1 MiB and 16 are in flight: the peak may rise, but not with the number of inputs.
    expect(peak, `peak RSS ${(peak / MiB).toFixed(0)} MiB`).toBeLessThan(rssBaseline + 600 * MiB);
    expect(rssFinal, `RSS after the campaign ${(rssFinal / MiB).toFixed(0)} MiB`).toBeLessThan(rssBaseline + 250 * MiB);
  });

  it('slow-drip clients do not hold up others; a slow honest client is still answered', () => {
    const byLabel = Object.fromEntries(drips.map((d) => [d.label, d.r]));
    expect(byLabel['complete body, dripped']!.status).toBe(200);
    expect(byLabel['complete body, dripped']!.response).toMatch(/"result"/);
    expect(byLabel['console GET, dripped']!.status).toBe(200);
    expect(byLabel['abandoned body']!.status ?? 0).not.toBeGreaterThanOrEqual(500);
    expect(byLabel['slowloris headers']!.status ?? 0).not.toBeGreaterThanOrEqual(500);
    expect(probes.length).toBe(PROBES);
    expect(probes.filter((p) => !p.ok)).toEqual([]);
    // Far below the 30 s body timeout the slow clients could hold the server for.
    expect(Math.max(...probes.map((p) => p.ms))).toBeLessThan(budget(5_000));
  });

  it('no client mistake is answered as a server failure (EXECUTION_FAILED)', () => {
    const failed = outcomes.filter((o) => o.code === 'EXECUTION_FAILED' || o.messages.some((m) => String(m?.result?.content?.[0]?.text ?? '').includes('"EXECUTION_FAILED"')));
    expect(failed.map(describeOutcome).slice(0, 20), `${failed.length} inputs answered EXECUTION_FAILED`).toEqual([]);
  });

  it('apart from entries whose text held a lone surrogate (see below), every audit entry links and hashes correctly', async () => {
    const rows = await withInstallSql(dir, storeUrl, ({ sql }) => sql.all<AuditRow>('SELECT * FROM audit_log ORDER BY seq'), { readOnly: true });
    const bad: { seq: number; surrogate: boolean }[] = [];
    let prev = GENESIS_HASH;
    let expected = 1;
    let broken = '';
    for (const row of rows) {
      if (row.seq !== expected++ || row.prev_hash !== prev) broken ||= `entry ${row.seq} does not follow entry ${row.seq - 1}`;
      const { hash, ...rest } = row;
      if (hashRow(rest) !== hash) bad.push({ seq: row.seq, surrogate: Object.values(rest).some((v) => typeof v === 'string' && v.includes('\ufffd')) });
      prev = hash;
    }
    console.log(`audit: ${expected - 1} entries; ${bad.length} hash mismatches, ${bad.filter((b) => b.surrogate).length} of them in entries holding U+FFFD (a lone surrogate replaced on storage)`);
    expect(broken).toBe('');
    expect(bad.filter((b) => !b.surrogate)).toEqual([]);
  });

  it('the audit chain still verifies after the campaign', () => {
    expect(finalChecks.verify.out).toMatch(/audit chain OK/);
    expect(finalChecks.verify.status).toBe(0);
  });
});

describeStores('text that reaches a column as is', (store) => {
  // Minimal reproductions on one server per store: one request by any key holder, then the chain verifies.
  let t: TestServer | undefined;
  beforeAll(async () => {
    t = await startTestServer({ store });
  });
  afterAll(async () => {
    await t?.close();
    if (t) rmSync(t.dir, { recursive: true, force: true });
  });

  it.each([
    ['a tool name with a lone surrogate', async (port: number, key: string) => {
      const sid2 = await initStreamable(port, key);
      await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key, sid2), body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x\\ud800","arguments":{}}}' });
    }],
    ['a clientInfo.name with a lone surrogate', async (port: number, key: string) => {
      const init = await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key),
        body: `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"${PROTOCOL_VERSION}","capabilities":{},"clientInfo":{"name":"client\\udfff","version":"1"}}}` });
      const sid2 = String(init.headers['mcp-session-id']);
      await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key, sid2), body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
      await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key, sid2), body: '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}' });
    }],
    ['a run_script parameter name with a lone surrogate', async (port: number, key: string) => {
      const sid2 = await initStreamable(port, key);
      await rawRequest({ port, method: 'POST', path: '/api/v1/mcp', headers: mcpHeaders(key, sid2), body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"run_script","arguments":{"scriptId":"x","deviceIds":["y"],"parameters":{"p\\ud800":"v"}}}}' });
    }],
  ] as const)('%s does not break the audit chain', async (_name, act) => {
    const before = await t!.app.store.audit.count();
    await act(t!.server.port, await t!.key());
    expect(await t!.app.store.audit.count(), 'the request was audited').toBeGreaterThan(before);
    expect(await t!.app.store.audit.verify()).toMatchObject({ ok: true });
  });

  // SQLite's text holds NUL, PostgreSQL's cannot: either way an id with one is not found, and free text with one is
  // stored (on PostgreSQL as U+FFFD, as the audit log stores it on both), never a server failure.
  const codeOf = (r: Awaited<ReturnType<Client['callTool']>>) => (r.isError ? JSON.parse((r.content as { text: string }[])[0]!.text).error.code : 'ok');
  it('a NUL in an id is not found, a runbook whose title holds one is stored, and the chain verifies', async () => {
    const client = await t!.connect('http', await t!.key());
    expect(codeOf(await client.callTool({ name: 'get_device_details', arguments: { deviceId: 'a\u0000b' } }))).toBe('NOT_FOUND');
    expect(codeOf(await client.callTool({ name: 'get_report_status', arguments: { reportId: '\u0000' } }))).toBe('NOT_FOUND');
    const made = await client.callTool({ name: 'create_runbook', arguments: { tenant: 'acme-dental', title: 'nul\u0000in the title', body: 'a\u0000b' } });
    expect(codeOf(made)).toBe('ok');
    const id = (made.structuredContent as { documentId: string }).documentId;
    const row = await t!.app.store.sql.get<{ title: string }>('SELECT title FROM documents WHERE id = ?', [id]);
    expect(row?.title).toBe(store === 'sqlite' ? 'nul\u0000in the title' : 'nul\uFFFDin the title');
    expect(await t!.app.store.audit.verify()).toMatchObject({ ok: true });
  });
});
