import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { getScriptResults, listScripts, runScript, OUTPUT_CAP } from '../../src-main/tools/scripts.ts';
import { deviceActions } from '../../src-main/tools/devices.ts';
import type { CallCtx } from '../helpers/toolHarness.ts';
import { denial } from './util.ts';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

let h: Harness;
interface Dev { id: string; hostname: string; os: string; status: string; tenant_id: string }
let devs: (slug: string, os: string) => Dev[];
let script: (name: string) => { id: string; body: string; sha256: string; tenant_id: string | null };

beforeAll(async () => {
  h = await createHarness();
  devs = (slug, os) => h.db.prepare(`SELECT d.* FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = ? AND d.os = ? ORDER BY d.hostname`)
    .all(slug, os) as Dev[];
  script = (name) => h.db.prepare('SELECT * FROM scripts WHERE name = ?').get(name) as ReturnType<typeof script>;
});
afterAll(async () => h.db.close());


const acme = () => h.ctx(['acme-dental']);

describe('list_scripts', () => {
  it('shows the MSP library and the key\'s own tenant scripts, never another tenant\'s', async () => {
    const out = await h.run(listScripts, { limit: 100 }, acme());
    const names = out.scripts.map((s) => s.name);
    expect(names).toContain('Clear temp files');
    expect(names).toContain('Restart Dentrix services');
    expect(names).not.toContain('Clear CUPS print queue');
    expect(out.scripts.find((s) => s.name === 'Clear temp files')!.scope).toBe('library');
    expect(out.scripts.find((s) => s.name === 'Restart Dentrix services')!.scope).toBe('acme-dental');
    expect(out.scripts.every((s) => s.body === undefined)).toBe(true);
    expect(out.total).toBe(out.scripts.length);
  });

  it('filters by language and search, includes bodies on request, and paginates', async () => {
    const bash = await h.run(listScripts, { language: 'bash', includeBody: true }, h.ctx());
    expect(bash.scripts.length).toBeGreaterThan(0);
    for (const s of bash.scripts) {
      expect(s.language).toBe('bash');
      expect(sha(s.body!)).toBe(s.sha256);
      expect(s.bodyTruncated).toBe(false);
    }
    const found = await h.run(listScripts, { search: 'bitlocker' }, h.ctx());
    expect(found.scripts.map((s) => s.name)).toEqual(['Get BitLocker status']);
    const byDesc = await h.run(listScripts, { search: 'TLS certificate' }, h.ctx());
    expect(byDesc.scripts.map((s) => s.name)).toEqual(['Check certificate expiry']);
    const first = await h.run(listScripts, { limit: 2 }, h.ctx());
    expect(first.truncated).toBe(true);
    expect(first.nextCursor).not.toBeNull();
    const second = await h.run(listScripts, { limit: 2, cursor: first.nextCursor }, h.ctx());
    expect(second.scripts[0]!.id).not.toBe(first.scripts[0]!.id);
  });

  it('refuses a tenant outside the key', async () => {
    expect((await denial(() => h.run(listScripts, { tenant: 'globex-logistics' }, acme()))).code).toBe('TENANT_DENIED');
  });
});

describe('run_script', () => {
  it('queues one command per device with the library body and its exact hash', async () => {
    const s = script('Clear temp files');
    const targets = devs('acme-dental', 'windows').slice(0, 3);
    const ctx = acme();
    const args = runScript.input.parse({ scriptId: s.id, deviceIds: targets.map((d) => d.id), parameters: { Days: '7' } });
    const plan = await h.plan(runScript, args, ctx);
    expect(plan.tenant!.slug).toBe('acme-dental');
    const ps = plan.detail.script as { body: string; sha256: string; name: string; language: string };
    expect(ps).toMatchObject({ body: s.body, sha256: sha(s.body), name: 'Clear temp files', language: 'powershell' });
    expect(plan.detail.deviceCount).toBe(3);
    expect((plan.detail.devices as { hostname: string; os: string; online: boolean }[]).map((d) => d.hostname)).toEqual(targets.map((d) => d.hostname));
    expect(plan.summary).toContain('Clear temp files');

    const out = await h.run(runScript, args, ctx);
    expect(out.commands).toHaveLength(3);
    expect(out.script).toEqual({ id: s.id, name: 'Clear temp files', language: 'powershell', sha256: sha(s.body) });
    const rows = h.db.prepare('SELECT * FROM device_commands WHERE execution_id = ? ORDER BY device_id').all(out.executionId) as { device_id: string; kind: string; status: string; payload_json: string }[];
    expect(rows.map((r) => r.device_id).sort()).toEqual(targets.map((d) => d.id).sort());
    for (const r of rows) {
      const p = JSON.parse(r.payload_json) as Record<string, unknown>;
      expect(r.kind).toBe('script');
      expect(r.status).toBe('queued');
      expect(p).toMatchObject({ language: 'powershell', body: s.body, sha256: sha(s.body), parameters: { Days: '7' }, timeoutSeconds: 300 });
    }
    const exec = h.db.prepare('SELECT kind, tool FROM executions WHERE id = ?').get(out.executionId);
    expect(exec).toEqual({ kind: 'script', tool: 'run_script' });
  });

  it('queues an ad-hoc body exactly as given (no trimming) and flags pwsh on Linux', async () => {
    const body = '  Write-Output "hello"\r\n# trailing spaces   \n';
    const linux = devs('globex-logistics', 'linux')[0]!;
    const win = devs('globex-logistics', 'windows')[0]!;
    const ctx = h.ctx(['globex-logistics']);
    const args = runScript.input.parse({ language: 'powershell', body, deviceIds: [linux.id, win.id], timeoutSeconds: 60 });
    const plan = await h.plan(runScript, args, ctx);
    expect((plan.detail.script as { name: string }).name).toBe('ad-hoc');
    expect((plan.detail.warnings as string[]).join(' ')).toContain(linux.hostname);
    expect((plan.detail.warnings as string[]).join(' ')).toMatch(/pwsh/);
    const out = await h.run(runScript, args, ctx);
    expect(out.script.sha256).toBe(sha(body));
    const payloads = (h.db.prepare('SELECT payload_json FROM device_commands WHERE execution_id = ?').all(out.executionId) as { payload_json: string }[])
      .map((r) => JSON.parse(r.payload_json) as { body: string; sha256: string; timeoutSeconds: number });
    expect(payloads).toHaveLength(2);
    for (const p of payloads) expect(p).toMatchObject({ body, sha256: sha(body), timeoutSeconds: 60 });
  });

  it('gives the same NOT_FOUND for a foreign device, a foreign tenant script and an unknown id', async () => {
    const mine = devs('acme-dental', 'windows')[0]!;
    const foreignDev = devs('globex-logistics', 'windows')[0]!;
    const foreignScript = script('Clear CUPS print queue');
    const ctx = acme();
    const before = h.db.prepare('SELECT count(*) AS n FROM executions').get();
    const d1 = await denial(() => h.run(runScript, { scriptId: script('Clear temp files').id, deviceIds: [mine.id, foreignDev.id] }, ctx));
    const d2 = await denial(() => h.run(runScript, { scriptId: foreignScript.id, deviceIds: [mine.id] }, ctx));
    const d3 = await denial(() => h.run(runScript, { scriptId: randomUUID(), deviceIds: [mine.id] }, ctx));
    for (const d of [d1, d2, d3]) expect(d.code).toBe('NOT_FOUND');
    expect(d2.message.replace(foreignScript.id, 'X')).toBe(d3.message.replace(/'[0-9a-f-]{36}'/, "'X'"));
    expect(h.db.prepare('SELECT count(*) AS n FROM executions').get()).toEqual(before);
  });

  it('refuses a tenant script on another tenant\'s devices even when the key sees both', async () => {
    const dentrix = script('Restart Dentrix services');
    const glx = devs('globex-logistics', 'windows')[0]!;
    const d = await denial(() => h.run(runScript, { scriptId: dentrix.id, deviceIds: [glx.id] }, h.ctx()));
    expect(d.code).toBe('INVALID_ARGUMENTS');
    expect(d.message).toContain('acme-dental');
  });

  it('refuses devices of two tenants in one call', async () => {
    const a = devs('acme-dental', 'windows')[0]!;
    const g = devs('globex-logistics', 'windows')[0]!;
    expect((await denial(() => h.run(runScript, { language: 'powershell', body: 'hostname', deviceIds: [a.id, g.id] }, h.ctx()))).code).toBe('INVALID_ARGUMENTS');
  });

  it('requires exactly one of scriptId and body, and a language with a body', async () => {
    const dev = devs('acme-dental', 'windows')[0]!.id;
    const s = script('Clear temp files').id;
    const both = runScript.input.safeParse({ scriptId: s, language: 'powershell', body: 'x', deviceIds: [dev] });
    expect(both.success).toBe(false);
    expect(both.error!.issues[0]!.message).toMatch(/exactly one of scriptId/);
    expect(runScript.input.safeParse({ deviceIds: [dev] }).success).toBe(false);
    const noLang = runScript.input.safeParse({ body: 'echo', deviceIds: [dev] });
    expect(noLang.success).toBe(false);
    expect(noLang.error!.issues[0]!.message).toMatch(/language/);
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: [dev] }).success).toBe(true);
    expect(runScript.input.safeParse({ language: 'bash', body: 'x'.repeat(65_537), deviceIds: [dev] }).success).toBe(false);
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: [] }).success).toBe(false);
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: Array.from({ length: 51 }, (_, i) => `d${i}`) }).success).toBe(false);
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: [dev], timeoutSeconds: 5 }).success).toBe(false);
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: [dev], parameters: { '1bad': 'x' } }).success).toBe(false);
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: [dev], parameters: { ok: 'x'.repeat(1025) } }).success).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, 'v']));
    expect(runScript.input.safeParse({ scriptId: s, deviceIds: [dev], parameters: many }).success).toBe(false);
  });

  it('still exposes a readable JSON schema with all fields', async () => {
    const { z } = await import('zod');
    const schema = z.toJSONSchema(runScript.input, { io: 'input' }) as { type: string; properties: Record<string, unknown>; required?: string[] };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['scriptId', 'language', 'body', 'deviceIds', 'parameters', 'timeoutSeconds']));
    expect(schema.required).toEqual(['deviceIds']);
  });

  it('refuses bash on Windows devices, naming them', async () => {
    const win = devs('globex-logistics', 'windows').slice(0, 2);
    const linux = devs('globex-logistics', 'linux')[0]!;
    const d = await denial(() => h.run(runScript, { scriptId: script('Check disk usage').id, deviceIds: [linux.id, ...win.map((w) => w.id)] }, h.ctx(['globex-logistics'])));
    expect(d.code).toBe('INVALID_ARGUMENTS');
    for (const w of win) expect(d.message).toContain(w.hostname);
    expect(d.message).not.toContain(linux.hostname);
  });

  it('refuses a library script whose stored hash no longer matches its body', async () => {
    const s = script('Restart Print Spooler');
    h.db.prepare('UPDATE scripts SET body = body || ? WHERE id = ?').run('\nRemove-Item C:\\ -Recurse', s.id);
    try {
      const d = await denial(() => h.run(runScript, { scriptId: s.id, deviceIds: [devs('acme-dental', 'windows')[0]!.id] }, acme()));
      expect(d.code).toBe('CONFLICT');
    } finally {
      h.db.prepare('UPDATE scripts SET body = ? WHERE id = ?').run(s.body, s.id);
    }
  });
});

describe('get_script_results', () => {
  let ctx: CallCtx;
  let executionId: string;
  beforeAll(async () => {
    ctx = acme();
    const targets = devs('acme-dental', 'windows').slice(0, 3);
    executionId = (await h.run(runScript, { scriptId: script('Get BitLocker status').id, deviceIds: targets.map((d) => d.id) }, ctx)).executionId;
    const cmds = h.db.prepare('SELECT id FROM device_commands WHERE execution_id = ? ORDER BY id').all(executionId) as { id: string }[];
    h.db.prepare(`UPDATE device_commands SET status = 'completed', exit_code = 0, stdout = ?, stderr = '', started_at = ?, finished_at = ? WHERE id = ?`)
      .run('A'.repeat(OUTPUT_CAP + 5000), '2026-11-20T12:01:00.000Z', '2026-11-20T12:02:00.000Z', cmds[0]!.id);
    h.db.prepare(`UPDATE device_commands SET status = 'failed', exit_code = 1, stdout = 'partial', stderr = ? WHERE id = ?`)
      .run('E'.repeat(OUTPUT_CAP + 1), cmds[1]!.id);
  });

  it('returns each device\'s command with capped output, truncation flags and counts', async () => {
    const out = await h.run(getScriptResults, { executionId }, ctx);
    expect(out.execution).toMatchObject({ id: executionId, kind: 'script', tool: 'run_script', tenant: 'acme-dental' });
    expect(out.script).toMatchObject({ name: 'Get BitLocker status', language: 'powershell', sha256: script('Get BitLocker status').sha256 });
    expect(out.commands).toHaveLength(3);
    expect(out.counts).toEqual({ queued: 1, running: 0, completed: 1, failed: 1, timed_out: 0, cancelled: 0 });
    expect(out.finished).toBe(false);
    const done = out.commands.find((c) => c.status === 'completed')!;
    expect(done.stdout).toHaveLength(OUTPUT_CAP);
    expect(done).toMatchObject({ stdoutTruncated: true, stdoutLength: OUTPUT_CAP + 5000, stderr: '', stderrTruncated: false, exitCode: 0 });
    expect(done.startedAt).toBe('2026-11-20T12:01:00.000Z');
    const failed = out.commands.find((c) => c.status === 'failed')!;
    expect(failed).toMatchObject({ stdout: 'partial', stdoutTruncated: false, stderrTruncated: true, exitCode: 1 });
    expect(failed.stderr).toHaveLength(OUTPUT_CAP);
    const queued = out.commands.find((c) => c.status === 'queued')!;
    expect(queued).toMatchObject({ stdout: null, stderr: null, stdoutTruncated: false, exitCode: null, startedAt: null });
    expect(queued.hostname).toMatch(/^ACME-/);
    expect(out.truncated).toBe(false);
  });

  it('paginates over devices', async () => {
    const p1 = await h.run(getScriptResults, { executionId, limit: 2 }, ctx);
    expect(p1.commands).toHaveLength(2);
    expect(p1.total).toBe(3);
    const p2 = await h.run(getScriptResults, { executionId, limit: 2, cursor: p1.nextCursor }, ctx);
    expect(p2.commands).toHaveLength(1);
    expect(p2.truncated).toBe(false);
  });

  it('reads other execution kinds too', async () => {
    const dev = devs('acme-dental', 'windows')[0]!;
    const act = await h.run(deviceActions, { action: 'lock', deviceIds: [dev.id] }, ctx);
    const out = await h.run(getScriptResults, { executionId: act.executionId }, ctx);
    expect(out.execution.kind).toBe('device_action');
    expect(out.script).toBeNull();
    expect(out.commands.map((c) => c.deviceId)).toEqual([dev.id]);
  });

  it('answers NOT_FOUND for another tenant\'s execution', async () => {
    expect((await denial(() => h.run(getScriptResults, { executionId }, h.ctx(['globex-logistics'])))).code).toBe('NOT_FOUND');
    expect((await denial(() => h.run(getScriptResults, { executionId: randomUUID() }, ctx))).code).toBe('NOT_FOUND');
  });
});
