import { z } from 'zod';
import type { Tenant } from '../auth/keys.ts';
import { readTool, writeTool, type ReadContext, type WriteContext } from './types.ts';
import { id, sortedUnique, tenantArg } from './common.ts';
import { decodeCursor, page, pageInput, pageOutput } from './paging.ts';
import { singleTenant, type ScopedRow } from '../store/data/index.ts';
import { AppError } from '../errors.ts';

export const DOC_KINDS = ['runbook', 'incident_note', 'change_log'] as const;
export const CHANGE_TYPES = ['configuration', 'software', 'hardware', 'network', 'security', 'access', 'other'] as const;
type DocKind = (typeof DOC_KINDS)[number];
type LinkKind = 'device' | 'alert' | 'incident';

const MAX_STATE_CHARS = 10_000;
const deviceLinks = z.array(id('Device')).max(50).transform(sortedUnique).optional().describe('Devices this document is about (up to 50), linked for get_documents.');
const alertLinks = z.array(id('Alert')).max(50).transform(sortedUnique).optional().describe('Alerts this document is about (up to 50), linked for get_documents.');
const title = z.string().trim().min(1).max(200).describe('Title (1-200 characters).');
/** Serialised size, or Infinity when the value cannot be serialised (e.g. nested too deep for the stack). */
function jsonSize(v: unknown): number {
  try {
    return JSON.stringify(v).length;
  } catch {
    return Infinity;
  }
}

/** before/after state of a change: free text, or a small JSON object (at most 10,000 characters serialised). */
const stateValue = (what: string) => z.union([
  z.string().max(MAX_STATE_CHARS),
  z.record(z.string().max(200), z.unknown()).refine((v) => jsonSize(v) <= MAX_STATE_CHARS, `at most ${MAX_STATE_CHARS} characters as JSON`),
]).describe(`${what}: text, or a JSON object of settings (at most ${MAX_STATE_CHARS} characters).`);

const linkOutput = z.object({ kind: z.enum(['device', 'alert', 'incident']), id: z.string() });
const created = z.object({
  documentId: z.string(), tenant: z.string(), kind: z.enum(DOC_KINDS), title: z.string(), createdAt: z.string(), links: z.array(linkOutput),
});

interface Links { devices: ScopedRow[]; alerts: ScopedRow[]; incident?: ScopedRow }

/** Checks every linked id; the tenant comes from the ids, or from the slug when nothing is linked. All must agree. */
async function planLinks(ctx: ReadContext, slug: string | undefined, ids: { deviceIds?: string[]; alertIds?: string[]; incidentId?: string }): Promise<Links & { tenant: Tenant }> {
  const devices = await Promise.all((ids.deviceIds ?? []).map((d) => ctx.data.require('device', d)));
  const alerts = await Promise.all((ids.alertIds ?? []).map((a) => ctx.data.require('alert', a)));
  const incident = ids.incidentId ? await ctx.data.require('incident', ids.incidentId) : undefined;
  const rows: ScopedRow[] = [...devices, ...alerts, ...(incident ? [incident] : [])];
  let tenant: Tenant;
  if (rows.length) {
    tenant = singleTenant(rows, 'linked devices, alerts and incident');
    if (slug !== undefined && ctx.data.scope.select(slug)[0]!.id !== tenant.id) {
      throw new AppError('INVALID_ARGUMENTS', `The linked items belong to tenant '${tenant.slug}', not '${slug}'; omit tenant or fix the ids.`, 'single_tenant');
    }
  } else {
    if (slug === undefined) {
      throw new AppError('INVALID_ARGUMENTS', `Name the tenant (one of: ${ctx.data.scope.tenants.map((t) => t.slug).join(', ')}) or link at least one device or alert.`, 'tenant_required');
    }
    tenant = ctx.data.scope.select(slug)[0]!;
  }
  return { tenant, devices, alerts, incident };
}

const linkSummary = (l: Links) => ({
  devices: l.devices.map((d) => ({ id: d.id, hostname: String(d.row.hostname) })),
  alerts: l.alerts.map((a) => ({ id: a.id, title: String(a.row.title), severity: String(a.row.severity) })),
  incident: l.incident ? { id: l.incident.id, title: String(l.incident.row.title), status: String(l.incident.row.status) } : null,
});

/** Inserts the document and its links (ids already checked by plan); returns what the create tools answer with. */
async function insertDocument(
  ctx: WriteContext, tenant: Tenant, doc: { kind: DocKind; title: string; body: string; detail: Record<string, unknown> },
  ids: { deviceIds?: string[]; alertIds?: string[]; incidentId?: string },
) {
  const createdAt = ctx.now.toISOString();
  const links: { kind: LinkKind; id: string }[] = [
    ...(ids.deviceIds ?? []).map((d) => ({ kind: 'device' as const, id: d })),
    ...(ids.alertIds ?? []).map((a) => ({ kind: 'alert' as const, id: a })),
    ...(ids.incidentId ? [{ kind: 'incident' as const, id: ids.incidentId }] : []),
  ];
  const documentId = await ctx.data.documents.create({
    tenantId: tenant.id, kind: doc.kind, title: doc.title, body: doc.body, incidentId: ids.incidentId ?? null, detail: doc.detail, keyId: ctx.key.id, at: createdAt, links,
  });
  return { documentId, tenant: tenant.slug, kind: doc.kind, title: doc.title, createdAt, links };
}

// Documentation only adds records: nothing is changed or removed, and each call creates a new document.
const ADDITIVE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };

export const createRunbook = writeTool({
  name: 'create_runbook',
  title: 'Create runbook',
  description: 'Write a runbook (markdown procedure) for a tenant, optionally linked to devices and alerts. The tenant comes from the linked ids; '
    + 'give `tenant` when nothing is linked. Read it back with get_documents.',
  input: z.object({
    tenant: tenantArg.describe('Tenant slug; required when no deviceIds or alertIds are given.'),
    title,
    body: z.string().min(1).max(20_000).describe('Markdown body (1-20000 characters).'),
    tags: z.array(z.string().trim().min(1).max(50)).max(20).optional().describe('Up to 20 tags, e.g. "backup", "printer".'),
    deviceIds: deviceLinks,
    alertIds: alertLinks,
  }),
  output: created,
  baseTier: 1,
  annotations: ADDITIVE,
  async plan(args, ctx) {
    const l = await planLinks(ctx, args.tenant, args);
    return { tenant: l.tenant, summary: `create runbook "${args.title}" in ${l.tenant.slug}`, detail: { title: args.title, tags: args.tags ?? [], bodyChars: args.body.length, ...linkSummary(l) } };
  },
  execute(args, ctx, plan) {
    return insertDocument(ctx, plan.tenant!, { kind: 'runbook', title: args.title, body: args.body, detail: { tags: [...new Set(args.tags ?? [])] } }, args);
  },
});

export const addIncidentNote = writeTool({
  name: 'add_incident_note',
  title: 'Add incident note',
  description: 'Append a note (findings, steps taken, customer contact) to an incident, optionally linking devices and alerts of the same tenant.',
  input: z.object({
    incidentId: id('Incident'),
    body: z.string().min(1).max(10_000).describe('The note, markdown (1-10000 characters).'),
    title: title.optional().describe('Short title; default: "Note on <incident title>".'),
    deviceIds: deviceLinks,
    alertIds: alertLinks,
  }),
  output: created,
  baseTier: 1,
  annotations: ADDITIVE,
  async plan(args, ctx) {
    const l = await planLinks(ctx, undefined, args);
    const noteTitle = args.title ?? `Note on ${String(l.incident!.row.title)}`.slice(0, 200);
    return {
      tenant: l.tenant, summary: `add a note to incident "${String(l.incident!.row.title)}" in ${l.tenant.slug}`,
      detail: { title: noteTitle, bodyChars: args.body.length, ...linkSummary(l) },
    };
  },
  execute(args, ctx, plan) {
    return insertDocument(ctx, plan.tenant!, { kind: 'incident_note', title: String(plan.detail.title), body: args.body, detail: {} }, args);
  },
});

export const createChangeLog = writeTool({
  name: 'create_change_log',
  title: 'Create change log entry',
  description: 'Record a change made to a tenant\'s systems: what changed (changeType), why, and the state before and after, linked to devices '
    + 'and optionally an incident. The tenant comes from the linked ids; give `tenant` when nothing is linked.',
  input: z.object({
    tenant: tenantArg.describe('Tenant slug; required when no deviceIds or incidentId are given.'),
    title,
    description: z.string().min(1).max(10_000).describe('What was changed and why, markdown (1-10000 characters).'),
    changeType: z.enum(CHANGE_TYPES).describe('Kind of change.'),
    before: stateValue('State before the change').optional(),
    after: stateValue('State after the change').optional(),
    deviceIds: deviceLinks,
    incidentId: id('Incident').optional().describe('Incident this change belongs to.'),
  }),
  output: created,
  baseTier: 1,
  annotations: ADDITIVE,
  async plan(args, ctx) {
    const l = await planLinks(ctx, args.tenant, args);
    return {
      tenant: l.tenant,
      summary: `log a ${args.changeType} change "${args.title}" in ${l.tenant.slug}`,
      detail: { title: args.title, changeType: args.changeType, before: args.before ?? null, after: args.after ?? null, ...linkSummary(l) },
    };
  },
  execute(args, ctx, plan) {
    const detail = { changeType: args.changeType, before: args.before ?? null, after: args.after ?? null };
    return insertDocument(ctx, plan.tenant!, { kind: 'change_log', title: args.title, body: args.description, detail }, args);
  },
});

export const getDocuments = readTool({
  name: 'get_documents',
  title: 'Get documents',
  description: 'Read runbooks, incident notes and change log entries of this key\'s tenants, newest first, with full bodies and their linked '
    + 'devices, alerts and incident. Filter by tenant, kind, incident, device or alert. Paginated.',
  input: z.object({
    tenant: tenantArg,
    kind: z.enum(DOC_KINDS).optional(),
    incidentId: id('Incident').optional().describe('Only documents of this incident.'),
    deviceId: id('Device').optional().describe('Only documents linked to this device.'),
    alertId: id('Alert').optional().describe('Only documents linked to this alert.'),
    ...pageInput,
  }),
  output: z.object({
    documents: z.array(z.object({
      id: z.string(), tenant: z.string(), kind: z.enum(DOC_KINDS), title: z.string(), body: z.string(), incidentId: z.string().nullable(),
      detail: z.record(z.string(), z.unknown()).describe('runbook: tags; change_log: changeType, before, after.'),
      links: z.array(linkOutput), createdAt: z.string(), createdByKeyId: z.string().nullable(),
    })),
    ...pageOutput,
  }),
  baseTier: 1,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async plan(args, ctx) {
    const selected = ctx.data.scope.select(args.tenant);
    for (const [kind, v] of [['incident', args.incidentId], ['device', args.deviceId], ['alert', args.alertId]] as const) {
      if (v !== undefined) await ctx.data.require(kind, v);
    }
    return { tenant: args.tenant ? selected[0]! : null, summary: 'read documents', detail: {} };
  },
  async execute(args, ctx) {
    const offset = decodeCursor(args.cursor);
    const { total, rows } = await ctx.data.documents.list(args, offset, args.limit);
    const documents = rows.map((r) => ({
      id: r.id, tenant: ctx.data.scope.slugOf(r.tenant_id), kind: r.kind, title: r.title, body: r.body, incidentId: r.incident_id,
      detail: JSON.parse(r.detail_json) as Record<string, unknown>, links: r.links,
      createdAt: r.created_at, createdByKeyId: r.key_id,
    }));
    const { items, ...rest } = page(offset, args.limit, total, documents);
    return { documents: items, ...rest };
  },
});

