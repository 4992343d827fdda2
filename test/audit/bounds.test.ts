// Every audit entry is bounded and redacted by the writer itself, whoever calls it; floods of refusals are counted.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initDataDir } from '../../src-main/app.ts';
import type { AuditRow } from '../../src-main/audit/log.ts';
import { canonicalJson } from '../../src-main/store/canonical.ts';

// The README's figures (audit/bounds.ts, audit/flood.ts), written out so that a change to them is a visible change here.
const REFUSAL_ARGS_MAX = 4096;
const FULL_REFUSALS_PER_MINUTE = 20;

async function freshLog() {
  const { db, store } = await initDataDir(mkdtempSync(join(tmpdir(), 'cs-bounds-')));
  return { db, close: () => store.close(), log: store.audit, last: () => db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1').get() as AuditRow };
}
const rowBytes = (r: AuditRow) => Object.values(r).reduce<number>((n, v) => n + (typeof v === 'string' ? Buffer.byteLength(v) : 8), 0);

describe('bounded entries', () => {
  it('a refusal of a 429 KB request stores a few KiB: a canonical prefix, the SHA-256 of the whole and its size', async () => {
    const { close, log, last } = await freshLog();
    const args = { note: 'n'.repeat(200_000), items: Array.from({ length: 20_000 }, (_, i) => `item ${i}`) };
    const issues = Array.from({ length: 5_000 }, (_, i) => `items.${i}: Expected number, received string`).join('; ');
    await log.append({ event: 'tool_call', decision: 'denied', code: 'INVALID_ARGUMENTS', keyId: 'k', tool: 'x'.repeat(10_000), args, outcome: `Invalid arguments: ${issues}` });
    const row = last();
    expect(rowBytes(row), 'the whole row').toBeLessThan(8 * 1024);
    const stored = JSON.parse(row.args_json!);
    expect(stored).toMatchObject({ truncated: true });
    expect(Buffer.byteLength(row.args_json!)).toBeLessThanOrEqual(REFUSAL_ARGS_MAX);
    expect(stored.prefix.length).toBeGreaterThan(3000);
    // The hash and size are of the whole (redacted) value, in canonical JSON: a copy of the request can be matched.
    const whole = canonicalJson(args);
    expect(stored.bytes).toBe(Buffer.byteLength(whole));
    expect(stored.sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    expect(whole.startsWith(stored.prefix)).toBe(true);
    expect(row.outcome!.length).toBeLessThan(1100);
    expect(row.outcome).toMatch(/more chars\]$/);
    expect(row.tool!.length).toBeLessThan(300);
    expect(await log.verify()).toMatchObject({ ok: true });
    await close();
  });

  it('caps are in stored bytes, whatever the characters: multi-byte text and text that escaping lengthens', async () => {
    const { close, log, last } = await freshLog();
    for (const filler of ['ü', '日本', '😀', '"', '\\', '\u0001']) {
      await log.append({ event: 'tool_call', decision: 'denied', code: 'INVALID_ARGUMENTS', keyId: `k${filler}`, tool: filler.repeat(2000), args: { x: filler.repeat(50_000) }, outcome: filler.repeat(50_000), detail: { y: filler.repeat(50_000) } });
      const row = last();
      expect(Buffer.byteLength(row.args_json!), filler).toBeLessThanOrEqual(REFUSAL_ARGS_MAX);
      expect(Buffer.byteLength(row.detail_json!), filler).toBeLessThanOrEqual(2048);
      expect(Buffer.byteLength(row.outcome!), filler).toBeLessThanOrEqual(1024);
      expect(Buffer.byteLength(row.tool!), filler).toBeLessThanOrEqual(256);
    }
    expect(await log.verify()).toMatchObject({ ok: true });
    await close();
  });

  it('an allowed call keeps its validated arguments whole (a library script body and its parameters)', async () => {
    const { close, log, last } = await freshLog();
    const args = { body: 'echo hi\n'.repeat(800), parameters: { a: 'b' } };
    await log.append({ event: 'tool_call', decision: 'pending', tool: 'run_script', args });
    expect(JSON.parse(last().args_json!)).toEqual(args);
    await close();
  });
});

describe('redaction by value', () => {
  // [text holding a secret, the part that must not be stored]
  const SECRETS: Record<string, [string, string]> = {
    countersign: ['csk_abcdefghijklmnopqrstuvwxyz012345', 'abcdefghijklmnopqrstuvwxyz012345'],
    bearer: ['Authorization was Bearer abcdefghijklmnopq.def-ghi_jkl~mno+pqr', 'abcdefghijklmnopq.def'],
    jwt: ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'dozjgNryP4J3jVmNHl0w5N'],
    aws: ['AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    awsSecret: ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG'],
    azure: ['AccountName=x;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;EndpointSuffix=core.windows.net', 'Zm9vYmFyYmF6cXV4Zm9v'],
    azureSas: ['https://x.blob.core.windows.net/c?sv=2022-11-02&sig=abcdefghijklmnopqrstuvwxyz0123456789%2B%3D', 'abcdefghijklmnopqrstuvwxyz0123'],
    azureClientSecret: ['client secret is Abc8Q~abcdefghijklmnopqrstuvwxyz012345.', 'abcdefghijklmnopqrstuvwxyz0'],
    gcp: ['AIzaSyA1234567890abcdefghijklmnopqrstuv', 'SyA1234567890abcdefghijklm'],
    gcpToken: ['ya29.a0AfH6SMBx1234567890abcdefghijklmnop', 'a0AfH6SMBx1234567890'],
    pem: ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU'],
  };

  it('finds Countersign keys and the common token shapes in any string: arguments, detail, outcome, tool names', async () => {
    const { close, log, last } = await freshLog();
    for (const [name, [secret, core]] of Object.entries(SECRETS)) {
      await log.append({ event: 'tool_call', decision: 'denied', code: 'X', tool: `t ${secret}`, args: { note: `see ${secret} here`, list: [secret] }, detail: { deep: { x: secret } }, outcome: `failed with ${secret}` });
      const row = last();
      const text = JSON.stringify(row);
      expect(text, name).not.toContain(core);
      expect(row.args_json, name).toMatch(/\[redacted:[a-z-]+\]/);
      expect(row.outcome, name).toMatch(/^failed with .*\[redacted:/);
    }
    expect(await log.verify()).toMatchObject({ ok: true });
    await close();
  });

  it('still redacts by field name, including short names such as pw', async () => {
    const { close, log, last } = await freshLog();
    await log.append({ event: 'tool_call', decision: 'pending', tool: 'run_script', args: { parameters: { pw: 'hunter2', user: 'bob' } } });
    expect(JSON.parse(last().args_json!)).toEqual({ parameters: { pw: '[redacted]', user: 'bob' } });
    await close();
  });
});

describe('floods of refusals', () => {
  it('one source gets full entries up to the per-minute allowance; the rest become one counted entry per cause and minute', async () => {
    const { db, close, log } = await freshLog();
    const before = await log.count();
    for (let i = 0; i < 500; i++) {
      // Made-up tool names, long and many: the counted entry must still fit a refusal's caps and keep its count.
      await log.append({ event: 'tool_call', decision: i % 2 ? 'throttled' : 'denied', code: i % 2 ? 'RATE_LIMITED' : 'INVALID_ARGUMENTS', keyId: 'flooder', tool: `t${i}`.repeat(300), args: { i } });
    }
    // Another source is not held back by the first one's flood.
    expect(await log.append({ event: 'auth', decision: 'denied', code: 'KEY_UNKNOWN', remote: '10.0.0.9' })).toBeDefined();
    await log.flushFloods(true);
    const rows = db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq').all(before) as AuditRow[];
    const mine = rows.filter((r) => r.key_id === 'flooder');
    const aggregated = mine.filter((r) => r.detail_json?.includes('"aggregated":true'));
    expect(mine.length - aggregated.length).toBe(FULL_REFUSALS_PER_MINUTE);
    expect(aggregated.map((r) => r.code).sort()).toEqual(['INVALID_ARGUMENTS', 'RATE_LIMITED']);
    const counted = aggregated.reduce((n, r) => n + JSON.parse(r.detail_json!).count, 0);
    expect(counted + FULL_REFUSALS_PER_MINUTE, 'every refusal is accounted for').toBe(500);
    expect(aggregated[0]!.outcome).toMatch(/more like this from key flooder in the minute from/);
    expect(Object.keys(JSON.parse(aggregated[0]!.detail_json!).tools).length).toBeLessThanOrEqual(5);
    expect(await log.verify()).toMatchObject({ ok: true });
    await close();
  });
});
