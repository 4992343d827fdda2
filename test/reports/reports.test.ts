import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { generateReport, getReportStatus } from '../../src-main/tools/reports.ts';
import { ReportJobs } from '../../src-main/reports/generator.ts';
import { csvField } from '../../src-main/reports/csv.ts';
import { denial } from '../tools/util.ts';

/** A strict RFC 4180 reader: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += '"', i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows;
}


const HOSTILE = '<script>alert(1)</script>';
let h: Harness;
let jobs: ReportJobs;
const ctx = (slugs?: string[]) => h.ctx(slugs, { services: { startReport: (id) => jobs.start(id), dataDir: h.dir } });
const deviceCount = (slug: string) =>
  (h.db.prepare('SELECT count(*) AS n FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = ?').get(slug) as { n: number }).n;

beforeAll(async () => {
  h = await createHarness();
  jobs = new ReportJobs(h.store, h.dir);
  const victim = h.db.prepare(`SELECT d.id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.slug = 'acme-dental' ORDER BY d.hostname LIMIT 1`)
    .get() as { id: string };
  h.db.prepare('UPDATE devices SET hostname = ? WHERE id = ?').run(HOSTILE, victim.id);
});
afterAll(async () => {
  await jobs.whenIdle();
  h.db.close();
});

async function generate(type: string, format: string, slug = 'acme-dental') {
  const c = ctx([slug]);
  const out = await h.run(generateReport, { tenant: slug, type, format }, c);
  expect(out.status).toBe('queued');
  // The job runs in the background: nothing happened yet when the tool returns.
  expect(h.db.prepare('SELECT status, progress FROM reports WHERE id = ?').get(out.reportId)).toEqual({ status: 'queued', progress: 0 });
  await jobs.wait(out.reportId);
  return await h.run(getReportStatus, { reportId: out.reportId }, c);
}

describe('generate_report / get_report_status', () => {
  it('plans against the key\'s tenants and describes the call', async () => {
    const plan = await h.plan(generateReport, { tenant: 'acme-dental', type: 'security' }, ctx(['acme-dental']));
    expect(plan.tenant!.slug).toBe('acme-dental');
    expect(plan.detail).toEqual({ type: 'security', format: 'pdf', tenant: 'acme-dental' });
    expect((await denial(() => h.run(generateReport, { tenant: 'globex-logistics', type: 'inventory' }, ctx(['acme-dental'])))).code).toBe('TENANT_DENIED');
    expect(generateReport.input.safeParse({ tenant: 'acme-dental', type: 'payroll' }).success).toBe(false);
    expect(generateReport.input.safeParse({ tenant: 'acme-dental', type: 'inventory', format: 'docx' }).success).toBe(false);
  });

  for (const format of ['csv', 'html', 'pdf'] as const) {
    for (const type of ['inventory', 'compliance', 'security', 'executive'] as const) {
      it(`builds a ${type} report as ${format}`, async () => {
        const st = await generate(type, format);
        expect(st).toMatchObject({ state: 'completed', progress: 100, type, format, tenant: 'acme-dental', error: null });
        expect(st.finishedAt).not.toBeNull();
        const f = st.file!;
        expect(f.path).toBe(join(h.dir, 'reports', 'acme-dental', f.fileName));
        expect(f.fileName).toMatch(new RegExp(`^${type}-\\d{8}-\\d{6}-[0-9a-f]{8}\\.${format}$`));
        expect(existsSync(f.path)).toBe(true);
        const bytes = readFileSync(f.path);
        expect(statSync(f.path).size).toBe(f.sizeBytes);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
        if (format === 'pdf') expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        if (format === 'csv') {
          const text = bytes.toString('utf8');
          const rows = parseCsv(text);
          expect(text.includes('\r\n')).toBe(true);
          const header = rows[0]!;
          expect(rows.slice(1).every((r) => r.length === header.length)).toBe(true);
          expect(rows.length - 1).toBe(type === 'executive' ? 11 : deviceCount('acme-dental'));
          if (type !== 'executive') expect(rows.some((r) => r[0] === HOSTILE)).toBe(true);
        }
        if (format === 'html') {
          const html = bytes.toString('utf8');
          expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
          expect(html).not.toContain('<script');
          if (type !== 'executive') expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
        }
      });
    }
  }

  it('reports progress while queued and a hint to poll', async () => {
    const c = h.ctx(['acme-dental'], { services: { startReport: () => {}, dataDir: h.dir } });
    const { reportId, hint } = await h.run(generateReport, { tenant: 'acme-dental', type: 'inventory' }, c);
    expect(hint).toContain('get_report_status');
    const st = await h.run(getReportStatus, { reportId }, c);
    expect(st).toMatchObject({ state: 'queued', progress: 0, format: 'pdf', file: null, finishedAt: null });
    expect(st.hint).toBeDefined();
    h.db.prepare(`UPDATE reports SET status = 'failed', error = 'test' WHERE id = ?`).run(reportId);
  });

  it('answers NOT_FOUND for another tenant\'s report and an unknown id', async () => {
    const st = await generate('inventory', 'csv', 'globex-logistics');
    expect(st.state).toBe('completed');
    expect((await denial(() => h.run(getReportStatus, { reportId: st.reportId }, ctx(['acme-dental'])))).code).toBe('NOT_FOUND');
    expect((await denial(() => h.run(getReportStatus, { reportId: randomUUID() }, ctx(['acme-dental'])))).code).toBe('NOT_FOUND');
  });

  it('resumePending completes a report a crash left running', async () => {
    const tenant = h.tenants.find((t) => t.slug === 'northwind-legal')!;
    const id = randomUUID();
    h.db.prepare(`INSERT INTO reports (id, tenant_id, type, format, status, progress, created_at) VALUES (?, ?, 'security', 'html', 'running', 40, ?)`)
      .run(id, tenant.id, new Date().toISOString());
    const restarted = new ReportJobs(h.store, h.dir);
    expect(await restarted.resumePending()).toContain(id);
    await restarted.whenIdle();
    const st = await h.run(getReportStatus, { reportId: id }, ctx(['northwind-legal']));
    expect(st).toMatchObject({ state: 'completed', progress: 100 });
    expect(existsSync(st.file!.path)).toBe(true);
  });

  it('marks a report failed when its file cannot be written', async () => {
    const blocked = join(h.dir, 'not-a-dir');
    writeFileSync(blocked, 'x');
    const broken = new ReportJobs(h.store, blocked);
    const c = h.ctx(['acme-dental'], { services: { startReport: (id) => broken.start(id), dataDir: blocked } });
    const { reportId } = await h.run(generateReport, { tenant: 'acme-dental', type: 'executive', format: 'csv' }, c);
    const done = await broken.wait(reportId);
    expect(done!.status).toBe('failed');
    const st = await h.run(getReportStatus, { reportId }, c);
    expect(st.state).toBe('failed');
    expect(st.error).toBeTruthy();
    expect(st.file).toBeNull();
  });
});

describe('csv fields', () => {
  it('quotes per RFC 4180 and defuses spreadsheet formulas', async () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(-3)).toBe('-3');
    expect(csvField(null)).toBe('');
  });
});
