import { beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/toolHarness.ts';
import { addIncidentNote, createChangeLog, createRunbook, getDocuments } from '../../src-main/tools/docs.ts';
import { ctxAt, denial, runner } from './util.ts';
import { budgetOf } from '../../src-main/tools/types.ts';

let h: Harness;
let run: ReturnType<typeof runner>;
const count = (sql: string, ...params: unknown[]) => (h.db.prepare(sql).get(...params) as { n: number }).n;
const tenantId = (slug: string) => h.tenants.find((t) => t.slug === slug)!.id;
const ids = (table: string, slug: string) => (h.db.prepare(`SELECT id FROM ${table} WHERE tenant_id = ? ORDER BY id`).all(tenantId(slug)) as { id: string }[]).map((r) => r.id);

beforeEach(async () => {
  h = await createHarness();
  run = runner(h);
});

describe('create_runbook', () => {
  it('stores the runbook with tags and links, derives the tenant from the ids, and reads it back', async () => {
    const ctx = ctxAt(h);
    const [d1, d2] = ids('devices', 'acme-dental');
    const [a1] = ids('alerts', 'acme-dental');
    const body = '# Restart Dentrix\n\n1. Stop the services\n2. Start them again';
    const before = count('SELECT total_changes() AS n');
    const plan = await h.plan(createRunbook, createRunbook.input.parse({ title: 'Dentrix restart', body, deviceIds: [d1, d2], alertIds: [a1] }), ctx);
    expect(count('SELECT total_changes() AS n')).toBe(before);
    expect(plan.tenant?.slug).toBe('acme-dental');
    expect(plan.summary).toContain('Dentrix restart');

    const r = await run(createRunbook, { title: 'Dentrix restart', body, tags: ['dentrix', 'sql', 'dentrix'], deviceIds: [d1, d2, d1], alertIds: [a1] }, ctx);
    expect(r).toMatchObject({ tenant: 'acme-dental', kind: 'runbook', title: 'Dentrix restart' });
    expect(r.links).toHaveLength(3);
    expect(count('SELECT count(*) AS n FROM document_links WHERE document_id = ?', r.documentId)).toBe(3);
    const row = h.db.prepare('SELECT tenant_id, body, detail_json, key_id FROM documents WHERE id = ?').get(r.documentId) as Record<string, string>;
    expect(row).toMatchObject({ tenant_id: tenantId('acme-dental'), body, key_id: 'test-key' });
    expect(JSON.parse(row.detail_json!)).toEqual({ tags: ['dentrix', 'sql'] });

    const back = await run(getDocuments, { deviceId: d2 }, ctx);
    expect(back.total).toBe(1);
    expect(back.documents[0]).toMatchObject({ id: r.documentId, body, kind: 'runbook', detail: { tags: ['dentrix', 'sql'] } });
    expect(back.documents[0]!.links).toEqual(expect.arrayContaining([{ kind: 'device', id: d1 }, { kind: 'alert', id: a1 }]));
    expect((await run(getDocuments, { alertId: a1 }, ctx)).total).toBe(1);
  });

  it('needs a tenant slug when nothing is linked, and the slug must agree with the ids', async () => {
    const ctx = ctxAt(h);
    expect((await denial(() => run(createRunbook, { title: 't', body: 'b' }, ctx))).rule).toBe('tenant_required');
    const r = await run(createRunbook, { tenant: 'globex-logistics', title: 'Warehouse printers', body: 'Check CUPS first.' }, ctx);
    expect(r.tenant).toBe('globex-logistics');
    expect(r.links).toEqual([]);
    const mismatch = await denial(() => run(createRunbook, { tenant: 'globex-logistics', title: 't', body: 'b', deviceIds: [ids('devices', 'acme-dental')[0]] }, ctx));
    expect(mismatch.code).toBe('INVALID_ARGUMENTS');
    const span = await denial(() => run(createRunbook, { title: 't', body: 'b', deviceIds: [ids('devices', 'acme-dental')[0], ids('devices', 'northwind-legal')[0]] }, ctx));
    expect(span.rule).toBe('single_tenant');
  });

  it('refuses foreign ids as NOT_FOUND and writes nothing', async () => {
    const ctx = ctxAt(h, ['acme-dental']);
    const e = await denial(() => run(createRunbook, { title: 't', body: 'b', alertIds: [ids('alerts', 'northwind-legal')[0]] }, ctx));
    expect(e.code).toBe('NOT_FOUND');
    expect((await denial(() => run(createRunbook, { tenant: 'northwind-legal', title: 't', body: 'b' }, ctx))).code).toBe('TENANT_DENIED');
    expect(count('SELECT count(*) AS n FROM documents')).toBe(0);
  });

  it('bounds its input and is an additive, non-idempotent write', async () => {
    const p = (x: object) => createRunbook.input.safeParse({ tenant: 'acme-dental', title: 't', body: 'b', ...x }).success;
    expect(p({})).toBe(true);
    expect(p({ title: '' })).toBe(false);
    expect(p({ title: 'x'.repeat(201) })).toBe(false);
    expect(p({ body: 'x'.repeat(20_001) })).toBe(false);
    expect(p({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })).toBe(false);
    expect(p({ deviceIds: Array.from({ length: 51 }, (_, i) => `d${i}`) })).toBe(false);
    expect(createRunbook.baseTier).toBe(1);
    expect(budgetOf(createRunbook)).toBe('write');
    expect(createRunbook.annotations).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false });
  });
});

describe('add_incident_note', () => {
  it('stores the note on the incident with links and is found by incident', async () => {
    const ctx = ctxAt(h);
    const incident = ids('incidents', 'northwind-legal')[0]!;
    const device = ids('devices', 'northwind-legal')[0]!;
    const r = await run(addIncidentNote, { incidentId: incident, body: 'Restarted the indexer; crash persists after 10 minutes.', deviceIds: [device] }, ctx);
    expect(r.tenant).toBe('northwind-legal');
    expect(r.title).toMatch(/^Note on /);
    expect(count('SELECT count(*) AS n FROM documents WHERE id = ? AND incident_id = ? AND kind = ?', r.documentId, incident, 'incident_note')).toBe(1);
    const back = await run(getDocuments, { incidentId: incident }, ctx);
    expect(back.documents.map((d) => d.id)).toEqual([r.documentId]);
    expect(back.documents[0]!.links).toEqual([{ kind: 'device', id: device }, { kind: 'incident', id: incident }]);
  });

  it('refuses a foreign incident and links from another tenant', async () => {
    const acmeOnly = ctxAt(h, ['acme-dental']);
    expect((await denial(() => run(addIncidentNote, { incidentId: ids('incidents', 'globex-logistics')[0], body: 'x' }, acmeOnly))).code).toBe('NOT_FOUND');
    const span = await denial(() => run(addIncidentNote, { incidentId: ids('incidents', 'acme-dental')[0], body: 'x', alertIds: [ids('alerts', 'globex-logistics')[0]] }, ctxAt(h)));
    expect(span.rule).toBe('single_tenant');
    expect(() => addIncidentNote.input.parse({ incidentId: 'i', body: 'x'.repeat(10_001) })).toThrow();
  });
});

describe('create_change_log', () => {
  it('keeps change type, before and after state (text or objects) and links', async () => {
    const ctx = ctxAt(h);
    const [d] = ids('devices', 'globex-logistics');
    const incident = ids('incidents', 'globex-logistics')[1]!;
    const r = await run(createChangeLog, {
      title: 'Moved backup target', description: 'Pointed the nightly job at the new NAS share.', changeType: 'configuration',
      before: { target: '\\\\nas01\\backup', retentionDays: 14 }, after: 'target \\\\nas02\\backup, retention 30 days', deviceIds: [d], incidentId: incident,
    }, ctx);
    expect(r.kind).toBe('change_log');
    const back = await run(getDocuments, { kind: 'change_log', tenant: 'globex-logistics' }, ctx);
    expect(back.total).toBe(1);
    expect(back.documents[0]).toMatchObject({
      id: r.documentId, incidentId: incident, body: 'Pointed the nightly job at the new NAS share.',
      detail: { changeType: 'configuration', before: { target: '\\\\nas01\\backup', retentionDays: 14 }, after: 'target \\\\nas02\\backup, retention 30 days' },
    });
    expect((await run(getDocuments, { kind: 'runbook' }, ctx)).total).toBe(0);
  });

  it('bounds the before/after state and the change type', async () => {
    const base = { tenant: 'acme-dental', title: 't', description: 'd', changeType: 'software' };
    expect(createChangeLog.input.safeParse(base).success).toBe(true);
    expect(createChangeLog.input.safeParse({ ...base, changeType: 'mystery' }).success).toBe(false);
    expect(createChangeLog.input.safeParse({ ...base, before: 'x'.repeat(10_001) }).success).toBe(false);
    expect(createChangeLog.input.safeParse({ ...base, after: { blob: 'x'.repeat(10_000) } }).success).toBe(false);
  });
});

describe('get_documents', () => {
  it('filters by tenant and kind, pages newest first without duplicates, and stays inside the key', async () => {
    const ctx = ctxAt(h);
    for (let i = 0; i < 7; i++) {
      await run(createRunbook, { tenant: i % 2 ? 'acme-dental' : 'northwind-legal', title: `rb ${i}`, body: `body ${i}` }, { ...ctx, now: new Date(ctx.now.getTime() + i * 1000) });
    }
    await run(addIncidentNote, { incidentId: ids('incidents', 'acme-dental')[0], body: 'note' }, ctx);
    const seen: string[] = [];
    let cursor: string | undefined;
    let total = 0;
    do {
      const r = await run(getDocuments, { limit: 3, ...(cursor ? { cursor } : {}) }, ctx);
      total = r.total;
      seen.push(...r.documents.map((d) => d.id));
      cursor = r.nextCursor ?? undefined;
    } while (cursor);
    expect(total).toBe(8);
    expect(new Set(seen).size).toBe(8);
    expect((await run(getDocuments, { tenant: 'acme-dental' }, ctx)).total).toBe(count('SELECT count(*) AS n FROM documents WHERE tenant_id = ?', tenantId('acme-dental')));
    expect((await run(getDocuments, { tenant: 'acme-dental', kind: 'runbook', limit: 1 }, ctx)).documents[0]!.title).toBe('rb 5');
    const acmeOnly = ctxAt(h, ['acme-dental']);
    expect((await run(getDocuments, {}, acmeOnly)).total).toBe(4);
    expect((await denial(() => run(getDocuments, { incidentId: ids('incidents', 'northwind-legal')[0] }, acmeOnly))).code).toBe('NOT_FOUND');
  });
});
