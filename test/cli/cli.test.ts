// The CLI contract other issues rely on, run as real child processes under the Node npm brings.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { budget, within } from '../helpers/wait.ts';
import { newDatabase, postgresAvailable } from '../helpers/stores.ts';
import { COST_ENV } from '../../src-main/auth/passphrase.ts';

const MAIN = join(import.meta.dirname, '../../src-main/cli/main.ts');
// The product's own passphrase cost here, not the suite's cheaper one (vitest.config.ts): this file checks what init stores.
const { [COST_ENV]: _suiteCost, ...PRODUCT_ENV } = process.env;
const ENV = { ...PRODUCT_ENV, COUNTERSIGN_ADMIN_PASSPHRASE: 'cli test passphrase' };
const cs = (...args: string[]) => spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { env: ENV, encoding: 'utf8', timeout: budget(30_000) });

let dir: string;
beforeAll(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'cs-cli-')), 'data');
  const r = cs('init', '--data-dir', dir, '--demo');
  expect(r.stderr).toMatch(/demo fleet: 3 tenants, 36 devices/);
  expect(r.status).toBe(0);
});

describe('countersign CLI', () => {
  it('init refuses an existing data dir and a short passphrase', () => {
    expect(cs('init', '--data-dir', dir).status).toBe(1);
    const short = spawnSync(process.execPath, [MAIN, 'init', '--data-dir', join(dir, '../x')], { env: { ...ENV, COUNTERSIGN_ADMIN_PASSPHRASE: 'short' }, encoding: 'utf8', timeout: budget(30_000) });
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/at least 10/);
  });

  it('init against a database it cannot open leaves no secrets behind: the retry with the right URL is not refused', async () => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'cs-cli-init-')), 'data');
    const bad = cs('init', '--data-dir', fresh, '--store', 'postgres://postgres@127.0.0.1:1/nowhere');
    expect(bad.status).toBe(1);
    expect(existsSync(join(fresh, 'secrets.json'))).toBe(false);
    if (!postgresAvailable()) return console.log('the retry against a real PostgreSQL is skipped: no PostgreSQL for this run');
    const good = cs('init', '--data-dir', fresh, '--store', await newDatabase('cli-init-retry'));
    expect(good.stderr).not.toMatch(/already holds/);
    expect(good.status).toBe(0);
    expect(existsSync(join(fresh, 'secrets.json'))).toBe(true);
  });

  it('stores only a slow hash of the passphrase and only HMACs of keys', () => {
    const key = cs('keys', 'create', '--data-dir', dir, '--name', 'probe', '--scopes', 'ai:read', '--tenants', 'acme-dental').stdout.trim().split('\n').at(-1)!;
    const db = new Database(join(dir, 'countersign.db'), { readonly: true });
    const stored = (db.prepare(`SELECT value_json FROM settings WHERE name = 'adminPassphraseHash'`).get() as { value_json: string }).value_json;
    expect(stored).toMatch(/^"scrypt\$32768\$8\$1\$/);
    expect(stored).not.toContain('cli test passphrase');
    const dump = JSON.stringify(db.prepare('SELECT * FROM api_keys').all()) + JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
    expect(dump).not.toContain(key);
    db.close();
  });

  it('tenants list prints one slug per line', () => {
    expect(cs('tenants', 'list', '--data-dir', dir).stdout.trim().split('\n')).toEqual(['acme-dental', 'globex-logistics', 'northwind-legal']);
  });

  it('keys create prints the key as the last stdout line; list and revoke work; bad flags are usage errors', () => {
    const r = cs('keys', 'create', '--data-dir', dir, '--name', 'ci', '--scopes', 'ai:read,ai:write', '--tenants', 'acme-dental,northwind-legal', '--role', 'standard', '--expires-days', '30');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^csk_[A-Za-z0-9_-]{32}$/);
    const list = cs('keys', 'list', '--data-dir', dir, '--json');
    const keys = JSON.parse(list.stdout) as { id: string; name: string; tenants: { slug: string }[]; expiresAt: string }[];
    const ci = keys.find((k) => k.name === 'ci')!;
    expect(ci.tenants.map((t) => t.slug)).toEqual(['acme-dental', 'northwind-legal']);
    expect(ci.expiresAt).toBeTruthy();
    expect(cs('keys', 'revoke', ci.id, '--data-dir', dir).stdout).toMatch(/revoked/);
    expect(cs('keys', 'create', '--data-dir', dir, '--name', 'x', '--scopes', 'ai:root', '--tenants', 'acme-dental').status).toBe(2);
    expect(cs('keys', 'create', '--data-dir', dir, '--name', 'x', '--scopes', 'ai:read', '--tenants', 'nope').stderr).toMatch(/unknown tenant 'nope'/);
    expect(cs('keys', 'create', '--data-dir', dir, '--bogus').status).toBe(2);
  });

  it('serve prints one listening line, answers MCP with a CLI-made key, and stops on SIGTERM', async () => {
    const key = cs('keys', 'create', '--data-dir', dir, '--name', 'serve', '--scopes', 'ai:read', '--tenants', 'globex-logistics').stdout.trim().split('\n').at(-1)!;
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'serve', '--data-dir', dir, '--port', '0'], { env: ENV });
    const line = await within('the listening line of serve', new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', (c) => reject(new Error(`exited ${c}`)));
    }), 20_000);
    expect(line).toMatch(/^listening http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.replace('listening ', '');
    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/api/v1/mcp', url), { requestInit: { headers: { 'X-API-Key': key } } }));
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    expect((r.structuredContent as { tenants: { slug: string }[] }).tenants.map((t) => t.slug)).toEqual(['globex-logistics']);
    await client.close();
    child.kill('SIGTERM');
    expect(await within('serve to exit on SIGTERM', new Promise((r) => child.once('exit', r)), 10_000)).toBe(0);
  });

  it('audit verify, export and offline verify; a tampered database names the first bad entry', () => {
    const ok = cs('audit', 'verify', '--data-dir', dir);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/audit chain OK: \d+ entries/);
    const out = join(mkdtempSync(join(tmpdir(), 'cs-exp-')), 'audit.jsonl');
    expect(cs('audit', 'export', '--data-dir', dir, '--out', out).status).toBe(0);
    // Without a trusted key an export is never reported OK: anyone can re-sign one.
    const v = cs('audit', 'verify', '--export', out);
    expect(v.status).toBe(1);
    expect(v.stdout).toMatch(/export NOT VERIFIED/);
    const trusted = cs('audit', 'verify', '--export', out, '--data-dir', dir);
    expect(trusted.status).toBe(0);
    expect(trusted.stdout).toMatch(/export OK: .* signed by the trusted key/);

    const db = new Database(join(dir, 'countersign.db'));
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare(`UPDATE audit_log SET outcome = 'rewritten' WHERE seq = 2`).run();
    db.close();
    const bad = cs('audit', 'verify', '--data-dir', dir);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/BROKEN at entry 2/);
  });

  it('refuses a database from a newer Countersign and a corrupt file', () => {
    const d2 = join(mkdtempSync(join(tmpdir(), 'cs-new-')), 'data');
    expect(cs('init', '--data-dir', d2).status).toBe(0);
    const db = new Database(join(d2, 'countersign.db'));
    db.pragma('user_version = 999');
    db.close();
    const r = cs('tenants', 'list', '--data-dir', d2);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/newer than this Countersign/);

    // A corrupted file is reported at start, never silently recreated.
    const d3 = join(mkdtempSync(join(tmpdir(), 'cs-bad-')), 'data');
    expect(cs('init', '--data-dir', d3).status).toBe(0);
    const file = join(d3, 'countersign.db');
    const bytes = readFileSync(file);
    bytes.fill(0x5a, 100, bytes.length);
    writeFileSync(file, bytes);
    rmSync(`${file}-wal`, { force: true });
    const bad = cs('serve', '--data-dir', d3, '--port', '0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/corrupt|not a database|malformed|unusable/);
    expect(readFileSync(file).subarray(100, 110).every((b) => b === 0x5a)).toBe(true);
  });
});

afterAll(() => {});
