import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineTool, ToolDenial } from './types.ts';
import { id } from './common.ts';
import { REPORT_FORMATS, REPORT_TYPES } from '../reports/data.ts';
import { reportPath } from '../reports/generator.ts';

export const generateReport = defineTool({
  name: 'generate_report',
  title: 'Generate report',
  description: 'Start building a compliance, security, inventory or executive report of one tenant as CSV, HTML or PDF. '
    + 'Runs in the background: poll get_report_status with the returned reportId until it is completed.',
  input: z.object({
    tenant: z.string().min(2).max(40).describe('Slug of the tenant the report covers.'),
    type: z.enum(REPORT_TYPES).describe('compliance: posture and missing patches per device; security: open alerts, isolated/offline devices, '
      + 'critical patches; inventory: devices, OS, hardware, software; executive: headline numbers of all three.'),
    format: z.enum(REPORT_FORMATS).default('pdf').describe('File format (default pdf). CSV holds the main per-device (or key figure) table.'),
  }),
  output: z.object({
    reportId: z.string(),
    status: z.enum(['queued', 'running', 'completed', 'failed']),
    hint: z.string(),
  }),
  baseTier: 2,
  budget: 'write',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  plan(args, ctx) {
    const tenant = ctx.scope.select(args.tenant)[0]!;
    return {
      tenant,
      summary: `generate a ${args.type} report (${args.format}) for ${tenant.name} (${tenant.slug})`,
      detail: { type: args.type, format: args.format, tenant: tenant.slug },
    };
  },
  execute(args, ctx, plan) {
    if (!plan.tenant) throw new ToolDenial('INVALID_ARGUMENTS', 'no tenant');
    const reportId = randomUUID();
    ctx.db.prepare(`INSERT INTO reports (id, tenant_id, type, format, status, progress, key_id, created_at) VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)`)
      .run(reportId, plan.tenant.id, args.type, args.format, ctx.key.id, ctx.now.toISOString());
    ctx.services.startReport(reportId);
    return { reportId, status: 'queued' as const, hint: `The report is being built in the background; call get_report_status with reportId "${reportId}" until its state is completed.` };
  },
});

export const getReportStatus = defineTool({
  name: 'get_report_status',
  title: 'Get report status',
  description: 'State and progress (0-100) of a report from generate_report; when completed, where its file is, its size and SHA-256.',
  input: z.object({ reportId: id('Report') }),
  output: z.object({
    reportId: z.string(),
    tenant: z.string(),
    type: z.enum(REPORT_TYPES),
    format: z.enum(REPORT_FORMATS),
    state: z.enum(['queued', 'running', 'completed', 'failed']),
    progress: z.number().int().min(0).max(100),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    file: z.object({
      path: z.string().describe('Absolute path of the file on the Countersign machine.'),
      fileName: z.string(), sizeBytes: z.number().int(), sha256: z.string(),
    }).nullable().describe('Set when the state is completed.'),
    error: z.string().nullable().describe('Why the report failed, when it did.'),
    hint: z.string().optional(),
  }),
  baseTier: 1,
  budget: 'read',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: (args, ctx) => ({ tenant: ctx.scope.require('report', args.reportId).tenant, summary: `status of report ${args.reportId}`, detail: {} }),
  execute(args, ctx, plan) {
    const r = ctx.db.prepare('SELECT * FROM reports WHERE id = ?').get(args.reportId) as {
      id: string; type: (typeof REPORT_TYPES)[number]; format: (typeof REPORT_FORMATS)[number]; status: 'queued' | 'running' | 'completed' | 'failed';
      progress: number; file_name: string | null; size_bytes: number | null; sha256: string | null; error: string | null; created_at: string; finished_at: string | null;
    };
    const tenant = plan.tenant!;
    const done = r.status === 'completed' && r.file_name !== null && r.size_bytes !== null && r.sha256 !== null;
    return {
      reportId: r.id, tenant: tenant.slug, type: r.type, format: r.format, state: r.status, progress: r.progress,
      createdAt: r.created_at, finishedAt: r.finished_at,
      file: done ? { path: reportPath(ctx.services.dataDir, tenant.slug, r.file_name!), fileName: r.file_name!, sizeBytes: r.size_bytes!, sha256: r.sha256! } : null,
      error: r.status === 'failed' ? (r.error ?? 'unknown error') : null,
      ...(r.status === 'queued' || r.status === 'running' ? { hint: 'Still building; call get_report_status again in a few seconds.' } : {}),
    };
  },
});
