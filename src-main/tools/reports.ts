import { z } from 'zod';
import { readTool, writeTool } from './types.ts';
import { id } from './common.ts';
import { REPORT_FORMATS, REPORT_TYPES } from '../reports/data.ts';
import { reportPath } from '../reports/generator.ts';

export const generateReport = writeTool({
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
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async plan(args, ctx) {
    const tenant = ctx.data.scope.select(args.tenant)[0]!;
    return {
      tenant,
      summary: `generate a ${args.type} report (${args.format}) for ${tenant.name} (${tenant.slug})`,
      detail: { type: args.type, format: args.format, tenant: tenant.slug },
    };
  },
  async execute(args, ctx, plan) {
    const reportId = await ctx.data.reports.create({ tenantId: plan.tenant!.id, type: args.type, format: args.format, keyId: ctx.key.id, at: ctx.now.toISOString() });
    // The job reads the row, so it starts once the row has committed.
    ctx.afterCommit(() => ctx.services.startReport(reportId));
    return { reportId, status: 'queued' as const, hint: `The report is being built in the background; call get_report_status with reportId "${reportId}" until its state is completed.` };
  },
});

export const getReportStatus = readTool({
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
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  plan: async (args, ctx) => ({ tenant: (await ctx.data.require('report', args.reportId)).tenant, summary: `status of report ${args.reportId}`, detail: {} }),
  async execute(args, ctx, plan) {
    const r = await ctx.data.reports.get(args.reportId);
    const tenant = plan.tenant!;
    const done = r.status === 'completed' && r.file_name !== null && r.size_bytes !== null && r.sha256 !== null;
    return {
      reportId: r.id, tenant: tenant.slug, type: r.type as (typeof REPORT_TYPES)[number], format: r.format as (typeof REPORT_FORMATS)[number], state: r.status, progress: r.progress,
      createdAt: r.created_at, finishedAt: r.finished_at,
      file: done ? { path: reportPath(ctx.services.dataDir, tenant.slug, r.file_name!), fileName: r.file_name!, sizeBytes: r.size_bytes!, sha256: r.sha256! } : null,
      error: r.status === 'failed' ? (r.error ?? 'unknown error') : null,
      ...(r.status === 'queued' || r.status === 'running' ? { hint: 'Still building; call get_report_status again in a few seconds.' } : {}),
    };
  },
});
