// SIEM exports: OCSF 1.5.0 API Activity events validated against the vendored OCSF schema export (via JSON Schema and
// Ajv, test/helpers/ocsf.ts), RFC 5424 lines parsed by nsyslog-parser (a maintained RFC 3164/5424 parser from npm) and
// held to the RFC's ABNF. Each keeps seq and hash and the stored row, so the chain is checked from the export itself.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRow } from '../../src-main/audit/log.ts';
import type { Store } from '../../src-main/store/store.ts';
import { exportAudit, verifyExport } from '../../src-main/audit/export.ts';
import { EXPORT_FORMATS } from '../../src-main/audit/siem.ts';
import { initDataDir } from '../../src-main/app.ts';
import { createSecrets, type Secrets } from '../../src-main/store/secrets.ts';
import type { Db } from '../../src-main/store/db.ts';
import { ocsfErrors, OCSF } from '../helpers/ocsf.ts';

interface Syslog5424 {
  type?: string; version?: number; ts?: Date; host?: string; appName?: string; pid?: string; messageid?: string;
  structuredData?: Record<string, string>[]; message?: string; prival?: number; facilityval?: number; levelval?: number; err?: unknown;
}
const parseSyslog = createRequire(import.meta.url)('nsyslog-parser') as (line: string, opts?: object) => Syslog5424;

// RFC 5424 section 6 ABNF, written out: HEADER SP STRUCTURED-DATA [SP MSG].
const SD_NAME = '[\\x21\\x23-\\x3c\\x3e-\\x5c\\x5e-\\x7e]{1,32}';
const PARAM_VALUE = '(?:[^"\\\\\\]]|\\\\["\\\\\\]])*';
const SD_ELEMENT = `\\[${SD_NAME}(?: ${SD_NAME}="${PARAM_VALUE}")*\\]`;
const RFC5424 = new RegExp(
  '^<(?:[0-9]|[1-9][0-9]|1[0-8][0-9]|19[01])>1 '
  + '(?:-|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,6})?(?:Z|[+-]\\d{2}:\\d{2})) '
  + '(?:-|[\\x21-\\x7e]{1,255}) (?:-|[\\x21-\\x7e]{1,48}) (?:-|[\\x21-\\x7e]{1,128}) (?:-|[\\x21-\\x7e]{1,32}) '
  + `(?:-|(?:${SD_ELEMENT})+)(?: (?:\\uFEFF)?(.*))?$`, 's');

let dir: string;
let db: Db;
let secrets: Secrets;
let rows: AuditRow[];
const exported: Record<string, string[]> = {};
const files: Record<string, string> = {};

let store: Store;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-siem-'));
  ({ db, store, secrets } = await initDataDir(dir));
  const log = store.audit;
  // Every kind of entry: calls allowed and refused, HTTP refusals, sessions, approvals, executions, console, odd text.
  await log.append({ event: 'tool_call', decision: 'allowed', tool: 'list_devices', tier: 1, keyId: '7d3c2b1a-0000-4000-8000-000000000001', keyName: 'claude', tenant: 'acme-dental', client: 'claude-code 2.1', sessionId: 's-1', remote: '127.0.0.1', args: { limit: 5 }, outcome: 'ok', durationMs: 1.7 });
  await log.append({ event: 'tool_call', decision: 'denied', code: 'SCOPE_DENIED', rule: 'scope', tool: 'device_actions', action: 'wipe', tier: 4, keyId: '7d3c2b1a-0000-4000-8000-000000000001', keyName: 'claude', remote: '::ffff:127.0.0.1', args: { action: 'wipe' }, outcome: 'tier 4' });
  await log.append({ event: 'tool_call', decision: 'pending', tool: 'run_script', tier: 3, keyId: 'k2', tenant: 'globex-logistics', approvalId: 'a-1', args: { body: 'echo "a] \\\\ b"' }, outcome: 'approval requested' });
  await log.append({ event: 'approval', decision: 'approved', tool: 'run_script', tier: 3, approvalId: 'a-1', rule: 'console-admin' });
  await log.append({ event: 'execution', decision: 'failed', code: 'COMMAND_FAILED', tool: 'run_script', approvalId: 'a-1', detail: { exitCode: 2 } });
  await log.append({ event: 'http', decision: 'throttled', code: 'HTTP_429', remote: '10.1.2.3', outcome: 'Too many requests' });
  await log.append({ event: 'auth', decision: 'denied', code: 'KEY_UNKNOWN', remote: 'unknown', detail: { path: '/api/v1/mcp' } });
  await log.append({ event: 'session', decision: 'info', outcome: 'mcp session opened', keyId: 'k3', sessionId: 's-2', remote: '[::1]' });
  await log.append({ event: 'console', decision: 'denied', code: 'BAD_PASSPHRASE', remote: '127.0.0.1', outcome: 'ünïcödé ✓ "quotes" ] brackets' });
  rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as AuditRow[];
  const out = mkdtempSync(join(tmpdir(), 'cs-siem-out-'));
  for (const format of EXPORT_FORMATS) {
    files[format] = join(out, `audit.${format}`);
    await exportAudit(store.sql, files[format]!, secrets.signingKey, secrets.verifyKey, { format, productVersion: '0.1.0' });
    exported[format] = readFileSync(files[format]!, 'utf8').trimEnd().split('\n');
  }
});
afterAll(() => store.close());

describe('OCSF export', () => {
  it(`is OCSF ${OCSF.version} API Activity: every event validates against the vendored schema`, () => {
    const lines = exported.ocsf!;
    expect(lines).toHaveLength(rows.length + 1);
    for (const [i, line] of lines.entries()) {
      const event = JSON.parse(line);
      expect(ocsfErrors('api_activity', event), `line ${i + 1}: ${line.slice(0, 200)}`).toEqual([]);
    }
  });

  it('keeps seq and hash (metadata.sequence, metadata.uid) and the stored row; maps caller, operation and outcome', () => {
    const events = exported.ocsf!.slice(0, -1).map((l) => JSON.parse(l));
    for (const [i, e] of events.entries()) {
      expect(e.metadata).toMatchObject({ version: '1.5.0', sequence: rows[i]!.seq, uid: rows[i]!.hash, product: { name: 'Countersign' } });
      expect(e.unmapped.countersign).toEqual(rows[i]);
      expect(e.time).toBe(Date.parse(rows[i]!.at));
    }
    // events[0] is the 'initialized' entry of init.
    expect(events[1]).toMatchObject({ activity_id: 2, type_uid: 600302, status_id: 1, actor: { user: { uid: rows[1]!.key_id, name: 'claude' }, app_name: 'claude-code 2.1', session: { uid: 's-1' } },
      api: { operation: 'list_devices', request: { data: { limit: 5 } } }, src_endpoint: { ip: '127.0.0.1' } });
    expect(events[2]).toMatchObject({ status_id: 2, status_code: 'SCOPE_DENIED', api: { operation: 'device_actions.wipe', response: { error: 'SCOPE_DENIED' } } });
    expect(events[7]).toMatchObject({ activity_id: 99, activity_name: 'auth', src_endpoint: { name: 'unknown' }, actor: { app_name: 'countersign' } });
  });

  it('a schema violation is caught (the validator is not a formality)', () => {
    const e = JSON.parse(exported.ocsf![1]!);
    expect(ocsfErrors('api_activity', { ...e, severity_id: 42 })).not.toEqual([]);
    expect(ocsfErrors('api_activity', { ...e, api: {} })).not.toEqual([]);
    expect(ocsfErrors('api_activity', { ...e, invented: 1 })).not.toEqual([]);
    expect(ocsfErrors('api_activity', { ...e, src_endpoint: { ip: 'not an ip' } })).not.toEqual([]);
    expect(ocsfErrors('api_activity', { ...e, type_uid: 600399 })).not.toEqual([]);
  });
});

describe('syslog export', () => {
  it('every line is RFC 5424: it matches the ABNF, and nsyslog-parser reads back each field', () => {
    const lines = exported.syslog!;
    expect(lines).toHaveLength(rows.length + 1);
    for (const [i, line] of lines.entries()) {
      const m = RFC5424.exec(line);
      expect(m, `line ${i + 1} against the RFC 5424 ABNF: ${line.slice(0, 200)}`).not.toBeNull();
      const p = parseSyslog(line);
      expect(p.err).toBeUndefined();
      expect(p).toMatchObject({ type: 'RFC5424', version: 1, appName: 'countersign', facilityval: 13 });
      if (i === rows.length) {
        expect(p.messageid).toBe('checkpoint');
        continue;
      }
      const r = rows[i]!;
      expect(p.ts!.toISOString()).toBe(r.at);
      expect(p.messageid).toBe(r.event);
      expect(p.structuredData?.[0]).toMatchObject({ $id: 'countersign@32473', seq: String(r.seq), hash: r.hash, prev: r.prev_hash, decision: r.decision });
      // The message is the stored row (after the BOM RFC 5424 asks for before UTF-8 text).
      expect(JSON.parse(m![1]!)).toEqual(r);
    }
    expect(parseSyslog(lines[2]!).levelval).toBe(5);
    expect(parseSyslog(lines[1]!).levelval).toBe(6);
  });
});

describe('every format verifies offline against a trusted key, and only then', () => {
  it.each(EXPORT_FORMATS)('%s: OK with the install key; an edited entry fails; no trusted key is never OK; another key fails', async (format) => {
    expect(await verifyExport(files[format]!, { key: secrets.verifyKey })).toMatchObject({ ok: true, count: rows.length });
    const lines = exported[format]!;
    const edited = join(mkdtempSync(join(tmpdir(), 'cs-siem-edit-')), 'edited');
    expect(lines[2]).toContain('SCOPE_DENIED');
    writeFileSync(edited, `${[...lines.slice(0, 2), lines[2]!.replaceAll('SCOPE_DENIED', 'SCOPE_DENIEX'), ...lines.slice(3)].join('\n')}\n`);
    expect(await verifyExport(edited, { key: secrets.verifyKey })).toMatchObject({ ok: false, badSeq: 3 });
    expect(await verifyExport(files[format]!)).toMatchObject({ ok: false, untrusted: true });
    const other = createSecrets(mkdtempSync(join(tmpdir(), 'cs-siem-other-')));
    expect(await verifyExport(files[format]!, { key: other.verifyKey })).toMatchObject({ ok: false, reason: expect.stringMatching(/not by the trusted key/) });
  });
});
